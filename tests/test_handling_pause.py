"""After the database fails, the worker pauses handling and tries again: twice its interval after
one failure, doubling after each further one, never longer than its cap. A shorter pause hammers a
struggling database; a longer one leaves reports unanswered."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import pump as pump_module
from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery
from bot.pump import Pump
from bot.router import Router
from handlers.events import Incoming, IncomingKind, Outgoing, User
from handlers.settings import Config
from storage.db import Database
from tests.chat import STAFF_ROOM, FakeClock


class FailingTransactions:
    """The store, except that its next `failures` write transactions fail as they begin, as a
    locked or full database does; everything else is the real store's."""

    def __init__(self, inner: Database) -> None:
        self._inner = inner
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def parallel_writes(self) -> int:
        """One lane, as on SQLite: each failure then fails a whole handling round (on
        PostgreSQL the other lanes would handle the report meanwhile)."""
        return 1

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        if self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        async with self._inner.transaction(first=first) as unit:
            yield unit


class Replies:
    def __init__(self) -> None:
        self.first = asyncio.Event()

    async def send(self, outgoing: Outgoing) -> str | None:
        self.first.set()
        return None


async def _seconds_until_answered(
    database: Database, config: Config, clock: FakeClock, interval: float, failures: int
) -> float:
    """Store a report, let the next `failures` transactions fail, and time how long the worker
    takes to answer it."""
    store = FailingTransactions(database)
    router = Router(store, config, clock, frozenset({CONSOLE}))  # type: ignore[arg-type]
    report = Incoming(
        IncomingKind.MESSAGE,
        STAFF_ROOM,
        User(CONSOLE, "alex", "Alex"),
        text="https://x.com/u/status/1",
        school="Northfield",
    )
    assert await router.receive(report, "test", "e1")
    store.failures = failures
    replies = Replies()
    pump = Pump(router, Delivery(database, clock, {CONSOLE: replies}), interval=interval)
    stop = asyncio.Event()
    started = time.monotonic()
    running = asyncio.create_task(pump.run(stop))
    try:
        await asyncio.wait_for(replies.first.wait(), timeout=60)
        return time.monotonic() - started
    finally:
        stop.set()
        await running


async def test_after_one_failed_round_handling_resumes_in_about_twice_its_interval(
    database: Database, config: Config, clock: FakeClock
) -> None:
    waited = await _seconds_until_answered(database, config, clock, interval=1.0, failures=1)
    assert 1.9 <= waited < 3.5


async def test_after_many_failed_rounds_handling_never_waits_longer_than_its_cap(
    database: Database, config: Config, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pump_module, "MAX_PAUSE", 0.5)
    # Pauses of 0.2, 0.4, then 0.5 each: about 3 s in all; without the cap, 25 s.
    waited = await _seconds_until_answered(database, config, clock, interval=0.1, failures=7)
    assert 2.5 <= waited < 8
