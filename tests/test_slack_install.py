"""Casebook installed into many Slack workspaces by OAuth, end to end: no [[schools]] in the
file; each workspace installs through /slack/install against the fake's oauth.v2.access; a
school's lead joins by direct message, claims a channel with `/cases here reports`, and a
report there is answered with that workspace's own token. Workspaces whose channel and user
ids collide stay apart, and a workspace that has not installed Casebook makes no case. Real
HTTP both ways, requests signed as Slack signs them; on SQLite and, with
CASEBOOK_TEST_STORE=postgres, on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack_config import SLACK, SlackConfig, SlackMode
from bot.adapters.slack_installs import DatabaseInstallations
from bot.school_cli import add_school
from handlers import messages
from handlers.settings import (
    Config,
    SchoolConfig,
    SchoolPlaces,
    Secret,
)
from storage.models import Platform
from storage.store import Store
from storage.tables import Table
from tests.chat import FakeClock
from tests.fakes.slack_api import Call, FakeSlackApi
from tests.hosted_config import hosted_config
from tests.slack_harness import SECRET, SlackBot, buttons_of

SHORT = "https://youtu.be/abc123"
STAFF_CHANNEL = "CSTAFF"  # the same id in both workspaces, as ids can be
LEAD = "ULEAD"  # likewise: two different people
STAFF = "UALEX"
SENDS = ("chat.postMessage", "chat.postEphemeral")


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest, slack_fake: FakeSlackApi) -> Config:
    return hosted_config(
        tmp_path,
        request,
        {
            SLACK: SlackConfig(
                mode=SlackMode.HTTP,
                api_url=slack_fake.url + "/api/",
                signing_secret=Secret(SECRET),
                install=True,
                client_id=Secret("111.222"),
                client_secret=Secret("client-secret"),
            )
        },
    )


@pytest.fixture
async def bot(config: Config, database: Store, slack_fake: FakeSlackApi) -> AsyncIterator[SlackBot]:
    slack_fake.oauth_codes.update({"code-one": "T1", "code-two": "T2"})
    running = await SlackBot(config, slack_fake).start()
    yield running
    await running.close()


async def install(bot: SlackBot, code: str) -> int:
    """A browser's way through the install: /slack/install, Slack's consent page (skipped: it
    only sends the state back with a code), then /slack/oauth_redirect."""
    assert bot.session is not None
    base = f"http://127.0.0.1:{bot.port}"
    async with bot.session.get(f"{base}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = urllib.parse.urlsplit(response.headers["Location"])
        cookie = response.headers["Set-Cookie"].split(";")[0]
    assert location.netloc == "slack.com"
    state = urllib.parse.parse_qs(location.query)["state"][0]
    query = urllib.parse.urlencode({"code": code, "state": state})
    async with bot.session.get(
        f"{base}/slack/oauth_redirect?{query}", headers={"Cookie": cookie}
    ) as response:
        return response.status


async def message(bot: SlackBot, team: str, user: str, channel: str, text: str) -> int:
    direct = channel.startswith("D")
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "channel": channel,
        "channel_type": "im" if direct else "channel",
        "ts": f"{time.time():.6f}",
    }
    return await event_of(bot, team, event)


async def event_of(bot: SlackBot, team: str, inner: dict[str, Any]) -> int:
    """An Events API callback from `team`, signed as Slack signs it."""
    body = {
        "team_id": team,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": inner,
    }
    status, _ = await bot.post(json.dumps(body), "application/json")
    return status


async def command(bot: SlackBot, team: str, user: str, channel: str, text: str) -> int:
    body = urllib.parse.urlencode(
        {
            "command": "/cases",
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "team_id": team,
            "trigger_id": f"trigger.{time.time_ns()}",
            "response_url": "https://hooks.invalid/commands/1",
        }
    )
    status, _ = await bot.post(body, "application/x-www-form-urlencoded")
    return status


async def handled(database: Store) -> None:
    """Until every event stored so far is handled."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with database.reading() as unit:
            if not await unit.inbox.pending(datetime.now(UTC) + timedelta(hours=1)):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("events still waiting")


async def inbox_size(database: Store) -> int:
    async with database.reading() as unit:
        return await unit.tables.count(Table("inbox", ("id",)))


async def sent(fake: FakeSlackApi, text: str) -> tuple[dict[str, Any], str]:
    """The message (posted, or shown to one person) with this text, and the token it was sent
    with."""

    def found() -> Call | None:
        return next((c for c in fake.calls if c.method in SENDS and c.args["text"] == text), None)

    call = await fake.wait_until(found, 5.0)
    return call.args, call.authorization.removeprefix("Bearer ")


async def school_in(
    bot: SlackBot, fake: FakeSlackApi, code: str, team: str, lead: str, school: str
) -> str:
    """The lead of `school` joins with `code` by direct message in `team` and makes its staff
    channel a report place; the token the place's confirmation went with."""
    await message(bot, team, lead, f"D{lead}", f"join {code}")
    await sent(fake, messages.joined(school))
    await command(bot, team, lead, STAFF_CHANNEL, "here reports")
    _, token = await sent(fake, messages.place_set(school, "reports"))
    return token


async def test_a_workspace_installs_and_its_school_reports_with_its_own_token(
    bot: SlackBot,
    slack_fake: FakeSlackApi,
    database: Store,
    config: Config,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    assert bot.session is not None
    async with bot.session.get(f"http://127.0.0.1:{bot.port}/join") as response:
        assert 'href="/slack/install"' in await response.text()
    assert await install(bot, "code-one") == 200
    bot_user = await DatabaseInstallations(database, FakeClock()).async_find_bot(
        enterprise_id=None, team_id="T1"
    )
    assert bot_user is not None and bot_user.bot_token == "xoxb-T1-token"
    assert (bot_user.bot_user_id, bot_user.bot_id) == ("UBOTT1", "BT1")

    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    assert await message(bot, "T1", LEAD, "DLEAD", f"join {code}") == 200
    welcome, token = await sent(slack_fake, messages.joined("Northfield"))
    assert (welcome["channel"], token) == ("DLEAD", "xoxb-T1-token")

    assert await command(bot, "T1", LEAD, STAFF_CHANNEL, "here reports") == 200
    claimed, token = await sent(slack_fake, messages.place_set("Northfield", "reports"))
    assert (claimed["channel"], token) == (STAFF_CHANNEL, "xoxb-T1-token")

    assert await message(bot, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}") == 200
    logged, token = await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
    assert (logged["channel"], token) == ("DALEX", "xoxb-T1-token")

    # The reporter answers the first question with its button: the answer is read in T1, and
    # the question is updated there with T1's token.
    question = await slack_fake.wait_until(
        lambda: next(
            (
                c
                for c in slack_fake.calls
                if c.method == "chat.postMessage" and messages.Q_TARGETS in c.args["text"]
            ),
            None,
        )
    )
    value = buttons_of(question.args)[0]["value"]
    ts = str(len(slack_fake.calls))
    await bot.press(value, user=STAFF, channel="DALEX", ts=ts)
    update = await slack_fake.wait_until(
        lambda: next((c for c in slack_fake.calls if c.method == "chat.update"), None)
    )
    assert (update.args["channel"], update.authorization) == ("DALEX", "Bearer xoxb-T1-token")

    # The lead names a colleague as Slack writes a mention.
    await command(bot, "T1", LEAD, STAFF_CHANNEL, f"assign 1 <@{STAFF}|alex>")
    told, token = await sent(
        slack_fake, messages.you_were_assigned(1, "Northfield", Platform.YOUTUBE)
    )
    assert (told["channel"], token) == ("DALEX", "xoxb-T1-token")

    # The same people and channel, in a workspace that never installed Casebook: nothing of
    # theirs is stored, and the log says so without their words.
    await handled(database)
    stored = await inbox_size(database)
    assert await message(bot, "T9", STAFF, "DALEX", f"again {SHORT}?x") == 200
    assert await message(bot, "T9", STAFF, STAFF_CHANNEL, f"again {SHORT}?y") == 200
    assert await inbox_size(database) == stored
    assert "team T9, which has not installed Casebook: ignored" in caplog.text
    assert "again" not in caplog.text and "xoxb-" not in caplog.text
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        assert await unit.cases.by_number(school.id, 1) is not None
        assert await unit.cases.by_number(school.id, 2) is None
        assert await unit.people.by_key(f"slack:T9/{STAFF}") is None


async def test_workspaces_whose_ids_collide_stay_apart(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    assert await install(bot, "code-one") == 200
    assert await install(bot, "code-two") == 200
    now = datetime.now(UTC)
    north = await add_school(database, config, "Northfield", "Europe/London", now)
    south = await add_school(database, config, "Southgate", "Europe/London", now)
    await school_in(bot, slack_fake, north, "T1", LEAD, "Northfield")

    # T2's ULEAD is someone else: not Northfield's lead, and T2's CSTAFF is not its place.
    await command(bot, "T2", LEAD, STAFF_CHANNEL, "")
    _, token = await sent(slack_fake, messages.NOT_A_LEAD)
    assert token == "xoxb-T2-token"
    assert await school_in(bot, slack_fake, south, "T2", "USOUTHLEAD", "Southgate") == (
        "xoxb-T2-token"
    )

    await message(bot, "T2", STAFF, STAFF_CHANNEL, f"look {SHORT}")
    _, token = await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
    assert token == "xoxb-T2-token"
    async with database.reading() as unit:
        northfield = await unit.schools.by_name("Northfield")
        southgate = await unit.schools.by_name("Southgate")
        assert northfield is not None and southgate is not None
        assert await unit.cases.by_number(northfield.id, 1) is None
        case = await unit.cases.by_number(southgate.id, 1)
        assert case is not None
        reporters = await unit.cases.reporters(case.id)
        assert [r.person.key for r in reporters] == [f"slack:T2/{STAFF}"]


async def test_a_workspace_slack_throttles_holds_up_no_other_workspaces_replies(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    """Slack limits each workspace on its own: a 429 in T1 pauses T1's sends only."""
    for code in ("code-one", "code-two"):
        assert await install(bot, code) == 200
    now = datetime.now(UTC)
    for team, school in (("T1", "Northfield"), ("T2", "Southgate")):
        code = await add_school(database, config, school, "Europe/London", now)
        await school_in(bot, slack_fake, code, team, LEAD, school)

    slack_fake.throttled_tokens["xoxb-T1-token"] = 60
    await message(bot, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}")
    await slack_fake.wait_until(
        lambda: next((c for c in slack_fake.calls if c.method == "chat.postMessage!429"), None)
    )
    await message(bot, "T2", STAFF, STAFF_CHANNEL, f"look {SHORT}")
    logged, token = await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
    assert (logged["channel"], token) == ("DALEX", "xoxb-T2-token")

    # And T1 waits out its Retry-After: no more calls with its token meanwhile.
    def to_t1() -> int:
        return sum(c.authorization == "Bearer xoxb-T1-token" for c in slack_fake.calls)

    before = to_t1()
    await asyncio.sleep(1.0)
    assert to_t1() == before


async def test_an_uninstalled_workspace_is_forgotten_and_its_places_kept_as_gone(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    assert await install(bot, "code-one") == 200
    assert await install(bot, "code-two") == 200
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await message(bot, "T1", LEAD, "DLEAD", f"join {code}")
    await sent(slack_fake, messages.joined("Northfield"))
    await command(bot, "T1", LEAD, STAFF_CHANNEL, "here reports")
    await sent(slack_fake, messages.place_set("Northfield", "reports"))
    installations = DatabaseInstallations(database, FakeClock())

    # A person's own token revoked is not the bot's: the workspace stays installed.
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [LEAD]}}
    assert await event_of(bot, "T1", revoked) == 200
    assert await installations.async_find_bot(enterprise_id=None, team_id="T1") is not None

    assert await event_of(bot, "T1", {"type": "app_uninstalled"}) == 200
    assert await installations.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await installations.async_find_bot(enterprise_id=None, team_id="T2") is not None
    async with database.reading() as unit:
        [place] = await unit.hosted.places()
        audit = Table("audit", ("id",))
        trail = [
            row
            async for batch in unit.tables.rows(audit, ["action", "to_value", "reason"])
            for row in batch
        ]
    assert place.key.qualified == f"T1/{STAFF_CHANNEL}" and place.gone_at is not None
    assert ("place", "gone", f"slack:T1:{STAFF_CHANNEL} (app_uninstalled)") in trail

    await handled(database)
    stored = await inbox_size(database)
    assert await message(bot, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}") == 200
    assert await inbox_size(database) == stored
    await bot.health_until(200)

    # tokens_revoked for the bot's token removes the installation as well.
    assert (
        await event_of(bot, "T2", {"type": "tokens_revoked", "tokens": {"bot": ["UBOTT2"]}}) == 200
    )
    assert await installations.async_find_bot(enterprise_id=None, team_id="T2") is None


async def test_a_workspace_uninstalling_leaves_another_workspaces_places_in_use(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    """T1 removing Casebook marks only T1's places gone: T2's channel of the same id still
    takes reports for its own school."""
    assert await install(bot, "code-one") == 200
    assert await install(bot, "code-two") == 200
    now = datetime.now(UTC)
    north = await add_school(database, config, "Northfield", "Europe/London", now)
    south = await add_school(database, config, "Southgate", "Europe/London", now)
    await school_in(bot, slack_fake, north, "T1", LEAD, "Northfield")
    await school_in(bot, slack_fake, south, "T2", "USOUTHLEAD", "Southgate")

    assert await event_of(bot, "T1", {"type": "app_uninstalled"}) == 200
    async with database.reading() as unit:
        gone = {p.key.qualified: p.gone_at is not None for p in await unit.hosted.places()}
    assert gone == {f"T1/{STAFF_CHANNEL}": True, f"T2/{STAFF_CHANNEL}": False}

    await message(bot, "T2", STAFF, STAFF_CHANNEL, f"look {SHORT}")
    _, token = await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
    assert token == "xoxb-T2-token"


async def test_the_bots_own_messages_in_a_workspace_are_not_taken_as_reports(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    """The bot's user in each workspace is the one its installation names: what it writes in
    a report channel is dropped, as bolt drops it, while the same words from staff are kept."""
    assert await install(bot, "code-one") == 200
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await message(bot, "T1", LEAD, "DLEAD", f"join {code}")
    await sent(slack_fake, messages.joined("Northfield"))
    await command(bot, "T1", LEAD, STAFF_CHANNEL, "here reports")
    await sent(slack_fake, messages.place_set("Northfield", "reports"))
    stored = await inbox_size(database)

    assert await message(bot, "T1", "UBOTT1", STAFF_CHANNEL, f"look {SHORT}") == 200
    assert await inbox_size(database) == stored
    assert await message(bot, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}") == 200
    assert await inbox_size(database) == stored + 1


async def test_slack_checks_the_request_url_before_any_workspace_installs(bot: SlackBot) -> None:
    body = {"token": "unused", "challenge": "abc123", "type": "url_verification"}
    status, text = await bot.post(json.dumps(body), "application/json")
    assert status == 200 and json.loads(text)["challenge"] == "abc123"


async def test_a_message_in_an_unclaimed_channel_logs_how_a_lead_claims_it(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert await install(bot, "code-one") == 200
    assert await message(bot, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}") == 200
    deadline = time.monotonic() + 5
    while not (
        lines := [
            r.getMessage() for r in caplog.records if "belongs to no school" in r.getMessage()
        ]
    ):
        assert time.monotonic() < deadline, "no line about the unclaimed channel"
        await asyncio.sleep(0.05)
    [line] = lines
    assert "/cases here reports" in line and "slack_report_channels" not in line


async def test_a_school_of_the_file_names_its_slack_ids_with_their_workspace(
    config: Config,
    database: Store,
    slack_fake: FakeSlackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    places = SchoolPlaces(report_places=("T1/CEAST", "CBARE"), leads=("T1/ULEADE",))
    filed = dataclasses.replace(config, schools=(SchoolConfig("Eastwood", places={SLACK: places}),))
    slack_fake.oauth_codes["code-one"] = "T1"
    running = await SlackBot(filed, slack_fake).start()
    try:
        assert "'CBARE' of school 'Eastwood' is never matched" in caplog.text
        assert await install(running, "code-one") == 200
        assert await message(running, "T1", STAFF, "CEAST", f"look {SHORT}") == 200
        logged, token = await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
        assert (logged["channel"], token) == ("DALEX", "xoxb-T1-token")
    finally:
        await running.close()


async def test_a_rotating_token_is_refreshed_before_it_expires_and_sends_go_with_the_new_one(
    bot: SlackBot, slack_fake: FakeSlackApi, database: Store, config: Config
) -> None:
    slack_fake.rotating = True
    assert await install(bot, "code-one") == 200
    installations = DatabaseInstallations(database, FakeClock())
    installed = await installations.async_find_installation(enterprise_id=None, team_id="T1")
    assert installed is not None and installed.bot_refresh_token is not None
    refresh_token = installed.bot_refresh_token
    installed.bot_token_expires_at = int(time.time()) + 60  # about to expire
    await installations.async_save(installed)

    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await message(bot, "T1", LEAD, "DLEAD", f"join {code}")
    _, token = await sent(slack_fake, messages.joined("Northfield"))

    [refresh] = slack_fake.of("oauth.v2.access")[1:]
    assert (refresh["grant_type"], refresh["refresh_token"]) == ("refresh_token", refresh_token)
    refreshed = await installations.async_find_bot(enterprise_id=None, team_id="T1")
    assert refreshed is not None and token == refreshed.bot_token != "xoxb-T1-token"
    assert refreshed.bot_token_expires_at is not None
    assert refreshed.bot_token_expires_at > time.time() + 3600


async def test_what_is_due_for_a_removed_workspace_is_given_up_and_health_stays_green(
    config: Config, database: Store, slack_fake: FakeSlackApi
) -> None:
    """A reminder due to a reporter after their workspace removed Casebook cannot arrive: it
    is given up, and /healthz does not turn red for it."""
    clock = FakeClock()
    slack_fake.oauth_codes["code-one"] = "T1"
    running = await SlackBot(config, slack_fake, clock=clock, scheduler_interval=0.1).start()
    try:
        assert await install(running, "code-one") == 200
        code = await add_school(database, config, "Northfield", "Europe/London", clock.now())
        await message(running, "T1", LEAD, "DLEAD", f"join {code}")
        await sent(slack_fake, messages.joined("Northfield"))
        await command(running, "T1", LEAD, STAFF_CHANNEL, "here reports")
        await sent(slack_fake, messages.place_set("Northfield", "reports"))
        await message(running, "T1", STAFF, STAFF_CHANNEL, f"look {SHORT}")
        await sent(slack_fake, messages.case_logged(1, Platform.YOUTUBE))
        await handled(database)
        await until_sent(database)  # the lead's alert and the first question went before
        assert await event_of(running, "T1", {"type": "app_uninstalled"}) == 200

        clock.advance(hours=3)  # the unanswered questions' reminder falls due
        given_up = await until_given_up(database)
        assert set(given_up) == {("slack workspace not installed",)}  # one or more, by timing
        body = await running.health_until(200)
        assert body["slack"] is True
    finally:
        await running.close()


async def outbox_rows(database: Store, columns: list[str]) -> list[tuple[object, ...]]:
    """These columns of every outbox row."""
    outbox = Table("outbox", ("id",))
    async with database.reading() as unit:
        return [row async for batch in unit.tables.rows(outbox, columns) for row in batch]


async def until_sent(database: Store) -> None:
    """Until nothing queued so far is waiting to be sent."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = await outbox_rows(database, ["sent_at", "failed_at"])
        if all(row != (None, None) for row in rows):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("messages still waiting to be sent")


async def until_given_up(database: Store) -> list[tuple[object, ...]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = await outbox_rows(database, ["last_error", "failed_at"])
        failed = [(row[0],) for row in rows if row[1] is not None]
        if failed:
            return failed
        await asyncio.sleep(0.05)
    raise AssertionError("nothing was given up")
