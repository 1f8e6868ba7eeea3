"""Slack through real HTTP: signed requests into Casebook's server, the real slack_sdk client out
to a fake Web API on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_config import SlackMode
from bot.adapters.slack_send import SlackSender
from bot.delivery import PermanentSendError
from handlers import messages
from handlers.events import Outgoing, Place, PlaceKind, Transport
from storage.models import Platform
from tests.fakes.serving import bound_port, serve
from tests.fakes.slack_api import FakeSlackApi
from tests.slack_harness import LEAD, LEADS_CHANNEL, SlackBot, buttons_of, slack_config

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456?is_from_webapp=1"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlackApi) -> AsyncIterator[SlackBot]:
    running = await SlackBot(slack_config(tmp_path / "slack.db", fake), fake).start()
    yield running
    await running.close()


async def test_a_report_in_a_staff_channel_becomes_a_case_and_a_dm_question(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    status, _ = await bot.message(f"look at this <{TIKTOK}|tiktok>")
    assert status == 200
    assert bot.count("inbox") == 1  # the event is stored before the 200
    posted = await fake.wait_for("chat.postMessage", 3, timeout=1.0)
    assert bot.count() == 1
    to_alex = [p for p in posted if p["channel"] == "DALEX"]
    assert to_alex[0]["text"] == messages.case_logged(1, Platform.TIKTOK)
    question = to_alex[-1]
    assert question["text"] == f"{messages.question_intro(1)}\n{messages.Q_TARGETS}"
    assert [b["text"]["text"] for b in buttons_of(question)] == [
        "Me",
        "A colleague",
        "Several staff",
        "The school",
        "Skip",
    ]
    alerts = [p for p in posted if p["channel"] == LEADS_CHANNEL]
    assert alerts and alerts[0]["text"] == messages.new_case_alert(1, Platform.TIKTOK)
    assert fake.of("conversations.open")[0]["users"] == "UALEX"


async def test_a_button_press_answers_and_updates_the_question(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message(TIKTOK)
    posted = await fake.wait_for("chat.postMessage", 3)
    question = posted[-1]
    colleague = next(b for b in buttons_of(question) if b["text"]["text"] == "A colleague")
    status, _ = await bot.press(colleague["value"], ts="9.000100")
    assert status == 200
    [update] = await fake.wait_for("chat.update")
    assert update["ts"] == "9.000100" and update["channel"] == "DALEX"
    assert update["text"] == messages.answer_recorded(messages.Q_TARGETS, "A colleague")
    assert buttons_of(update) == []  # cannot be pressed twice
    posted = await fake.wait_for("chat.postMessage", 4)
    assert posted[-1]["text"] == messages.Q_CATEGORIES


async def test_a_retried_event_is_acknowledged_and_does_nothing(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message(TIKTOK, event_id="EvSAME")
    await fake.wait_for("chat.postMessage", 3)
    calls = len(fake.calls)
    status, _ = await bot.message(
        TIKTOK,
        ts=bot.last_ts,
        event_id="EvSAME",
        extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert status == 200
    await bot.drained()
    assert bot.count() == 1 and bot.count("case_reporters") == 1
    assert len(fake.calls) == calls


@pytest.mark.parametrize(
    ("secret", "age"),
    [("wrong-secret", 0), ("", 0), ("test-signing-secret", 6 * 60)],
    ids=["forged", "empty-secret", "stale"],
)
async def test_unsigned_forged_or_stale_requests_are_refused(
    bot: SlackBot, fake: FakeSlackApi, secret: str, age: int
) -> None:
    status, _ = await bot.message(TIKTOK, secret=secret, timestamp=int(time.time()) - age)
    assert status == 401
    await bot.drained()
    assert bot.count() == 0 and bot.count("inbox") == 0
    assert fake.of("chat.postMessage") == []


async def test_a_request_without_signature_headers_is_refused(bot: SlackBot) -> None:
    assert bot.session is not None
    async with bot.session.post(
        bot.url, data=b'{"type":"event_callback"}', headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 401
    assert bot.count("inbox") == 0


async def test_display_names_are_learnt_after_the_ack_for_timelines(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message(TIKTOK)
    await fake.wait_for("users.info")
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.command("cases", "show 1", user=LEAD)
    [shown] = await fake.wait_for("chat.postEphemeral")
    assert "Ms Alex · case logged" in shown["text"]


async def test_broadcast_mentions_and_markup_are_never_sent_unescaped(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message(f"<!channel> <!here> <!everyone> <@U999> <#C999> <b>x</b> & {TIKTOK}")
    await fake.wait_for("chat.postMessage", 3)
    status, _ = await bot.command("cases", "show 1", user=LEAD)
    assert status == 200
    [shown] = await fake.wait_for("chat.postEphemeral")
    assert "&lt;!channel&gt;" in shown["text"] and "&amp;" in shown["text"]
    everything = json.dumps([c.args for c in fake.calls])
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<#C999>", "<b>"):
        assert raw not in everything


async def test_cases_from_a_non_lead_is_refused_privately(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    status, _ = await bot.command("cases", "", user="UALEX")
    assert status == 200
    [refusal] = await fake.wait_for("chat.postEphemeral")
    assert refusal["user"] == "UALEX" and refusal["channel"] == "CREPORT"
    assert refusal["text"] == messages.NOT_A_LEAD


async def test_private_replies_fall_back_to_a_dm_where_the_bot_is_not_in_the_channel(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.command("cases", "help", user=LEAD, channel="CNOTIN1")
    posted = await fake.wait_for("chat.postMessage")
    assert posted[0]["channel"] == "DLEAD" and posted[0]["text"] == messages.LEAD_HELP


async def test_a_429_is_retried_after_retry_after_and_delivered(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    fake.failures["chat.postMessage"] = [429, 503]
    await bot.message(TIKTOK)
    logged = await fake.wait_for_text(
        "chat.postMessage", messages.case_logged(1, Platform.TIKTOK), timeout=10
    )
    assert logged["channel"] == "DALEX"
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS, timeout=10)
    assert [c.method for c in fake.calls if "!" in c.method] == [
        "chat.postMessage!429",
        "chat.postMessage!503",
    ]


async def test_channels_of_no_school_bot_posts_edits_and_joins_are_ignored(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message(TIKTOK, channel="CRANDOM")
    for extra in (
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
        {"bot_id": "B1"},
        {"subtype": "message_deleted"},
    ):
        await bot.event(
            {
                "type": "message",
                "user": "UALEX",
                "text": TIKTOK,
                "channel": "CREPORT",
                "channel_type": "channel",
                "ts": "5.1",
                **extra,
            }
        )
    await bot.drained()
    assert bot.count() == 0 and bot.count("inbox") == 0
    assert fake.of("chat.postMessage") == []


async def test_the_bots_own_messages_are_acknowledged_and_dropped_as_bolt_drops_them(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    """By its user id alone (no bot_id), or as the author of an edited or deleted message:
    the same rule as bolt's self-event middleware, on the path that skips bolt."""
    assert (await bot.message(TIKTOK, user="UBOT"))[0] == 200
    mine = {"type": "message", "user": "UBOT", "text": TIKTOK, "ts": "6.1"}
    changed = {"type": "message", "user": "UBOT", "text": TIKTOK + " now", "ts": "6.1"}
    for extra in (
        {"subtype": "message_changed", "message": changed, "previous_message": mine},
        {"subtype": "message_deleted", "deleted_ts": "6.1", "previous_message": mine},
    ):
        event = {"type": "message", "channel": "CREPORT", "channel_type": "channel", **extra}
        assert (await bot.event(event))[0] == 200
    await bot.drained()
    assert bot.count() == 0 and bot.count("inbox") == 0
    assert (await bot.message(TIKTOK, user="UALEX"))[0] == 200
    await fake.wait_for("chat.postMessage")
    assert bot.count() == 1


async def test_the_bots_edit_and_its_bot_id_are_dropped_in_slacks_own_shapes(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    """An edit as Slack documents it (the edited `message` only, no `previous_message`), and
    a person's edit that carries the bot's bot id: bolt drops both, and so does Casebook."""
    edit = {"type": "message", "subtype": "message_changed", "channel": "CREPORT"}
    before = {"type": "message", "user": "UALEX", "text": "see", "ts": "6.1"}
    shapes = (
        {
            **edit,
            "message": {"type": "message", "user": "UBOT", "text": TIKTOK, "ts": "6.3"},
        },
        {
            **edit,
            "bot_id": "BBOT",
            "message": {**before, "text": f"see {TIKTOK}", "edited": {"ts": "6.2"}},
            "previous_message": before,
        },
    )
    for event in shapes:
        assert (await bot.event({**event, "channel_type": "channel", "ts": "6.2"}))[0] == 200
    await bot.drained()
    assert bot.count("inbox") == 0


@pytest.mark.parametrize("event", ["message", 5, None, []])
async def test_an_event_callback_without_an_event_object_is_refused_not_a_crash(
    bot: SlackBot, event: object
) -> None:
    status, _ = await bot.body({"type": "event_callback", "team_id": "T1", "event": event})
    assert status == 400
    assert bot.count("inbox") == 0


async def test_an_empty_timestamp_header_is_refused_not_a_crash(bot: SlackBot) -> None:
    status, _ = await bot.message(TIKTOK, extra={"X-Slack-Request-Timestamp": ""})
    assert status == 400
    assert bot.count("inbox") == 0


async def test_message_events_skip_bolts_dispatch_and_everything_else_goes_through_it(
    bot: SlackBot, fake: FakeSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatched: list[str] = []
    dispatch = AsyncApp.async_dispatch

    async def counted(app: AsyncApp, request: AsyncBoltRequest) -> BoltResponse:
        dispatched.append(str(request.body.get("type") or request.body.get("command")))
        return await dispatch(app, request)

    monkeypatch.setattr(AsyncApp, "async_dispatch", counted)
    assert (await bot.message(TIKTOK))[0] == 200
    await fake.wait_for("chat.postMessage")
    assert bot.count() == 1 and dispatched == []
    assert (await bot.event({"type": "app_mention", "user": "UALEX", "ts": "7.1"}))[0] == 200
    assert (await bot.command("mycases"))[0] == 200
    assert dispatched == ["event_callback", "/mycases"]


async def test_a_file_share_with_a_link_is_a_report_and_the_file_is_not_fetched(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.event(
        {
            "type": "message",
            "subtype": "file_share",
            "user": "UALEX",
            "channel": "CREPORT",
            "channel_type": "channel",
            "ts": "6.1",
            "text": f"screenshot of {TIKTOK}",
            "files": [
                {"id": "F0FILESHAREID", "url_private": "https://files.slack.invalid/F0FILESHAREID"}
            ],
        }
    )
    await fake.wait_for("chat.postMessage", 2)
    assert bot.count() == 1
    assert not [c for c in fake.calls if c.method.startswith("files.")]
    stored = bot.config.storage.database.read_bytes()
    assert b"F0FILESHAREID" not in stored and b"files.slack.invalid" not in stored


async def test_the_ack_does_not_wait_for_a_slow_web_api(bot: SlackBot, fake: FakeSlackApi) -> None:
    fake.delays["chat.postMessage"] = 4.0
    fake.delays["conversations.open"] = 4.0
    started = time.monotonic()
    status, _ = await bot.message(TIKTOK)
    elapsed = time.monotonic() - started
    assert status == 200 and bot.count("inbox") == 1
    assert elapsed < 3.0, elapsed


async def test_report_command_with_text_logs_and_without_text_opens_the_form(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.command("report", TIKTOK)
    await fake.wait_for("chat.postMessage", 2)
    assert bot.count() == 1
    status, _ = await bot.command("report", "")
    assert status == 200
    [opened] = await fake.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert view["callback_id"] == "casebook_report" and view["private_metadata"] == "CREPORT"
    assert {b["block_id"] for b in view["blocks"]} >= {
        "link",
        "description",
        "targets",
        "categories",
    }


async def test_submitting_the_form_logs_a_case_with_its_answers(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    status, _ = await bot.interaction(
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "UALEX", "username": "alex"},
            "trigger_id": "trigger.form",
            "view": {
                "id": "V1",
                "type": "modal",
                "hash": "h1",
                "callback_id": "casebook_report",
                "private_metadata": "CREPORT",
                "state": {
                    "values": {
                        "link": {
                            "link": {"type": "url_text_input", "value": "https://youtu.be/abc123"}
                        },
                        "description": {
                            "description": {
                                "type": "plain_text_input",
                                "value": "fake video of Mr K",
                            }
                        },
                        "targets": {
                            "targets": {
                                "type": "radio_buttons",
                                "selected_option": {"value": "colleague"},
                            }
                        },
                        "categories": {
                            "categories": {
                                "type": "multi_static_select",
                                "selected_options": [{"value": "threat"}, {"value": "doxxing"}],
                            }
                        },
                        "reported": {
                            "reported": {"type": "radio_buttons", "selected_option": None}
                        },
                    }
                },
            },
        }
    )
    assert status == 200
    posted = await fake.wait_for("chat.postMessage", 3)
    import sqlite3

    with sqlite3.connect(bot.config.storage.database) as db:
        platform, targets, urgent = db.execute(
            "SELECT platform, targets, urgent FROM cases"
        ).fetchone()
    assert (platform, targets, urgent) == ("youtube", "colleague", 1)
    alex = [p["text"] for p in posted if p["channel"] == "DALEX"]
    assert messages.URGENT_DANGER in alex
    await fake.wait_for("chat.postMessage", 5)
    asked = fake.of("chat.postMessage")[-1]["text"]
    assert asked == f"{messages.question_intro(1)}\n{messages.Q_REPORTED}"  # only unanswered ones


async def test_a_lead_export_arrives_as_a_file_in_a_dm(bot: SlackBot, fake: FakeSlackApi) -> None:
    await bot.message(TIKTOK)
    await fake.wait_for("chat.postMessage", 3)
    await bot.command("cases", "export", user=LEAD)
    [complete] = await fake.wait_for("files.completeUploadExternal")
    assert complete["channel_id"] == "DLEAD"
    [upload] = await fake.wait_for("upload")
    assert b"tiktok.com/@someone" in upload["bytes"]


async def test_a_dm_from_known_staff_is_a_report_for_their_school(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message("hello, I will report in a minute", user="UALEX")
    await fake.wait_for_text("chat.postMessage", messages.case_logged_no_link(1))
    await bot.message("https://instagram.com/p/Xyz", user="UALEX", channel="DALEX")
    await fake.wait_for_text("chat.postMessage", messages.case_logged(2, Platform.INSTAGRAM))
    await bot.message("https://instagram.com/p/Other", user="USTRANGER", channel="DSTRANGER")
    refusal = await fake.wait_for_text("chat.postMessage", messages.NOT_A_MEMBER)
    assert refusal["channel"] == "DSTRANGER" and bot.count() == 2


async def test_health_check_reports_ok(bot: SlackBot) -> None:
    assert await bot.health_until(200) == {
        "database": True,
        "inbox": True,
        "slack": True,
        "worker": True,
        "scheduler": True,
        "oldest_pending_seconds": 0,
        "problems": {},
    }


async def test_socket_mode_receives_acknowledges_and_answers(
    tmp_path: Path, fake: FakeSlackApi
) -> None:
    config = slack_config(tmp_path / "socket.db", fake, mode="socket")
    bot = await SlackBot(config, fake).start()
    try:
        await fake.wait_for_socket()
        assert fake.of("apps.connections.open")
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": "EvSOCKET1",
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "user": "UALEX",
                "text": TIKTOK,
                "channel": "CREPORT",
                "channel_type": "channel",
                "ts": "7.000100",
            },
        }
        envelope = {
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": body,
        }
        await fake.push_socket_event(envelope)
        await fake.wait_for_ack("env-1")
        await fake.wait_for_text("chat.postMessage", messages.case_logged(1, Platform.TIKTOK))
        await fake.push_socket_event({**envelope, "envelope_id": "env-2", "retry_attempt": 1})
        await fake.wait_for_ack("env-2")
        await bot.drained()
        assert bot.count() == 1
    finally:
        await bot.close()


def test_manifest_lists_what_the_adapter_uses() -> None:
    from bot.adapters.slack_manifest import manifest

    http = manifest(SlackMode.HTTP, "https://cb.example/slack/events")
    assert http["settings"]["socket_mode_enabled"] is False
    assert (
        http["settings"]["event_subscriptions"]["request_url"] == "https://cb.example/slack/events"
    )
    assert sorted(c["command"] for c in http["features"]["slash_commands"]) == [
        "/cases",
        "/help",
        "/mycases",
        "/report",
        "/whoami",
        "/withdraw",
    ]
    assert set(http["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",
        "message.im",
    }
    assert {"chat:write", "im:write", "commands", "files:write"} <= set(
        http["oauth_config"]["scopes"]["bot"]
    )
    socket = manifest(SlackMode.SOCKET)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["interactivity"]


async def test_casebook_run_with_a_config_file_serves_slack(
    tmp_path: Path, fake: FakeSlackApi
) -> None:
    import os
    import socket as sockets
    import sys

    import aiohttp

    from tests.slack_harness import SECRET, TOKEN, signature

    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config_file = tmp_path / "casebook.toml"
    config_file.write_text(
        f'[storage]\ndatabase = "cb.db"\n[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "http"\napi_url = "{fake.url}/api/"\n'
        '[[schools]]\nname = "Northfield"\n'
        'slack_report_channels = ["CREPORT"]\nslack_leads = ["ULEAD"]\n',
        encoding="utf-8",
    )
    root = ROOT
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config_file),
        cwd=root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            body = json.dumps(
                {
                    "type": "event_callback",
                    "team_id": "T1",
                    "event_id": "EvCLI1",
                    "event": {
                        "type": "message",
                        "user": "UALEX",
                        "text": TIKTOK,
                        "channel": "CREPORT",
                        "channel_type": "channel",
                        "ts": "8.000100",
                    },
                }
            )
            headers = {"Content-Type": "application/json", **signature(body, int(time.time()))}
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers
            ) as response:
                assert response.status == 200
            question = await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS, timeout=1.0)
            assert buttons_of(question)
            forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
            async with session.post(
                f"http://127.0.0.1:{port}/slack/events",
                data=body.replace("EvCLI1", "EvCLI2"),
                headers=forged,
            ) as response:
                assert response.status == 401
        exported = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "export",
            "--config",
            str(config_file),
            cwd=root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await exported.communicate()
        [case] = json.loads(out)
        assert case["platform"] == "tiktok" and case["source"] == "slack"
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0, err
    assert TOKEN.encode() not in err and SECRET.encode() not in err


async def test_starting_and_stopping_at_once_logs_no_warning(
    tmp_path: Path,
    fake: FakeSlackApi,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bolt reads SLACK_BOT_TOKEN itself and would warn that it goes unused beside our client;
    a reminder round still running at shutdown would be cancelled halfway and logged as failed."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    with caplog.at_level(logging.INFO):
        bot = await SlackBot(slack_config(tmp_path / "env.db", fake), fake).start()
        await bot.close()
    assert "listening on" in caplog.text  # the capture saw the start-up
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


async def test_withdraw_is_a_slash_command_the_adapter_answers(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    # The manifest offers every command in handlers/commands.py; each must have a listener.
    await bot.command("report", TIKTOK)
    await fake.wait_for("chat.postMessage", 2)
    status, _ = await bot.command("withdraw", "1")
    assert status == 200
    await fake.wait_for_text("chat.postMessage", messages.withdrawn(1))


@pytest.mark.parametrize("code", ["user_not_found", "channel_not_found", "is_archived"])
async def test_an_answer_sending_again_cannot_change_is_given_up_at_once(code: str) -> None:
    """A person deleted or a channel gone: Slack will give the same answer however often the
    message is sent, so it is refused for good rather than retried."""

    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": code})

    app = web.Application()
    app.router.add_post("/api/{method}", refuse)
    runner = await serve(app, "127.0.0.1", 0)
    try:
        client = AsyncWebClient(
            token="xoxb-t", base_url=f"http://127.0.0.1:{bound_port(runner)}/api/"
        )
        sender = SlackSender(client)
        with pytest.raises(PermanentSendError):
            await sender.send(Outgoing(Place(Transport("slack"), "C1", PlaceKind.CHANNEL), "hi"))
    finally:
        await runner.cleanup()
