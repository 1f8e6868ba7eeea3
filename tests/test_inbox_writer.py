"""Group commit of new events, and new events going ahead of work already queued."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.inbox_writer import InboxWriter
from storage import turns
from storage.db import Database


class TickingClock:
    """Each reading is one second later: rows stamped alike were stamped in one transaction."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def now(self) -> datetime:
        return datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(seconds=next(self._ticks))


def _inbox(database: Database) -> list[tuple[str, str]]:
    with sqlite3.connect(database.path) as db:
        return db.execute("SELECT event_id, received_at FROM inbox ORDER BY id").fetchall()


@pytest.mark.sqlite_only
async def test_events_arriving_together_are_committed_together(database: Database) -> None:
    writer = InboxWriter(database, TickingClock())
    stored = await asyncio.gather(
        *(writer.add("slack", f"E{n}", "{}") for n in range(50)),
    )
    assert stored == [True] * 50
    rows = _inbox(database)
    assert [event for event, _ in rows] == [f"E{n}" for n in range(50)]
    assert len({at for _, at in rows}) == 1  # one transaction, not fifty
    # Arriving alone, an event is committed on its own, straight away.
    assert await writer.add("slack", "E50", "{}") is True
    assert len({at for _, at in _inbox(database)}) == 2


@pytest.mark.sqlite_only
async def test_a_repeated_event_id_in_one_batch_is_stored_once(database: Database) -> None:
    writer = InboxWriter(database, TickingClock())
    first, again = await asyncio.gather(
        writer.add("slack", "E1", "{}"), writer.add("slack", "E1", "{}")
    )
    assert (first, again) == (True, False)
    assert [event for event, _ in _inbox(database)] == ["E1"]


@pytest.mark.sqlite_only
async def test_a_failed_commit_fails_every_event_of_its_batch(database: Database) -> None:
    """Nothing of a failed batch is stored, and each caller hears so (the platform retries)."""
    with sqlite3.connect(database.path) as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.event_id = 'bad'"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    writer = InboxWriter(database, TickingClock())
    outcomes = await asyncio.gather(
        writer.add("slack", "E1", "{}"),
        writer.add("slack", "bad", "{}"),
        writer.add("slack", "E2", "{}"),
        return_exceptions=True,
    )
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes), outcomes
    assert _inbox(database) == []
    assert await writer.add("slack", "E1", "{}") is True  # the retry is stored
    assert [event for event, _ in _inbox(database)] == ["E1"]


@pytest.mark.sqlite_only
async def test_storing_an_event_goes_ahead_of_transactions_already_waiting(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patience long enough that a loaded machine cannot run it out while the test arranges.
    monkeypatch.setattr(turns, "PATIENCE", 5.0)
    order: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def ordinary(name: str) -> None:
        async with database.transaction():
            order.append(name)
            if name == "holder":
                holding.set()
                await release.wait()

    async def urgent() -> None:
        async with database.transaction(first=True):
            order.append("new event")

    holder = asyncio.create_task(ordinary("holder"))
    await holding.wait()
    queued = [asyncio.create_task(ordinary(f"queued {n}")) for n in range(3)]
    await asyncio.sleep(0.01)  # the three are waiting for the connection
    jumper = asyncio.create_task(urgent())
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(holder, *queued, jumper)
    assert order == ["holder", "new event", "queued 0", "queued 1", "queued 2"]


@pytest.mark.parametrize("urgent_first", [True, False])
@pytest.mark.sqlite_only
async def test_turns_survive_a_cancelled_waiter(database: Database, urgent_first: bool) -> None:
    """A waiter that gives up (its client hung up) leaves no turn stuck behind it."""
    release = asyncio.Event()
    holding = asyncio.Event()

    async def holder() -> None:
        async with database.transaction():
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with database.transaction(first=urgent_first):
            pass

    task = asyncio.create_task(holder())
    await holding.wait()
    gives_up = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    gives_up.cancel()
    release.set()
    await task
    async with asyncio.timeout(2):
        async with database.transaction(first=True):
            pass
        async with database.transaction():
            pass
    assert gives_up.cancelled()


async def test_a_flood_of_new_events_delays_other_work_but_never_stops_it(
    database: Database,
) -> None:
    flooding = True

    async def flood() -> int:
        turns = 0
        while flooding:
            async with database.transaction(first=True):
                turns += 1
            await asyncio.sleep(0)
        return turns

    floods = [asyncio.create_task(flood()) for _ in range(3)]  # always one urgent turn waiting
    await asyncio.sleep(0.05)
    started = time.monotonic()
    try:
        async with asyncio.timeout(5), database.transaction():
            waited = time.monotonic() - started
    finally:
        flooding = False
    assert min(await asyncio.gather(*floods)) > 0
    assert waited < 1.0  # PATIENCE is 50 ms; without it this waits for the flood to end


@pytest.mark.sqlite_only
async def test_a_caller_that_gives_up_does_not_stop_its_batch(database: Database) -> None:
    """A client that hangs up mid-commit: its event is still stored (a retry is then a repeat),
    and the others in its batch are stored and acknowledged."""
    writer = InboxWriter(database, TickingClock())
    gives_up = asyncio.create_task(writer.add("slack", "E1", "{}"))
    waits = asyncio.create_task(writer.add("slack", "E2", "{}"))
    await asyncio.sleep(0)  # both are queued and the commit has begun
    gives_up.cancel()
    assert await waits is True
    assert gives_up.cancelled()
    assert [event for event, _ in _inbox(database)] == ["E1", "E2"]
    assert await writer.add("slack", "E1", "{}") is False
