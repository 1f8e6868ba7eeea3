"""A chat of no school is logged at its first message, then at most once an hour per chat with
a count: 200 messages from one unconfigured group were 200 warnings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.log_throttle import ThrottledLog
from tests.chat import FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import SlackBot, slack_config
from tests.test_telegram import TelegramBot, telegram_config

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"


def test_a_key_is_due_at_once_then_once_an_hour_with_the_count_held() -> None:
    clock = FakeClock()
    throttle = ThrottledLog(clock)
    assert throttle.due("a") == 0
    assert [throttle.due("a") for _ in range(5)] == [None] * 5
    assert throttle.due("b") == 0  # each key on its own
    clock.advance(minutes=59)
    assert throttle.due("a") is None
    clock.advance(minutes=1)
    assert throttle.due("a") == 6
    assert throttle.due("a") is None
    clock.advance(hours=2)
    assert throttle.due("a") == 1


def test_only_the_most_recent_keys_are_remembered() -> None:
    throttle = ThrottledLog(FakeClock(), kept=2)
    for key in ("a", "b", "c"):
        assert throttle.due(key) == 0
    assert throttle.due("a") == 0  # forgotten: logged as a first message again
    assert throttle.due("c") is None


def _lines(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if needle in r.getMessage()]


@pytest.fixture
async def telegram(tmp_path: Path) -> AsyncIterator[tuple[TelegramBot, FakeClock]]:
    fake = await FakeTelegramApi().start()
    clock = FakeClock()
    running = await TelegramBot(telegram_config(tmp_path / "t.db", fake), clock=clock).start()
    yield running, clock
    await running.close()
    await fake.stop()


async def test_two_hundred_messages_from_a_group_of_no_school_are_one_line_an_hour(
    telegram: tuple[TelegramBot, FakeClock], caplog: pytest.LogCaptureFixture
) -> None:
    bot, clock = telegram
    caplog.set_level(logging.INFO)
    for _ in range(200):
        assert await bot.post(message_update(TIKTOK, chat=-100777, title="Maths")) == 200
    await bot.post(message_update(TIKTOK, chat=-100888, title="Science"))
    [line] = _lines(caplog, "-100777")
    assert "'Maths'" in line and "telegram_report_chats" in line and "more" not in line
    assert len(_lines(caplog, "-100888")) == 1  # another group has its own first line
    clock.advance(minutes=61)
    await bot.post(message_update(TIKTOK, chat=-100777, title="Maths"))
    later = _lines(caplog, "-100777")
    assert len(later) == 2 and "199 more" in later[1]
    assert TIKTOK not in caplog.text
    assert bot.count("inbox") == 0


async def test_a_busy_slack_channel_of_no_school_is_one_line(
    tmp_path: Path, slack_fake: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    slack_fake.channels["CRANDOM"] = {"name": "year-9-staff", "is_member": True}
    bot = await SlackBot(slack_config(tmp_path / "s.db", slack_fake), slack_fake).start()
    try:
        for _ in range(30):
            status, _ = await bot.message(TIKTOK, channel="CRANDOM")
            assert status == 200
        await slack_fake.wait_for("conversations.info")
        await asyncio.sleep(0.2)  # lines are written after the acknowledgement
        [line] = _lines(caplog, "CRANDOM")
        assert "'year-9-staff'" in line
    finally:
        await bot.close()
