"""Migration 017: times are stored to the microsecond from then on. A pending reminder written
before it, due at a whole second, is still the same reminder afterwards: a case's next change
keeps it rather than adding it a second time (it would be sent twice)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from handlers import reminders
from handlers.settings import RemindersConfig
from storage.db import migrations
from storage.store import open_store
from tests.chat import FakeClock

[THIS] = [version for version, name, _ in migrations() if name.endswith("_time_precision.sql")]
CREATED = "2026-11-20T09:00:00Z"
NOT_REPORTED_DUE = "2026-11-21T09:00:00Z"  # created + the ladder's 24 hours


def _before_it(path: Path) -> None:
    """A database just before this migration, with a case and its pending not-reported reminder,
    every time written as whole seconds."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for version, name, sql in migrations()[: THIS - 1]:
            db.executescript(sql)
            db.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (version, name, CREATED))
        db.execute("INSERT INTO schools (id, name, timezone) VALUES (1, 'North', 'Europe/London')")
        db.execute(
            "INSERT INTO cases (id, school_id, number, status, platform, source, created_at,"
            " updated_at) VALUES (1, 1, 1, 'open', 'tiktok', 'console', ?, ?)",
            (CREATED, CREATED),
        )
        db.execute(
            "INSERT INTO reminders (case_id, kind, due_at, created_at)"
            " VALUES (1, 'not_reported', ?, ?)",
            (NOT_REPORTED_DUE, CREATED),
        )


async def test_a_reminder_written_before_is_kept_not_added_again(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _before_it(path)
    store = await open_store(path)
    try:
        async with store.transaction() as unit:
            case = await unit.cases.get(1)
            assert case is not None
            await reminders.reconcile(unit, case, FakeClock().now(), RemindersConfig())
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        pending = db.execute(
            "SELECT kind, due_at FROM reminders WHERE cancelled_at IS NULL AND sent_at IS NULL"
        ).fetchall()
    assert pending == [("not_reported", "2026-11-21T09:00:00.000000Z")]
