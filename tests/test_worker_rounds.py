"""The worker's rounds as an operator sees them: how long the log says handling pauses after
each failure, reports and replies that nobody woke it for, a delivery failure's log line, and a
stop while a send hangs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import pump as pump_module
from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery
from bot.pump import Pump
from bot.router import Router
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, User
from handlers.settings import Config
from storage.db import Database
from tests.chat import STAFF_ROOM, FakeClock


class FailingTransactions:
    """The store, except that while `failing` (or for its next `failures`) its transactions fail
    as they begin, as a locked database does; everything else is the real store's."""

    def __init__(self, inner: Database) -> None:
        self._inner = inner
        self.failing = False
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        if self.failing or self.failures > 0:
            self.failures = max(0, self.failures - 1)
            raise sqlite3.OperationalError("database is locked")
        async with self._inner.transaction(first=first) as unit:
            yield unit


class Replies:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        self.sent.append(outgoing.text)
        return None


def _report(event: str) -> tuple[Incoming, str, str]:
    user = User(CONSOLE, f"staff-{event}", "Alex")
    text = f"https://x.com/u/status/{len(event)}"
    incoming = Incoming(IncomingKind.MESSAGE, STAFF_ROOM, user, text=text, school="Northfield")
    return incoming, "test", event


def _pauses(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.pump" and r.getMessage().startswith("handling paused")
    ]


async def _until(condition: Any, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _running(pump: Pump) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    running = asyncio.create_task(pump.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)


async def test_the_log_says_handling_pauses_twice_as_long_after_each_failure_up_to_30_seconds(
    database: Database, config: Config, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With the default interval of a second: 2, 4, 8, 16, then the 30 s cap; after a round that
    succeeds, the next failure pauses 2 s again. Each pause is cut short here by waking the
    worker, as a new event does."""
    caplog.set_level(logging.WARNING, logger="bot.pump")
    store = FailingTransactions(database)
    router = Router(store, config, clock, frozenset({CONSOLE}))  # type: ignore[arg-type]
    replies = Replies()
    pump = Pump(router, Delivery(database, clock, {CONSOLE: replies}))
    store.failing = True
    async with _running(pump):
        for seen in range(1, 6):
            await _until(lambda: len(_pauses(caplog)) >= seen)  # noqa: B023
            if seen == 5:
                store.failing = False
            pump.wake()
        assert await router.receive(*_report("first"))
        pump.wake()
        await _until(lambda: len(replies.sent) >= 1)
        store.failing = True
        pump.wake()
        await _until(lambda: len(_pauses(caplog)) >= 6)
        store.failing = False
    assert _pauses(caplog) == [
        f"handling paused for {seconds}s: StorageUnavailable (database is locked)"
        for seconds in (2, 4, 8, 16, 30, 2)
    ]


async def test_a_report_nobody_woke_the_worker_for_is_answered_within_its_interval(
    database: Database, config: Config, clock: FakeClock
) -> None:
    """A report stored by another process (or before a crash) is found by the next round."""
    router = Router(database, config, clock, frozenset({CONSOLE}))
    replies = Replies()
    pump = Pump(router, Delivery(database, clock, {CONSOLE: replies}), interval=0.2)
    async with _running(pump):
        await asyncio.sleep(0.3)
        assert await router.receive(*_report("unannounced"))
        await _until(lambda: len(replies.sent) >= 1, seconds=10)


async def test_a_reply_nobody_woke_the_deliverer_for_is_sent_within_its_interval(
    database: Database, config: Config, clock: FakeClock
) -> None:
    """A reply left in the outbox (by a failed send, a crash, another process) goes out on the
    deliverer's next round."""
    router = Router(database, config, clock, frozenset({CONSOLE}))
    replies = Replies()
    pump = Pump(router, Delivery(database, clock, {CONSOLE: replies}), interval=0.2)
    async with _running(pump):
        await asyncio.sleep(0.3)
        async with database.transaction() as unit:
            message = Outgoing(Place(CONSOLE, "alex", PlaceKind.DIRECT), "left behind")
            await unit.outbox.add("console", message.to_json(), None, clock.now())
        await _until(lambda: replies.sent == ["left behind"], seconds=10)


async def test_a_failed_delivery_round_is_logged_with_its_platform_and_error_kind_only(
    database: Database, config: Config, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The log names the platform and the kind of error, not the error's text (which can quote
    a message), and the deliverer goes on to send once the database is back."""
    caplog.set_level(logging.WARNING, logger="bot.pump")
    store = FailingTransactions(database)
    router = Router(database, config, clock, frozenset({CONSOLE}))
    replies = Replies()
    delivery = Delivery(store, clock, {CONSOLE: replies})  # type: ignore[arg-type]
    pump = Pump(router, delivery, interval=0.2)
    async with database.transaction() as unit:
        message = Outgoing(Place(CONSOLE, "alex", PlaceKind.DIRECT), "after the failure")
        await unit.outbox.add("console", message.to_json(), None, clock.now())
    store.failures = 1
    async with _running(pump):
        await _until(lambda: replies.sent == ["after the failure"], seconds=10)
    failures = [r.getMessage() for r in caplog.records if "delivery to" in r.getMessage()]
    assert failures == ["delivery to console failed: OperationalError"]


async def test_stopping_the_worker_while_a_send_hangs_cancels_it_after_the_grace_period(
    database: Database, config: Config, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform that never answers must not keep the bot from stopping (or restarting)."""
    monkeypatch.setattr(pump_module, "STOP_GRACE", 0.2)
    hung = asyncio.Event()
    cancelled = asyncio.Event()

    class Hanging:
        async def send(self, outgoing: Outgoing) -> str | None:
            hung.set()
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()
            return None

    router = Router(database, config, clock, frozenset({CONSOLE}))
    pump = Pump(router, Delivery(database, clock, {CONSOLE: Hanging()}), interval=0.2)
    async with database.transaction() as unit:
        message = Outgoing(Place(CONSOLE, "alex", PlaceKind.DIRECT), "never answered")
        await unit.outbox.add("console", message.to_json(), None, clock.now())
    stop = asyncio.Event()
    running = asyncio.create_task(pump.run(stop))
    await asyncio.wait_for(hung.wait(), 10)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert cancelled.is_set()
