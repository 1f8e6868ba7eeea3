"""Storing a new event before the platform is acknowledged, as the platform sees it: a new event
is stored ahead of work already queued, events that arrive during a failed commit are still
stored, and a caller that gives up leaves no error in the log."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.inbox_writer import InboxWriter
from storage import turns
from storage.db import Database
from tests.chat import FakeClock


def _stored(database: Database) -> list[str]:
    with sqlite3.connect(database.path) as db:
        return [row[0] for row in db.execute("SELECT event_id FROM inbox ORDER BY id")]


class FirstCommitFailsLate:
    """The store, except that its first transaction fails once `release` is set, as a disk
    that fills up mid-commit does; everything else is the real store's."""

    def __init__(self, inner: Database) -> None:
        self._inner = inner
        self.begun = asyncio.Event()
        self.release = asyncio.Event()
        self._failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        if not self._failed:
            self._failed = True
            self.begun.set()
            await self.release.wait()
            raise sqlite3.OperationalError("database or disk is full")
        async with self._inner.transaction(first=first) as unit:
            yield unit


@pytest.mark.sqlite_only
async def test_a_new_event_is_stored_ahead_of_work_already_waiting_for_the_database(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The platform waits for its acknowledgement; reminders and digests can wait longer."""
    monkeypatch.setattr(turns, "PATIENCE", 5.0)
    writer = InboxWriter(database, clock)
    holding, release = asyncio.Event(), asyncio.Event()
    seen_by_queued: list[list[str]] = []

    async def holder() -> None:
        async with database.transaction():
            holding.set()
            await release.wait()

    async def queued() -> None:
        async with database.transaction():
            seen_by_queued.append(_stored(database))

    held = asyncio.create_task(holder())
    await holding.wait()
    waiting = [asyncio.create_task(queued()) for _ in range(3)]
    await asyncio.sleep(0.01)  # the three are waiting for the connection
    event = asyncio.create_task(writer.add("slack", "E1", "{}"))
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(held, *waiting)
    assert await event is True
    assert seen_by_queued == [["E1"]] * 3


@pytest.mark.sqlite_only
async def test_events_arriving_during_a_failed_commit_are_still_stored(
    database: Database, clock: FakeClock
) -> None:
    """The failed batch's platform retries; the events that came in meanwhile are stored by
    the next commit, without waiting for yet another event to arrive."""
    store = FirstCommitFailsLate(database)
    writer = InboxWriter(store, clock)  # type: ignore[arg-type]
    failing = asyncio.create_task(writer.add("slack", "E1", "{}"))
    await store.begun.wait()
    meanwhile = asyncio.create_task(writer.add("slack", "E2", "{}"))
    await asyncio.sleep(0)
    store.release.set()
    with pytest.raises(sqlite3.OperationalError):
        await failing
    assert await asyncio.wait_for(meanwhile, 10) is True
    assert _stored(database) == ["E2"]


async def test_a_caller_that_gives_up_leaves_no_error_in_the_log(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that hangs up, whether its commit then succeeds or fails, is no error of ours:
    nothing may be logged about its unread outcome."""
    caplog.set_level(logging.DEBUG, logger="asyncio")
    for store in (database, FirstCommitFailsLate(database)):
        writer = InboxWriter(store, clock)  # type: ignore[arg-type]
        gives_up = asyncio.create_task(writer.add("slack", f"gone-{id(store)}", "{}"))
        stays = asyncio.create_task(writer.add("slack", f"stays-{id(store)}", "{}"))
        await asyncio.sleep(0)
        gives_up.cancel()
        if isinstance(store, FirstCommitFailsLate):
            store.release.set()
        await asyncio.gather(stays, return_exceptions=True)
        del gives_up, stays, writer
        gc.collect()
        await asyncio.sleep(0.01)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
