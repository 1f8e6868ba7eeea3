"""Joining a hosted Casebook from the chat: invitation codes, the lockout, and places claimed
with `/cases here`, as transcripts through the real router on either store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.console_config import CONSOLE
from bot.app import sync_schools
from bot.delivery import Delivery
from bot.invitations import InvitingSender
from handlers import joining, messages
from handlers.events import (
    Incoming,
    IncomingKind,
    Outgoing,
    Place,
    PlaceKind,
    Transport,
    User,
)
from handlers.settings import Config, ConfigError
from storage.hosted import PlaceKey, PlaceRole
from storage.store import Store
from storage.tables import Table
from tests.chat import Chat, FakeClock, texts

HOSTED = "Hosted High"
ROOM = Place(CONSOLE, "hosted-room", PlaceKind.CHANNEL)


def direct(user: str) -> Place:
    return Place(CONSOLE, user, PlaceKind.DIRECT)


async def hosted_school(chat: Chat, name: str = HOSTED) -> str:
    """Add a hosted school; its first invitation code."""
    async with chat.database.transaction() as unit:
        school = await unit.hosted.add(name, "Europe/London", chat.clock.now())
        assert school is not None
        return await joining.invite(unit, school.id, chat.clock.now())


async def join(chat: Chat, user: str, code: str) -> str:
    return texts(await chat.say(f"join {code}", user=user, school=None, place=direct(user)))


@pytest.fixture
def chat(database: Store, config: Config, clock: FakeClock) -> Chat:
    """The transcript driver, its terminal sending as Casebook's does (codes made on the way)."""
    driver = Chat(database, config, clock)
    inviting = InvitingSender(driver.transport, database, clock)
    driver.delivery = Delivery(database, clock, {CONSOLE: inviting})
    return driver


async def cases(chat: Chat, text: str, user: str, place: Place) -> list[Outgoing]:
    """`/cases TEXT` typed by `user` in `place`."""
    incoming = Incoming(
        IncomingKind.COMMAND, place, User(CONSOLE, user, user), text=text, command="cases"
    )
    return await chat.send(incoming)


async def audited(database: Store) -> list[tuple[str, str | None]]:
    """(action, reason) of every audit row, oldest first."""
    table = Table("audit", ("id",))
    found: list[tuple[str, str | None]] = []
    async with database.reading() as unit:
        async for rows in unit.tables.rows(table, ["action", "reason"]):
            found += [(row[0], row[1]) for row in rows]
    return found


async def test_a_code_makes_its_sender_a_lead_and_works_only_once(chat: Chat) -> None:
    code = await hosted_school(chat)
    assert await join(chat, "kim", code) == messages.joined(HOSTED)
    assert ("joined", None) in await audited(chat.database)
    listing = texts(await chat.command("cases", user="kim", school=None))
    assert messages.NOT_A_LEAD not in listing and HOSTED in listing
    assert await join(chat, "sam", code) == messages.JOIN_REFUSED
    assert texts(await chat.command("cases", user="sam", school=None)) == messages.NOT_A_LEAD


async def test_wrong_used_and_expired_codes_get_the_same_refusal(chat: Chat) -> None:
    used = await hosted_school(chat)
    await join(chat, "kim", used)
    async with chat.database.transaction() as unit:
        school = await unit.schools.by_name(HOSTED)
        assert school is not None
        expired = await joining.invite(unit, school.id, chat.clock.now())
    chat.clock.advance(days=7)
    answers = {await join(chat, "sam", code) for code in (used, expired, "not-a-code", "x" * 200)}
    assert answers == {messages.JOIN_REFUSED}


async def test_five_wrong_codes_in_ten_minutes_lock_a_person_out_for_an_hour(chat: Chat) -> None:
    code = await hosted_school(chat)
    for _ in range(4):
        assert await join(chat, "sam", "wrong") == messages.JOIN_REFUSED
        chat.clock.advance(minutes=2)
    assert await join(chat, "sam", "wrong") == messages.JOIN_REFUSED  # the fifth in 10 minutes
    assert ("locked-out", "wrong codes") in await audited(chat.database)
    chat.clock.advance(minutes=59)
    assert await join(chat, "sam", code) == messages.JOIN_LOCKED_OUT
    assert ("refused", "locked out") in await audited(chat.database)
    chat.clock.advance(minutes=1, seconds=1)
    assert await join(chat, "sam", code) == messages.joined(HOSTED)  # not used up meanwhile


async def test_wrong_codes_spread_over_more_than_ten_minutes_do_not_lock_out(chat: Chat) -> None:
    code = await hosted_school(chat)
    for _ in range(8):
        assert await join(chat, "sam", "wrong") == messages.JOIN_REFUSED
        chat.clock.advance(minutes=3)
    assert await join(chat, "sam", code) == messages.joined(HOSTED)


async def test_a_code_in_a_group_is_not_taken(chat: Chat) -> None:
    """Only a direct chat (or the terminal, one person's stream) is read for codes."""
    code = await hosted_school(chat)
    group = Place(Transport("telegram"), "-100123", PlaceKind.CHANNEL)
    await chat.say(f"join {code}", user="kim", school=None, place=group)
    assert await join(chat, "sam", code) == messages.joined(HOSTED)


async def test_a_lead_claims_changes_and_releases_a_place_and_every_change_is_audited(
    chat: Chat,
) -> None:
    await join(chat, "kim", await hosted_school(chat))
    claimed = await cases(chat, "here reports", user="kim", place=ROOM)
    assert texts(claimed) == messages.place_set(HOSTED, "reports")
    assert claimed[0].place == ROOM and not claimed[0].private
    key = PlaceKey(CONSOLE, "", ROOM.id)
    async with chat.database.reading() as unit:
        place = await unit.hosted.place(key)
        assert place is not None and place.role is PlaceRole.REPORTS
    led = await cases(chat, "here leads", user="kim", place=ROOM)
    assert texts(led) == messages.place_set(HOSTED, "leads")
    off = await cases(chat, "here off", user="kim", place=ROOM)
    assert texts(off) == messages.place_released(HOSTED)
    again = await cases(chat, "here off", user="kim", place=ROOM)
    assert texts(again) == messages.PLACE_NOT_CLAIMED
    places = [(a, r) for a, r in await audited(chat.database) if a == "place"]
    assert len(places) == 3
    async with chat.database.reading() as unit:
        assert await unit.hosted.place(key) is None


async def test_another_schools_place_is_refused_without_naming_it(chat: Chat) -> None:
    await join(chat, "kim", await hosted_school(chat))
    await join(chat, "ola", await hosted_school(chat, "Other Academy"))
    await cases(chat, "here reports", user="kim", place=ROOM)
    taken = await cases(chat, "here leads", user="ola", place=ROOM)
    assert texts(taken) == messages.PLACE_OF_ANOTHER_SCHOOL
    assert "Hosted" not in texts(taken)
    assert ("refused", "here-other-school") in await audited(chat.database)
    async with chat.database.reading() as unit:
        place = await unit.hosted.place(PlaceKey(CONSOLE, "", ROOM.id))
        assert place is not None and place.role is PlaceRole.REPORTS


async def test_here_needs_a_channel_and_a_word_and_a_hosted_school(chat: Chat) -> None:
    await join(chat, "kim", await hosted_school(chat))
    in_direct = await cases(chat, "here reports", user="kim", place=direct("kim"))
    assert texts(in_direct) == messages.PLACE_NEEDS_CHANNEL
    assert texts(await cases(chat, "here", user="kim", place=ROOM)) == messages.PLACE_USAGE
    # lena leads Northfield in the config file: its places are set there.
    configured = await cases(chat, "here reports", user="lena", place=ROOM)
    assert texts(configured) == messages.set_in_config("Northfield")


async def test_invite_sends_a_new_code_to_the_lead_alone(chat: Chat) -> None:
    await join(chat, "kim", await hosted_school(chat))
    [sent] = await cases(chat, "invite", user="kim", place=ROOM)
    assert sent.place == direct("kim")
    code = sent.text.rsplit("join ", 1)[1]
    assert sent.text == messages.invitation(HOSTED, code, 7)
    assert ("invited", None) in await audited(chat.database)
    assert await join(chat, "sam", code) == messages.joined(HOSTED)


@pytest.mark.sqlite_only
async def test_no_code_is_written_to_the_database_file_or_its_wal(
    chat: Chat, tmp_path: Path
) -> None:
    first = await hosted_school(chat)
    await join(chat, "kim", first)
    [sent] = await cases(chat, "invite", user="kim", place=ROOM)
    second = sent.text.rsplit("join ", 1)[1]
    await join(chat, "sam", "guess-" + second[:5])
    files = [path for path in tmp_path.iterdir() if path.name.startswith("casebook.db")]
    assert any(path.name.endswith("-wal") for path in files)
    for path in files:
        data = path.read_bytes()
        assert first.encode() not in data and second.encode() not in data
    stored = await _invitation_hashes(chat.database)
    assert joining.code_hash(first) in stored and joining.code_hash(second) in stored


async def _invitation_hashes(database: Store) -> set[str]:
    found: set[str] = set()
    async with database.reading() as unit:
        async for rows in unit.tables.rows(Table("invitations", ("code_hash",)), ["code_hash"]):
            found |= {row[0] for row in rows}
    return found


def test_codes_are_random_url_safe_and_fit_a_deep_link() -> None:
    codes = {joining.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    for code in codes:
        assert 16 <= len(code) <= 64
        assert set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert joining.code_hash("abc") != joining.code_hash("abd")
    assert len(joining.code_hash("abc")) == 64
    assert timedelta(days=7) == joining.VALID_FOR


async def test_start_up_refuses_a_school_both_in_the_file_and_in_the_database(
    database: Store, config: Config, clock: FakeClock
) -> None:
    await sync_schools(database, config)
    async with database.transaction() as unit:
        assert await unit.hosted.add("Northfield", "Europe/London", clock.now()) is not None
    with pytest.raises(ConfigError, match="'Northfield': in the config file"):
        await sync_schools(database, config)


def test_a_slack_direct_message_with_a_code_reaches_the_router_as_a_direct_join() -> None:
    """Slack's DMs come through as direct messages whatever the config, so `join CODE` works
    there as on Telegram and the terminal (the router seals and redeems it, as above)."""
    from bot.adapters import slack_events

    body = {
        "team_id": "T1",
        "event": {
            "type": "message",
            "channel": "D0123",
            "channel_type": "im",
            "user": "U0LEAD",
            "text": "join abcDEF123_-x",
            "ts": "1700000000.000100",
        },
    }
    hosted_only = Config(schools=())
    incoming = slack_events.message(hosted_only, body)
    assert incoming is not None and incoming.place.kind is PlaceKind.DIRECT
    assert joining.code_in_message(incoming.text) == "abcDEF123_-x"
