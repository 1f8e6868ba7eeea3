"""What only the SQLite store promises: migrations, the file's settings, append-only audit rows
enforced by triggers. The behaviour every store shares is in tests/contract/."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from storage.db import Database, DatabaseError, SchemaTooNewError, migrations
from storage.models import AuditEntry
from tests.contract.support import T0, new_case, school_and_person


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "casebook.db")
    yield db
    await db.close()


async def test_migrations_are_recorded_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = await Database.open(path)
    assert await db.schema_version() == len(migrations())
    await db.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, '999_future.sql', 'now')")
    with pytest.raises(SchemaTooNewError, match="999"):
        await Database.open(path)


async def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(migrations())
        async with db.transaction() as unit:
            assert (await unit.schools.ensure("A", "Europe/London")).name == "A"
    finally:
        await db.close()


async def test_file_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    await db.close()
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = await Database.open(tmp_path / "w.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as unit:
                await unit.cases.create(new_case(999, 999, None))
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


async def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="not a Casebook database"):
        await Database.open(path)


async def test_a_folder_given_as_the_database_fails_without_leaving_its_thread_behind(
    tmp_path: Path,
) -> None:
    """aiosqlite's thread, left running, reports to an event loop that `asyncio.run` has closed
    by then: an "Event loop is closed" traceback after the one-line error."""
    before = _aiosqlite_threads()
    with pytest.raises(DatabaseError, match="cannot open the database"):
        await Database.open(tmp_path)
    assert _aiosqlite_threads() - before == set()
    opened = await Database.open(tmp_path / "casebook.db")  # they are told apart by their name
    assert len(_aiosqlite_threads() - before) == 1
    await opened.close()


def _aiosqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def test_audit_rows_cannot_be_changed_or_deleted(store: Database) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        await unit.audit.append(AuditEntry(case.id, north, alex, "created", T0, to_value="new"))
    for statement in ("UPDATE audit SET action = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with aiosqlite.connect(store.path) as raw:
                await raw.execute(statement)
    async with store.transaction() as unit:
        assert [e.action for e in await unit.audit.for_cases([case.id])] == ["created"]


@pytest.mark.parametrize("kind", ["transaction", "reading"])
async def test_a_transaction_cancelled_as_it_begins_leaves_the_connection_free(
    store: Database, kind: str
) -> None:
    """Ctrl-C or a stop can cancel a transaction while its BEGIN is on the connection's thread;
    the next transaction must still begin (not fail "within a transaction" until restart)."""

    async def begin() -> None:
        opened = store.transaction() if kind == "transaction" else store.reading()
        async with opened as unit:
            await unit.schools.all()

    for steps in range(40):  # cancel at each point of the way in, BEGIN in flight among them
        task = asyncio.create_task(begin())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with store.transaction() as unit:
            await unit.places.first_visit("console", f"room{steps}", T0)
    async with store.transaction() as unit:  # each of those transactions was committed
        assert await unit.places.first_visit("console", "room0", T0) is False


async def test_statements_in_a_write_transaction_behave_as_aiosqlites_do(store: Database) -> None:
    """Inside a write transaction statements run on the calling thread (storage/db.py,
    _InlineStatement): fetching by pieces, plain tuples on request, and a cursor closed once
    its block ends, as aiosqlite's own statements give."""
    three = "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"
    async with store.transaction():
        connection = store._connection
        async with connection.execute(three) as cursor:
            assert [tuple(r) for r in await cursor.fetchmany(2)] == [(1,), (2,)]
            assert [tuple(r) for r in await cursor.fetchmany(2)] == [(3,)]
        async with connection.execute("SELECT 1, 'a'") as cursor:
            row = await cursor.fetchone()
            assert isinstance(row, sqlite3.Row) and row.keys() == ["1", "'a'"]
        async with connection.execute("SELECT 1, 'a'") as cursor:
            cursor.row_factory = None
            assert type(await cursor.fetchone()) is tuple
        async with connection.execute(three) as cursor:
            await cursor.fetchone()
        with pytest.raises(sqlite3.ProgrammingError):
            await cursor.fetchone()
        awaited = await connection.execute("SELECT 7")
        assert tuple(await awaited.fetchone()) == (7,)
