"""Teams through real HTTP: activities signed as Bot Framework signs them into Casebook's
/api/messages, the SDK's ConnectorClient out to a fake Bot Connector on loopback."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest

from bot.adapters.teams import online
from bot.adapters.teams.auth import TokenSource, TokenUnavailable
from bot.adapters.teams.config import TEAMS, teams_settings
from bot.config.schema import names_of
from handlers import messages
from storage.models import Platform
from tests.fakes.teams_api import BOT_ID, FakeTeamsApi, activity, new_key
from tests.running import until
from tests.teams_harness import (
    LEAD,
    LEADS_CHANNEL,
    STAFF_CHANNEL,
    TIKTOK,
    TeamsBot,
    teams_bot,
    teams_config,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTeamsApi]:
    api = await FakeTeamsApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeTeamsApi) -> AsyncIterator[TeamsBot]:
    running = await teams_bot(tmp_path / "teams.db", fake)
    yield running
    await running.close()


def press(card: dict[str, Any], label: str, user: str = "aad-teacher-1") -> dict[str, Any]:
    """The message Teams posts when a person presses a card's Action.Submit button."""
    [chosen] = [b for b in card["buttons"] if b["title"] == label]
    conversation = card["conversation"]
    if card["activity_id"]:
        conversation = f"{conversation};messageid={card['activity_id']}"
    return activity(None, conversation, user=user, value=chosen["data"], replyToId=card["id"])


async def test_a_signed_channel_report_becomes_a_case_answered_in_its_thread(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    report = activity(f"this is about Mr Smith {TIKTOK}", STAFF_CHANNEL, activity_id="1700")
    status, _ = await bot.post(report)
    assert status == 200 and bot.count("inbox") == 1
    logged = await fake.wait_for_text(messages.case_logged(1, Platform.TIKTOK))
    assert fake.calls[0][0] == "reply"  # the first thing Casebook sends is the thread reply
    assert (logged["conversation"], logged["activity_id"]) == (STAFF_CHANNEL, "1700")
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.TIKTOK))
    assert alert["conversation"] == LEADS_CHANNEL and alert["activity_id"] == ""
    alert_body = json.dumps(alert["body"])
    assert "tiktok.com" not in alert_body and "Mr Smith" not in alert_body
    question = await fake.wait_for_line(messages.Q_TARGETS)
    [card] = question["body"]["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [b["title"] for b in question["buttons"]] == [
        "Me",
        "A colleague",
        "Several staff",
        "The school",
        "Skip",
    ]
    assert {a["type"] for a in card["content"]["actions"]} == {"Action.Submit"}
    with sqlite3.connect(bot.config.storage.database) as db:
        assert db.execute("SELECT source, platform FROM cases").fetchall() == [("teams", "tiktok")]
    status, _ = await bot.post(press(question, "Me"))
    assert status == 200
    [update] = await fake.wait_for("update")
    assert update["activity_id"] == question["id"]
    assert update["text"] == messages.answer_recorded(messages.Q_TARGETS, "Me")
    await fake.wait_for_line(messages.Q_CATEGORIES)
    with sqlite3.connect(bot.config.storage.database) as db:
        assert db.execute("SELECT targets FROM cases").fetchone()[0] == "me"


async def test_the_export_says_the_case_came_from_teams(bot: TeamsBot, fake: FakeTeamsApi) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.close()
    from storage.store import open_store

    database = await open_store(bot.config.storage.target)
    try:
        async with database.reading() as unit:
            pages = [page async for page in unit.exports.documents()]
    finally:
        await database.close()
    [document] = [json.loads(d) for page in pages for d in page]
    assert document["source"] == "teams" and document["platform"] == "tiktok"


async def test_an_action_execute_press_is_answered_through_the_inbox(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL, activity_id="1800"))
    question = await fake.wait_for_line(messages.Q_TARGETS)
    [me] = [b for b in question["buttons"] if b["title"] == "A colleague"]
    invoke = activity(
        None,
        f"{STAFF_CHANNEL};messageid=1800",
        type="invoke",
        name="adaptiveCard/action",
        replyToId=question["id"],
        value={"action": {"type": "Action.Execute", "verb": "answer", "data": me["data"]}},
    )
    status, body = await bot.post(invoke)
    assert status == 200 and json.loads(body)["statusCode"] == 200
    [update] = await fake.wait_for("update")
    assert update["text"] == messages.answer_recorded(messages.Q_TARGETS, "A colleague")
    assert bot.count("inbox") == 2


async def test_several_kinds_of_abuse_can_be_picked_and_the_card_shows_each(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL, activity_id="1900"))
    await bot.post(press(await fake.wait_for_line(messages.Q_TARGETS), "Me"))
    kinds = await fake.wait_for_line(messages.Q_CATEGORIES)
    labels = [b["title"] for b in kinds["buttons"]]
    first, second = labels[0], labels[1]
    await bot.post(press(kinds, first))
    await fake.wait_for("update", 2)
    await bot.post(press(kinds, second))
    await fake.wait_for("update", 3)
    await bot.post(press(kinds, messages.DONE_LABEL))
    await bot.drained()
    with sqlite3.connect(bot.config.storage.database) as db:
        chosen = {row[0] for row in db.execute("SELECT category FROM case_categories")}
    assert len(chosen) == 2
    updates = [u["text"] for u in fake.of("update")]
    assert any(first in text for text in updates) and any(second in text for text in updates)


def _signed_hs256(fake: FakeTeamsApi) -> str:
    """A token with Bot Framework's claims and key id, signed with a shared secret instead."""
    claims = jwt.decode(fake.sign(), options={"verify_signature": False})
    return jwt.encode(
        claims,
        "a-secret-shared-by-sender-and-receiver",
        algorithm="HS256",
        headers={"kid": fake.kid},
    )


# Why each is refused, as its one log line says.
REFUSALS = {
    "unsigned": "no bearer token",
    "not a bearer": "no bearer token",
    "wrong key": "InvalidSignatureError",
    "unknown key id": "signed with a key Bot Framework does not list",
    "expired": "ExpiredSignatureError",
    "wrong audience": "InvalidAudienceError",
    "wrong issuer": "InvalidIssuerError",
    "serviceurl of another": "serviceurl claim does not match the activity",
    "no serviceurl": "no serviceurl claim",
    "serviceurl not text": "no serviceurl claim",
    "empty serviceurl": "no serviceurl claim",
    "not a JWT": "not a JWT (DecodeError)",
    "not RS256": "not signed with RS256",
    "no expiry": "MissingRequiredClaimError",
}


@pytest.mark.parametrize("fault", list(REFUSALS))
async def test_a_request_not_signed_for_this_bot_gets_401_and_stores_nothing(
    bot: TeamsBot, fake: FakeTeamsApi, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    report = activity(TIKTOK, STAFF_CHANNEL, serviceUrl=fake.service_url)
    tokens: dict[str, str | None] = {
        "unsigned": None,
        "wrong key": fake.sign(key=new_key()),
        "unknown key id": fake.sign(key=new_key(), kid="another-key"),
        "expired": fake.sign(exp=int(time.time()) - 301 - 60),
        "wrong audience": fake.sign(aud="someone-elses-app"),
        "wrong issuer": fake.sign(iss="https://sts.windows.net/evil/"),
        "serviceurl of another": fake.sign("https://smba.trafficmanager.net/emea/"),
        "no serviceurl": fake.sign(serviceurl=None),
        "serviceurl not text": fake.sign(serviceurl=5),
        "empty serviceurl": fake.sign(serviceurl=""),
        "not a JWT": "not-a-jwt",
        "not RS256": _signed_hs256(fake),
        "no expiry": fake.sign(exp=None),
    }
    headers = {"Authorization": f"Basic {fake.sign()}"} if fault == "not a bearer" else None
    with caplog.at_level(logging.INFO):
        status, _ = await bot.post(report, token=tokens.get(fault), headers=headers)
    assert status == 401
    await bot.drained()
    assert bot.count("inbox") == 0 and bot.count() == 0
    assert [c for c in fake.calls if c[0] in ("send", "reply", "create")] == []
    refusals = [r.getMessage() for r in caplog.records if "refused (401)" in r.getMessage()]
    assert refusals == [f"teams: request refused (401): {REFUSALS[fault]}"]
    assert all(t not in refusals[0] for t in tokens.values() if t)


async def test_a_token_within_five_minutes_of_expiry_is_still_accepted(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    token = fake.sign(exp=int(time.time()) - 200)
    status, _ = await bot.post(activity(TIKTOK, STAFF_CHANNEL), token=token)
    assert status == 200 and bot.count("inbox") == 1


async def test_the_bots_token_never_reaches_a_service_url_outside_service_urls(
    bot: TeamsBot, fake: FakeTeamsApi, caplog: pytest.LogCaptureFixture
) -> None:
    outsider = await FakeTeamsApi(key=fake.key, kid=fake.kid).start()
    try:
        # Signed by Bot Framework's own key, naming a serviceUrl that is not allowed.
        report = activity(TIKTOK, STAFF_CHANNEL, serviceUrl=outsider.service_url)
        with caplog.at_level(logging.INFO):
            status, _ = await bot.post(report, token=fake.sign(outsider.service_url))
        assert status == 401
        refusals = [r.getMessage() for r in caplog.records if "refused (401)" in r.getMessage()]
        assert refusals == [
            "teams: request refused (401): serviceUrl is not in [teams] service_urls"
        ]
        await bot.post(activity(TIKTOK, STAFF_CHANNEL))
        await fake.wait_for_line(messages.Q_TARGETS)
        await bot.drained()
    finally:
        await outsider.stop()
    assert outsider.calls == [] and bot.count("inbox") == 1
    assert all(a.startswith("Bearer bf-access-") for a in fake.authorizations())


async def test_an_activity_delivered_twice_is_stored_once(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    report = activity(TIKTOK, STAFF_CHANNEL, activity_id="2100")
    assert (await bot.post(report))[0] == 200
    assert (await bot.post(dict(report)))[0] == 200
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.drained()
    assert bot.count("inbox") == 1 and bot.count() == 1
    assert len([c for c in fake.of("reply") if "logged" in str(c["text"])]) == 1


async def test_the_same_post_from_two_teachers_is_one_case_with_two_reporters(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL, user="aad-teacher-1", activity_id="2200"))
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.post(activity(TIKTOK, STAFF_CHANNEL, user="aad-teacher-2", activity_id="2201"))
    await bot.drained()
    assert bot.count() == 1 and bot.count("case_reporters") == 2
    with sqlite3.connect(bot.config.storage.database) as db:
        keys = {row[0] for row in db.execute("SELECT key FROM people")}
    assert {"teams:aad-teacher-1", "teams:aad-teacher-2"} <= keys


async def test_a_mention_of_the_bot_is_taken_out_of_the_report(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    mention = {
        "type": "mention",
        "text": "<at>Casebook</at>",
        "mentioned": {"id": BOT_ID, "name": "Casebook"},
    }
    report = activity(f"<at>Casebook</at> {TIKTOK}", STAFF_CHANNEL, entities=[mention])
    await bot.post(report)
    await fake.wait_for_line(messages.Q_TARGETS)
    with sqlite3.connect(bot.config.storage.database) as db:
        [description] = db.execute("SELECT description FROM case_reporters").fetchone()
    assert "Casebook" not in description and "<at>" not in description


async def test_what_is_not_a_persons_message_is_acknowledged_and_ignored(
    bot: TeamsBot, fake: FakeTeamsApi, caplog: pytest.LogCaptureFixture
) -> None:
    typing = activity(None, STAFF_CHANNEL, type="typing")
    reaction = activity(
        None, STAFF_CHANNEL, type="messageReaction", reactionsAdded=[{"type": "like"}]
    )
    own = activity(TIKTOK, STAFF_CHANNEL)
    own["from"] = {"id": BOT_ID, "name": "Casebook"}
    added = activity(
        None,
        STAFF_CHANNEL.replace("staff", "new"),
        type="conversationUpdate",
        membersAdded=[{"id": BOT_ID}],
    )
    someone_joined = activity(
        None, STAFF_CHANNEL, type="conversationUpdate", membersAdded=[{"id": "29:someone"}]
    )
    with caplog.at_level(logging.INFO):
        for update in (typing, reaction, own, someone_joined):
            assert (await bot.post(update))[0] == 200
        await bot.drained()
        assert bot.count("inbox") == 0 and fake.calls == []
        # The bot itself added to a channel of no school: it says there, once, what to do.
        assert (await bot.post(added))[0] == 200
        await bot.drained()
    assert [(a["conversation"], a["text"]) for _, a in fake.calls] == [
        (
            "19:new-room@thread.tacv2",
            messages.unconfigured_group(names_of(TEAMS), "19:new-room@thread.tacv2"),
        )
    ]
    [line] = [r.getMessage() for r in caplog.records if "was added to" in r.getMessage()]
    assert "19:new-room@thread.tacv2" in line and "19:team@thread.tacv2" in line


async def test_whoami_in_teams_gives_the_channel_and_the_entra_object_id(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity("/whoami", "19:unknown@thread.tacv2", user="aad-new-lead"))
    answer = await fake.wait_for_text(
        messages.whoami(names_of(TEAMS), "aad-new-lead", "19:unknown@thread.tacv2")
    )
    assert answer["conversation"] == "a:personal-29:aad-new-lead"  # privately, in a new chat


async def test_a_rate_limited_send_waits_as_long_as_retry_after_says(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    fake.failures["send"] = [(429, 120)]
    await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    await fake.wait_for_line(messages.Q_TARGETS)
    [limited] = await fake.wait_for("send!429")  # the leads' alert
    assert limited["conversation"] == LEADS_CHANNEL

    def waiting() -> tuple[str, str] | None:
        with sqlite3.connect(bot.config.storage.database) as db:
            row = db.execute(
                "SELECT due_at, last_error FROM outbox WHERE attempts > 0 AND sent_at IS NULL"
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    await until(lambda: waiting() is not None)
    due, error = waiting() or ("", "")
    wait = datetime.fromisoformat(due) - datetime.now(UTC)
    assert timedelta(seconds=100) < wait <= timedelta(seconds=121) and "429" in error
    assert fake.of("send") == []  # not sent yet: it waits for the time Teams asked


async def test_a_403_from_a_team_the_bot_was_removed_from_is_given_up_and_logged(
    bot: TeamsBot, fake: FakeTeamsApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.failures["send"] = [(403, None)]
    with caplog.at_level(logging.WARNING):
        await bot.post(activity(TIKTOK, STAFF_CHANNEL))
        await fake.wait_for_line(messages.Q_TARGETS)
        [refused] = await fake.wait_for("send!403")
        await bot.drained()
    assert refused["conversation"] == LEADS_CHANNEL and fake.of("send") == []
    assert any("refused for good" in r.getMessage() for r in caplog.records)
    with sqlite3.connect(bot.config.storage.database) as db:
        failed = db.execute("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL").fetchone()
    assert failed[0] == 1


async def test_the_bots_token_is_fetched_once_and_reused(bot: TeamsBot, fake: FakeTeamsApi) -> None:
    for number in range(3):
        await bot.post(activity(TIKTOK.replace("7301", f"730{number}"), STAFF_CHANNEL))
    await bot.drained()
    assert len(fake.of("reply")) >= 6 and fake.tokens_issued == 1


async def test_keys_are_fetched_again_for_an_unknown_key_id_at_most_once_a_minute(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    assert (await bot.post(activity(TIKTOK, STAFF_CHANNEL)))[0] == 200
    assert fake.key_fetches == 1
    for _ in range(3):
        forged = fake.sign(key=new_key(), kid="rotated-key")
        assert (await bot.post(activity(TIKTOK, STAFF_CHANNEL), token=forged))[0] == 401
    assert fake.key_fetches == 1  # fetched at the first request, under a minute ago


async def test_a_lead_is_reached_in_their_own_chat_created_with_the_connector(
    tmp_path: Path, fake: FakeTeamsApi
) -> None:
    bot = await teams_bot(tmp_path / "dm.db", fake, followup="dm")
    try:
        await bot.post(activity(TIKTOK, STAFF_CHANNEL, activity_id="2500"))
        question = await fake.wait_for_line(messages.Q_TARGETS)
        [created] = fake.of("create")
        assert created["body"]["members"] == [{"id": "29:aad-teacher-1"}]
        assert created["body"]["tenantId"] and created["body"]["bot"]["id"].startswith("28:")
        assert question["conversation"] == "a:personal-29:aad-teacher-1"
    finally:
        await bot.close()
    assert LEAD


async def test_after_a_restart_a_reminder_reaches_the_thread_before_anyone_writes_again(
    tmp_path: Path, fake: FakeTeamsApi
) -> None:
    from tests.chat import FakeClock
    from tests.teams_harness import teams_config

    clock = FakeClock(FakeClock().moment.replace(day=25))  # a Wednesday, 09:00 in London
    config = teams_config(tmp_path / "restart.db", fake)
    first = TeamsBot(config, clock=clock)
    first.fake = fake
    await first.start()
    try:
        await first.post(activity(TIKTOK, STAFF_CHANNEL, activity_id="3000"))
        await fake.wait_for_line(messages.Q_TARGETS)
        await first.drained()
    finally:
        await first.close()
    clock.advance(hours=3)
    second = TeamsBot(config, clock=clock, scheduler_interval=0.05)
    second.fake = fake
    await second.start()
    try:
        reminder = await fake.wait_for_text(messages.reminder_unanswered(1), timeout=10)
    finally:
        await second.close()
    assert (reminder["conversation"], reminder["activity_id"]) == (STAFF_CHANNEL, "3000")


async def test_without_a_chat_with_the_reporter_the_questions_go_to_their_thread(
    tmp_path: Path, fake: FakeTeamsApi
) -> None:
    fake.failures["create"] = [(403, None)] * 10  # the app is not installed for them
    bot = await teams_bot(tmp_path / "fallback.db", fake, followup="dm")
    try:
        await bot.post(activity(TIKTOK, STAFF_CHANNEL, activity_id="2600"))
        question = await fake.wait_for_line(messages.Q_TARGETS)
    finally:
        await bot.close()
    assert (question["conversation"], question["activity_id"]) == (STAFF_CHANNEL, "2600")


async def test_a_leads_export_arrives_with_its_csv(bot: TeamsBot, fake: FakeTeamsApi) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.post(activity("/cases export", "a:lead-chat", kind="personal", user=LEAD))
    sent = await fake.wait_until(
        lambda: next(
            (
                a
                for _, a in fake.calls
                if a["conversation"] == "a:lead-chat" and a["body"].get("attachments")
            ),
            None,
        ),
        10,
    )
    [attachment] = sent["body"]["attachments"]
    assert attachment["contentType"].startswith("text/csv")
    assert attachment["contentUrl"].startswith("data:text/csv;base64,")


async def test_while_the_signing_keys_cannot_be_fetched_requests_get_503_and_nothing_is_stored(
    bot: TeamsBot, fake: FakeTeamsApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.keys_down = True
    with caplog.at_level(logging.INFO):
        status, _ = await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    assert status == 503 and bot.count("inbox") == 0
    [line] = [r.getMessage() for r in caplog.records if "(503)" in r.getMessage()]
    assert line == "teams: request not checked (503): keys unavailable (ClientResponseError)"


async def test_while_the_openid_metadata_names_no_key_set_requests_get_503_and_the_log_says_so(
    bot: TeamsBot, fake: FakeTeamsApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake.metadata = {"issuer": "https://api.botframework.com"}
    with caplog.at_level(logging.INFO):
        status, _ = await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    assert status == 503 and bot.count("inbox") == 0
    [line] = [r.getMessage() for r in caplog.records if "(503)" in r.getMessage()]
    assert line == "teams: request not checked (503): the OpenID metadata names no jwks_uri"


async def test_keys_listed_that_casebook_cannot_use_do_not_stop_the_signing_key_being_read(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    """Bot Framework lists several keys; one not an object, without an id or of another kind
    is passed over, not taken as the end of the list."""
    fake.extra_keys = [
        "not-an-object",
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kid": "shared-secret", "kty": "oct", "k": "c2VjcmV0"},
    ]
    assert (await bot.post(activity(TIKTOK, STAFF_CHANNEL)))[0] == 200
    assert bot.count("inbox") == 1


async def test_a_token_the_connector_refuses_is_fetched_again_and_the_reply_still_arrives(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    await fake.wait_for_text(messages.case_logged(1, Platform.TIKTOK))
    await bot.drained()
    assert fake.tokens_issued == 1
    fake.revoke_tokens()
    await bot.post(activity(TIKTOK.replace("7301", "7302"), STAFF_CHANNEL))
    await fake.wait_for("reply!401")
    logged = await fake.wait_for_call_text(
        "reply", messages.case_logged(2, Platform.TIKTOK), timeout=15
    )
    assert logged["conversation"] == STAFF_CHANNEL
    assert fake.tokens_issued == 2


# The bot's own token, straight from the token endpoint (no bot running).


async def _token_source(
    fake: FakeTeamsApi, tmp_path: Path
) -> tuple[TokenSource, aiohttp.ClientSession]:
    settings = teams_settings(teams_config(tmp_path / "t.db", fake).transports[TEAMS])
    session = aiohttp.ClientSession()
    return TokenSource(settings, session), session


async def test_a_token_is_fetched_again_halfway_through_a_short_life(
    fake: FakeTeamsApi, tmp_path: Path
) -> None:
    """Five minutes before it expires, or halfway for a token that lasts less than ten."""
    fake.expires_in = "2"
    tokens, session = await _token_source(fake, tmp_path)
    async with session:
        first = await tokens.token()
        assert await tokens.token() == first and fake.tokens_issued == 1
        await asyncio.sleep(1.2)
        assert await tokens.token() != first and fake.tokens_issued == 2


@pytest.mark.parametrize("expires_in", [0, -30])
async def test_a_token_said_to_have_expired_already_is_fetched_for_each_use(
    fake: FakeTeamsApi, tmp_path: Path, expires_in: int
) -> None:
    fake.expires_in = expires_in
    tokens, session = await _token_source(fake, tmp_path)
    async with session:
        assert await tokens.token() != await tokens.token()
    assert fake.tokens_issued == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"access_token": "bf-access-refused"}),
        (200, ["bf-access-in-a-list"]),
        (200, {"access_token": 5}),
        (200, {"access_token": ""}),
    ],
)
async def test_a_token_endpoint_that_gives_no_token_is_said_to_have_answered_its_status(
    fake: FakeTeamsApi, tmp_path: Path, status: int, body: Any
) -> None:
    fake.token_answers = [(status, body)]
    tokens, session = await _token_source(fake, tmp_path)
    async with session:
        with pytest.raises(TokenUnavailable) as refused:
            await tokens.token()
    assert str(refused.value) == f"token endpoint answered {status}"


async def test_check_online_says_the_token_endpoint_cannot_be_reached(tmp_path: Path) -> None:
    gone = await FakeTeamsApi().start()
    settings = teams_settings(teams_config(tmp_path / "t.db", gone).transports[TEAMS])
    await gone.stop()
    out = io.StringIO()
    assert not await online.check(settings, out)
    assert out.getvalue().startswith("teams: token endpoint: ClientConnectorError: check app_id")
