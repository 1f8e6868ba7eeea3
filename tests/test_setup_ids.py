"""Finding ids while setting Casebook up: /whoami on every transport, and the log line for a
message from a chat that belongs to no school."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.console_config import CONSOLE
from bot.adapters.slack_config import SLACK
from bot.adapters.telegram_config import TELEGRAM
from bot.config.schema import names_of
from handlers import messages
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import SlackBot, slack_config
from tests.test_console import casebook
from tests.test_telegram import GROUP, TelegramBot, telegram_config

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"


@pytest.fixture
async def slack(tmp_path: Path, slack_fake: FakeSlackApi) -> AsyncIterator[SlackBot]:
    running = await SlackBot(slack_config(tmp_path / "s.db", slack_fake), slack_fake).start()
    yield running
    await running.close()


@pytest.fixture
async def telegram(tmp_path: Path, telegram_fake: FakeTelegramApi) -> AsyncIterator[TelegramBot]:
    running = await TelegramBot(telegram_config(tmp_path / "t.db", telegram_fake)).start()
    yield running
    await running.close()


def test_whoami_in_the_terminal_answers_and_logs_no_report(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = casebook("run", "--db", str(db), stdin=b"/whoami\n")
    assert run.returncode == 0, run.stderr
    expected = messages.whoami(names_of(CONSOLE), "demo-staff", "staff-room")
    assert f"casebook: {expected}" in run.stdout.decode()
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM cases").fetchone()[0] == 0


async def test_whoami_on_slack_from_a_channel_of_no_school_answers_privately(
    slack: SlackBot, slack_fake: FakeSlackApi
) -> None:
    status, _ = await slack.command("whoami", user="UNEWLEAD", channel="CNEWCHANNEL")
    assert status == 200
    [answer] = await slack_fake.wait_for("chat.postEphemeral")
    assert answer["user"] == "UNEWLEAD" and answer["channel"] == "CNEWCHANNEL"
    assert answer["text"] == messages.whoami(names_of(SLACK), "UNEWLEAD", "CNEWCHANNEL")
    assert "UNEWLEAD" in answer["text"] and "slack_leads" in answer["text"]
    assert "CNEWCHANNEL" in answer["text"] and "slack_report_channels" in answer["text"]
    assert slack.count() == 0
    assert slack_fake.of("chat.postMessage") == []


async def test_whoami_on_slack_in_a_direct_message_gives_the_person_id(
    slack: SlackBot, slack_fake: FakeSlackApi
) -> None:
    await slack.command("whoami", user="UALEX", channel="DALEX")
    [answer] = await slack_fake.wait_for("chat.postMessage")
    assert answer["channel"] == "DALEX"
    assert answer["text"] == messages.whoami(names_of(SLACK), "UALEX", None)


async def test_whoami_on_telegram_in_a_group_of_no_school_answers_in_private(
    telegram: TelegramBot, telegram_fake: FakeTelegramApi
) -> None:
    assert await telegram.post(message_update("/whoami", user=777, chat=-100555)) == 200
    expected = messages.whoami(names_of(TELEGRAM), "777", "-100555")
    answer = await telegram_fake.wait_for_text(expected)
    assert answer["chat_id"] == 777
    assert "telegram_report_chats" in expected and "telegram_leads" in expected
    assert telegram.count() == 0


async def test_whoami_on_telegram_answers_in_the_group_when_the_person_never_started_the_bot(
    telegram: TelegramBot, telegram_fake: FakeTelegramApi
) -> None:
    telegram_fake.blocked_chats.add(778)
    await telegram.post(message_update("/whoami", user=778, chat=-100556))
    answer = await telegram_fake.wait_for_text(
        messages.whoami(names_of(TELEGRAM), "778", "-100556")
    )
    assert answer["chat_id"] == -100556 and answer["reply_parameters"]["message_id"]


async def test_whoami_is_registered_as_a_telegram_command(
    telegram: TelegramBot, telegram_fake: FakeTelegramApi
) -> None:
    for registered in telegram_fake.of("setMyCommands"):
        assert "whoami" in [c["command"] for c in registered["commands"]]


async def test_a_slack_message_from_a_channel_of_no_school_logs_its_id_title_and_key(
    slack: SlackBot, slack_fake: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    slack_fake.channels["CRANDOM"] = {"name": "year-9-staff", "is_member": True}
    status, _ = await slack.message(TIKTOK, channel="CRANDOM")
    assert status == 200
    [line] = await _logged(caplog, "CRANDOM")
    assert "slack" in line and "'year-9-staff'" in line and "slack_report_channels" in line
    assert TIKTOK not in caplog.text  # the report text never reaches a log
    assert slack.count("inbox") == 0 and slack.count() == 0
    await slack.message(TIKTOK, channel="CRANDOM")
    await asyncio.sleep(0.1)
    # Logged again only an hour on (tests/test_log_throttle.py); the title is asked for once.
    assert await _logged(caplog, "CRANDOM") == [line]
    assert len(slack_fake.of("conversations.info")) == 1


async def test_a_telegram_message_from_a_group_of_no_school_logs_its_id_title_and_key(
    telegram: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await telegram.post(message_update(TIKTOK, chat=-100777, title="Maths department"))
    [line] = [r.getMessage() for r in caplog.records if "-100777" in r.getMessage()]
    assert "telegram" in line and "'Maths department'" in line
    assert "telegram_report_chats" in line
    assert telegram.count("inbox") == 0
    # A report group is not reported as unknown.
    caplog.clear()
    await telegram.post(message_update(TIKTOK, chat=GROUP))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def _logged(caplog: pytest.LogCaptureFixture, needle: str, count: int = 1) -> list[str]:
    """The log lines that contain `needle`, waiting (up to five seconds) for `count` of them:
    a Slack line is written after the acknowledgement, once the channel's title is known."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [r.getMessage() for r in caplog.records if needle in r.getMessage()]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} log lines with {needle!r} in:\n{caplog.text}")
