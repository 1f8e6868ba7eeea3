"""A wall clock moved back an hour, then forward again, never stops the reminder rounds: they
wake on the monotonic clock and ask the wall clock only what is due."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, tzinfo

import apscheduler.schedulers.base
import pytest

from bot.adapters.console_config import CONSOLE
from bot.scheduler import Scheduler
from handlers import messages
from tests.chat import Chat

TIKTOK = "https://www.tiktok.com/@someone/video/1"
ROUND = 0.1  # seconds between reminder rounds


class _Wall:
    """How far the test has moved the wall clock, for every reader of it."""

    offset = timedelta(0)


class _MovedDatetime(datetime):
    """`datetime` as APScheduler reads the wall clock: the real one, moved with the test's."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + _Wall.offset


def _move_wall_clock(chat: Chat, by: timedelta) -> None:
    chat.clock.advance(seconds=by.total_seconds())
    _Wall.offset += by


async def _sent(chat: Chat) -> list[str]:
    await chat.delivery.flush()
    return [reply.text for reply in chat.transport.sent]


async def test_moving_the_clock_back_an_hour_and_forward_again_never_stops_reminders(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Wall, "offset", timedelta(0))
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", _MovedDatetime)
    chat.clock.advance(days=3)  # a Thursday morning: no weekly digest to catch up on
    await chat.say(TIKTOK)  # its questions unanswered: a reminder due in two hours
    scheduler = Scheduler(
        chat.database, chat.config, chat.clock, frozenset({CONSOLE}), lambda: None, ROUND
    )
    scheduler.start()
    try:
        await asyncio.sleep(ROUND * 3)
        _move_wall_clock(chat, timedelta(hours=-1))
        await asyncio.sleep(ROUND * 3)  # rounds run with the clock an hour back
        assert messages.reminder_unanswered(1) not in await _sent(chat)
        _move_wall_clock(chat, timedelta(hours=3, minutes=1))  # now past the reminder's time
        started = time.monotonic()
        while messages.reminder_unanswered(1) not in await _sent(chat):
            assert time.monotonic() - started < 3.0, "no reminder round since the clock moved"
            await asyncio.sleep(ROUND / 2)
    finally:
        await scheduler.shutdown()
    assert scheduler.running is False
    assert (await _sent(chat)).count(messages.reminder_unanswered(1)) == 1
