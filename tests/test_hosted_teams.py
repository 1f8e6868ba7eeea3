"""A hosted Casebook on Teams, end to end: no [[schools]] in the file; a school is added with
`casebook school add`, its lead joins with `join CODE` in their chat with the bot, claims its
channels with `/cases here ...`, and a report there is that school's case, alerted to its
leads' channel. Signed activities in, the SDK's ConnectorClient out to the fake Bot Connector;
on SQLite and, with CASEBOOK_TEST_STORE=postgres, on PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from microsoft_agents.activity import Activity

from bot.adapters.teams.config import TEAMS, TeamsConfig
from bot.adapters.teams.tenants import qualified, split, tenant_of
from bot.school_cli import add_school
from handlers import messages
from handlers.events import Outgoing, Place, PlaceKind, Transport
from handlers.settings import Config, Secret
from storage.hosted import PlaceKey, PlaceRole
from storage.models import Platform
from storage.store import Store
from storage.tables import Table
from tests.fakes.teams_api import (
    APP_ID,
    APP_PASSWORD,
    BOT_ID,
    TENANT,
    FakeTeamsApi,
    activity,
)
from tests.hosted_config import hosted_config
from tests.running import until
from tests.teams_harness import TIKTOK, TeamsBot

STAFF_CHANNEL = "19:staff@thread.tacv2"
LEADS_CHANNEL = "19:leads@thread.tacv2"
LEADS_CHAT = "19:leads-chat@thread.v2"  # a group chat: in no team
LEAD = "aad-lead-9"
STAFF = "aad-staff-9"
STRANGER = "aad-stranger-9"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTeamsApi]:
    api = await FakeTeamsApi().start()
    yield api
    await api.stop()


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest, fake: FakeTeamsApi) -> Config:
    """Teams and no school at all: every school joins from the chat."""
    return hosted_config(
        tmp_path,
        request,
        {
            TEAMS: TeamsConfig(
                app_id=APP_ID,
                tenant_id=TENANT,
                app_password=Secret(APP_PASSWORD),
                openid_metadata=fake.openid_metadata,
                token_url=fake.token_url,
                service_urls=(fake.service_url,),
            )
        },
    )


@pytest.fixture
async def bot(config: Config, database: Store, fake: FakeTeamsApi) -> AsyncIterator[TeamsBot]:
    running = TeamsBot(config)
    running.fake = fake
    await running.start()
    yield running
    await running.close()


async def test_a_school_joins_sets_up_its_channels_and_gets_its_first_case_from_teams(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))

    assert (await bot.post(activity(f"join {code}", LEAD, user=LEAD, kind="personal")))[0] == 200
    welcome = await fake.wait_for_text(messages.joined("Northfield"))
    assert welcome["conversation"] == LEAD

    await bot.post(activity("/cases here reports", STAFF_CHANNEL, user=LEAD))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(activity("/cases here leads", LEADS_CHANNEL, user=LEAD))
    await fake.wait_for_text(messages.place_set("Northfield", "leads"))

    await bot.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user=STAFF, activity_id="5000"))
    logged = await fake.wait_for_text(messages.case_logged(1, Platform.TIKTOK))
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.TIKTOK))
    assert alert["conversation"] == LEADS_CHANNEL
    # Followed up in the report's thread, as a configured Teams school's are.
    question = await fake.wait_for_line(messages.Q_TARGETS)
    for said in (logged, question):
        assert (said["conversation"], said["activity_id"]) == (STAFF_CHANNEL, "5000")
    assert fake.of("create") == []

    await bot.post(activity(f"join {code}", STRANGER, user=STRANGER, kind="personal"))
    refusal = await fake.wait_for_text(messages.JOIN_REFUSED)
    assert refusal["conversation"] == STRANGER


def sent(fake: FakeTeamsApi, text: str) -> list[dict[str, Any]]:
    """Every message the Connector was sent with this text."""
    return [args for _, args in fake.calls if args.get("text") == text]


TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
CHANNEL = "19:general@thread.tacv2"  # the same channel id in both tenants
SAME = "aad-same-person"  # and the same person id


async def test_two_tenants_whose_ids_collide_never_meet(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    now = datetime.now(UTC)
    northfield = await add_school(database, config, "Northfield", "Europe/London", now)
    southgate = await add_school(database, config, "Southgate", "Europe/London", now)

    def said(text: str, conversation: str) -> int:
        return len([a for a in sent(fake, text) if a["conversation"] == conversation])

    await bot.post(
        activity(f"join {northfield}", "a:chat-a", user=SAME, kind="personal", tenant=TENANT_A)
    )
    await fake.wait_for_text(messages.joined("Northfield"))
    await bot.post(activity("/cases here reports", CHANNEL, user=SAME, tenant=TENANT_A))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))

    # The same ids in the other tenant are neither Northfield's lead nor its channel.
    await bot.post(activity("/cases", "a:chat-b", user=SAME, kind="personal", tenant=TENANT_B))
    refused = await fake.wait_for_text(messages.NOT_A_LEAD)
    assert refused["conversation"] == "a:chat-b"
    status, _ = await bot.post(activity(f"look {TIKTOK}", CHANNEL, user=STAFF, tenant=TENANT_B))
    assert status == 200  # acknowledged, and ignored: no school's channel

    # Its own school claims its own channel of that id, and is not refused it.
    await bot.post(
        activity(f"join {southgate}", "a:chat-b", user=SAME, kind="personal", tenant=TENANT_B)
    )
    await fake.wait_for_text(messages.joined("Southgate"))
    await bot.post(activity("/cases here reports", CHANNEL, user=SAME, tenant=TENANT_B))
    await fake.wait_for_text(messages.place_set("Southgate", "reports"))

    await bot.post(activity(f"look {TIKTOK}", CHANNEL, user=STAFF, tenant=TENANT_B))
    await bot.post(
        activity("https://www.instagram.com/p/Cxyz/", CHANNEL, user=STAFF, tenant=TENANT_A)
    )
    alert_a = messages.new_case_alert(1, Platform.INSTAGRAM)
    alert_b = messages.new_case_alert(1, Platform.TIKTOK)
    await until(lambda: said(alert_a, "a:chat-a") and said(alert_b, "a:chat-b"), 5.0)
    assert not said(alert_a, "a:chat-b") and not said(alert_b, "a:chat-a")
    async with database.reading() as unit:
        schools = {name: await unit.schools.by_name(name) for name in ("Northfield", "Southgate")}
        owners = {}
        for tenant in (TENANT_A, TENANT_B):
            place = await unit.hosted.place(PlaceKey("teams", tenant, CHANNEL))
            assert place is not None
            owners[tenant] = place.school_id
        cases = {}
        for name, school in schools.items():
            assert school is not None
            first = await unit.cases.by_number(school.id, 1)
            assert first is not None and await unit.cases.by_number(school.id, 2) is None
            cases[name] = first.platform
    assert owners == {TENANT_A: schools["Northfield"].id, TENANT_B: schools["Southgate"].id}
    assert cases == {"Northfield": Platform.INSTAGRAM, "Southgate": Platform.TIKTOK}


async def test_cases_invite_sends_a_code_to_the_leads_own_chat_opened_in_their_tenant(
    fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    first = TeamsBot(config)
    first.fake = fake
    await first.start()
    try:
        joining = activity(f"join {code}", "a:chat-a", user=LEAD, kind="personal", tenant=TENANT_A)
        await first.post(joining)
        await fake.wait_for_text(messages.joined("Northfield"))
        await first.post(activity("/cases here reports", CHANNEL, user=LEAD, tenant=TENANT_A))
        await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    finally:
        await first.close()
    # After a restart the lead's chat is not known: it is opened again, in their tenant.
    bot = TeamsBot(config)
    bot.fake = fake
    await bot.start()
    try:
        await bot.post(activity("/cases invite", CHANNEL, user=LEAD, tenant=TENANT_A))
        [created] = await fake.wait_until(lambda: fake.of("create") or None)
        assert created["body"]["tenantId"] == TENANT_A
        assert created["body"]["members"][0]["id"] == f"29:{LEAD}"  # as its message named them
        invitation = await fake.wait_until(
            lambda: next(
                (a for k, a in fake.calls if k == "send" and "join " in str(a["text"])), None
            )
        )
        assert invitation["conversation"] != CHANNEL and not [
            a for _, a in fake.calls if a["conversation"] == CHANNEL and "join " in str(a["text"])
        ]
        new_code = str(invitation["text"]).split("join ", 1)[1].split()[0]
        await bot.post(
            activity(f"join {new_code}", "a:chat-c", user=STAFF, kind="personal", tenant=TENANT_A)
        )
        await fake.wait_until(lambda: len(sent(fake, messages.joined("Northfield"))) == 2 or None)
    finally:
        await bot.close()


def bot_added(conversation: str, kind: str = "channel", installed: bool = False) -> dict[str, Any]:
    """Teams telling the bot it was added to a team (in its General channel) or a group chat:
    a conversationUpdate naming it among the members added, or an installationUpdate."""
    return _membership(conversation, kind, installed, added=True)


def bot_removed(
    conversation: str, kind: str = "channel", installed: bool = False
) -> dict[str, Any]:
    """Teams telling the bot it was removed from a team (every channel of it) or a group chat."""
    return _membership(conversation, kind, installed, added=False)


def _membership(conversation: str, kind: str, installed: bool, added: bool) -> dict[str, Any]:
    if installed:
        action = "add" if added else "remove"
        return activity(
            None, conversation, user=LEAD, kind=kind, type="installationUpdate", action=action
        )
    members = {("membersAdded" if added else "membersRemoved"): [{"id": BOT_ID}]}
    return activity(None, conversation, user=LEAD, kind=kind, type="conversationUpdate", **members)


async def test_added_to_a_team_or_chat_of_no_school_the_bot_says_once_how_to_set_it_up(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    group_chat = "19:group-chat@thread.v2"
    for update in (bot_added(STAFF_CHANNEL), bot_added(STAFF_CHANNEL, installed=True)):
        assert (await bot.post(update))[0] == 200
    await bot.post(bot_added(group_chat, kind="groupChat"))
    await bot.post(bot_removed(STAFF_CHANNEL))
    await bot.post(bot_added(STAFF_CHANNEL))
    await bot.post(activity("/cases help", LEAD, user=LEAD, kind="personal"))
    await fake.wait_for_text(messages.NOT_A_LEAD)  # handled after the updates above
    said = [a["conversation"] for a in sent(fake, messages.hosted_channel_added())]
    assert sorted(said) == sorted([STAFF_CHANNEL, group_chat])


async def test_a_group_chat_claimed_for_reports_logs_a_message_that_mentions_no_one(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    """The app's ChatMessage.Read.Chat consent brings a group chat's every message, as
    ChannelMessage.Read.Group does a channel's: one with no @mention is a report there too."""
    staff_chat = "19:staff-chat@thread.v2"
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await bot.post(activity(f"join {code}", LEAD, user=LEAD, kind="personal"))
    await fake.wait_for_text(messages.joined("Northfield"))
    await bot.post(activity("/cases here reports", staff_chat, user=LEAD, kind="groupChat"))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(activity(f"look {TIKTOK}", staff_chat, user=STAFF, kind="groupChat"))
    await fake.wait_for_text(messages.new_case_alert(1, Platform.TIKTOK))
    async with database.reading() as unit:
        [case] = await unit.cases.listing()
        assert case.platform is Platform.TIKTOK


async def test_removed_from_its_leads_group_chat_the_place_is_gone_and_health_stays_green(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await bot.post(activity(f"join {code}", LEAD, user=LEAD, kind="personal"))
    await fake.wait_for_text(messages.joined("Northfield"))
    await bot.post(activity("/cases here reports", STAFF_CHANNEL, user=LEAD))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(activity("/cases here leads", LEADS_CHAT, user=LEAD, kind="groupChat"))
    await fake.wait_for_text(messages.place_set("Northfield", "leads"))
    fake.removed_from.add(LEADS_CHAT)  # removed: the Connector refuses the bot there
    for update in (
        bot_removed(LEADS_CHAT, kind="groupChat"),
        bot_removed(LEADS_CHAT, kind="groupChat", installed=True),
    ):
        assert (await bot.post(update))[0] == 200
    await bot.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user=STAFF))
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.TIKTOK))
    assert alert["conversation"] == LEAD  # with its leads' chat gone, to the lead directly
    body = await bot.health_until(200)
    assert body["teams"] is True
    async with database.reading() as unit:
        place = await unit.hosted.place(PlaceKey("teams", "", LEADS_CHAT))
        assert place is not None and place.gone_at is not None
    assert not [name for name, a in fake.calls if name.endswith("!403")]


async def test_removed_from_a_team_every_claimed_channel_of_it_is_gone_even_after_a_restart(
    fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    team = "19:team@thread.tacv2"  # the team of every channel activity() makes
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    first = TeamsBot(config)
    first.fake = fake
    await first.start()
    try:
        await first.post(activity(f"join {code}", LEAD, user=LEAD, kind="personal"))
        await fake.wait_for_text(messages.joined("Northfield"))
        await first.post(activity("/cases here reports", STAFF_CHANNEL, user=LEAD))
        await fake.wait_for_text(messages.place_set("Northfield", "reports"))
        await first.post(activity("/cases here leads", LEADS_CHANNEL, user=LEAD))
        await fake.wait_for_text(messages.place_set("Northfield", "leads"))
    finally:
        await first.close()
    bot = TeamsBot(config)
    bot.fake = fake
    await bot.start()
    try:
        # Teams says so in the team's General channel, whose id is the team's.
        assert (await bot.post(bot_removed(team)))[0] == 200

        async def gone() -> set[str]:
            async with database.reading() as unit:
                places = await unit.hosted.places()
            return {p.key.place_id for p in places if p.gone_at is not None}

        deadline = asyncio.get_running_loop().time() + 5
        while await gone() != {STAFF_CHANNEL, LEADS_CHANNEL}:
            assert asyncio.get_running_loop().time() < deadline, await gone()
            await asyncio.sleep(0.05)
        assert (await bot.health_until(200))["teams"] is True
    finally:
        await bot.close()


async def test_a_school_of_another_tenant_is_alerted_in_its_leads_channel_and_its_team_removal_kept(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    """A school in a tenant other than the config's: its leads' channel gets its alerts, and
    the bot removed from its team leaves both its channels gone, in that tenant."""
    team = "19:team@thread.tacv2"  # the team of every channel activity() makes
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await bot.post(
        activity(f"join {code}", "a:chat-a", user=LEAD, kind="personal", tenant=TENANT_A)
    )
    await fake.wait_for_text(messages.joined("Northfield"))
    await bot.post(activity("/cases here reports", STAFF_CHANNEL, user=LEAD, tenant=TENANT_A))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(activity("/cases here leads", LEADS_CHANNEL, user=LEAD, tenant=TENANT_A))
    await fake.wait_for_text(messages.place_set("Northfield", "leads"))

    await bot.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user=STAFF, tenant=TENANT_A))
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.TIKTOK))
    assert alert["conversation"] == LEADS_CHANNEL

    removed = activity(
        None,
        team,
        user=LEAD,
        tenant=TENANT_A,
        type="conversationUpdate",
        membersRemoved=[{"id": BOT_ID}],
    )
    assert (await bot.post(removed))[0] == 200

    async def gone() -> set[PlaceKey]:
        async with database.reading() as unit:
            places = await unit.hosted.places()
        return {p.key for p in places if p.gone_at is not None}

    expected = {PlaceKey(TEAMS, TENANT_A, STAFF_CHANNEL), PlaceKey(TEAMS, TENANT_A, LEADS_CHANNEL)}
    deadline = asyncio.get_running_loop().time() + 5
    while await gone() != expected:
        assert asyncio.get_running_loop().time() < deadline, await gone()
        await asyncio.sleep(0.05)


def test_a_tenant_is_read_from_channel_data_and_teams_own_ids_are_never_split() -> None:
    """Where the conversation names no tenant, channelData's is the activity's; an id of
    Teams' own ("29:…", "a:…") with a slash in it is kept whole, never read as TENANT/ID."""
    body = activity("hi", CHANNEL, service_url="https://smba.example/", tenant=TENANT_A)
    del body["conversation"]["tenantId"]
    assert tenant_of(Activity.model_validate(body)) == TENANT_A
    assert qualified(TENANT, TENANT_A, CHANNEL) == f"{TENANT_A}/{CHANNEL}"
    assert split(TENANT, f"{TENANT_A}/{CHANNEL}") == (TENANT_A, CHANNEL)
    for own in ("29:1a/b2", "a:1x/y"):
        assert split(TENANT, own) == (TENANT, own)
        assert PlaceKey.of(TEAMS, own) == PlaceKey(TEAMS, "", own)
        assert PlaceKey.of(TEAMS, own).qualified == own


async def test_what_is_queued_for_a_gone_place_of_another_tenant_is_given_up(
    database: Store,
) -> None:
    """A place of another tenant marked gone gives up what was queued for it, as a place of
    the config's own tenant does, and nothing queued for the same id in a third tenant."""
    now = datetime.now(UTC)
    key = PlaceKey.of(TEAMS, f"{TENANT_A}/{LEADS_CHANNEL}")
    async with database.transaction() as unit:
        school = await unit.hosted.add("Northfield", "Europe/London", now)
        assert school is not None
        await unit.hosted.claim(key, school.id, PlaceRole.LEADS, now)
        for place in (key.qualified, f"{TENANT_B}/{LEADS_CHANNEL}"):
            queued = Outgoing(Place(Transport(TEAMS), place, PlaceKind.CHANNEL), "an alert")
            await unit.outbox.add(*queued.outbox_row(), now)
        assert await unit.hosted.mark_gone(key, now)
    outbox = Table("outbox", ("id",))
    async with database.reading() as unit:
        rows = [r async for batch in unit.tables.rows(outbox, ["last_error"]) for r in batch]
    assert rows == [("place gone",), (None,)]


async def test_a_school_keeps_one_leads_place_in_each_tenant(database: Store) -> None:
    """Claiming a leads' place releases the school's one before in that tenant only."""
    now = datetime.now(UTC)
    first_a, second_a, in_b = (
        PlaceKey(TEAMS, TENANT_A, LEADS_CHANNEL),
        PlaceKey(TEAMS, TENANT_A, LEADS_CHAT),
        PlaceKey(TEAMS, TENANT_B, LEADS_CHANNEL),
    )
    async with database.transaction() as unit:
        school = await unit.hosted.add("Northfield", "Europe/London", now)
        assert school is not None
        for key in (first_a, in_b, second_a):
            assert await unit.hosted.claim(key, school.id, PlaceRole.LEADS, now) == school.id
        kept = {place.key for place in await unit.hosted.places(school.id)}
    assert kept == {second_a, in_b}


async def test_a_message_in_a_channel_of_no_school_logs_how_a_lead_claims_it(
    bot: TeamsBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert (await bot.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user=STAFF)))[0] == 200
    [line] = [r.getMessage() for r in caplog.records if STAFF_CHANNEL in r.getMessage()]
    assert "/cases here reports" in line and "teams_report_channels" not in line
    assert TIKTOK not in caplog.text


async def test_the_join_page_of_a_teams_casebook_says_where_the_app_comes_from(
    bot: TeamsBot,
) -> None:
    assert bot.session is not None
    async with bot.session.get(f"http://127.0.0.1:{bot.port}/join") as response:
        body = await response.text()
    assert response.status == 200
    assert html.escape(messages.JOIN_PAGE_APP_PACKAGE) in body
    assert html.escape(messages.JOIN_PAGE_NO_CHAT) not in body


async def test_a_channel_claimed_through_one_process_is_read_by_another_at_once(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    other = TeamsBot(config)
    other.fake = fake
    await other.start()
    try:
        code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
        await bot.post(activity(f"join {code}", LEAD, user=LEAD, kind="personal"))
        await fake.wait_for_text(messages.joined("Northfield"))
        await bot.post(activity("/cases here reports", STAFF_CHANNEL, user=LEAD))
        await fake.wait_for_text(messages.place_set("Northfield", "reports"))
        await other.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user=STAFF))
        await fake.wait_for_text(messages.case_logged(1, Platform.TIKTOK), timeout=2.0)
    finally:
        await other.close()


async def test_wrong_codes_lock_out_the_person_of_one_tenant_only(
    bot: TeamsBot, fake: FakeTeamsApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    for guess in range(6):
        await bot.post(
            activity(f"join wrong{guess}", "a:chat-a", user=SAME, kind="personal", tenant=TENANT_A)
        )
    await fake.wait_for_text(messages.JOIN_LOCKED_OUT)
    # The same id in another tenant is someone else: their good code works.
    await bot.post(
        activity(f"join {code}", "a:chat-b", user=SAME, kind="personal", tenant=TENANT_B)
    )
    welcome = await fake.wait_for_text(messages.joined("Northfield"))
    assert welcome["conversation"] == "a:chat-b"
    assert [a["conversation"] for a in sent(fake, messages.JOIN_LOCKED_OUT)] == ["a:chat-a"]
