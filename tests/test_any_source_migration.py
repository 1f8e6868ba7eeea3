"""Migration 014: a case's source may be any transport's name. SQLite rebuilds `cases` for it,
the riskiest migration Casebook runs, so a database at the version before it, holding every kind
of row, is upgraded here and compared with itself; PostgreSQL swaps one constraint."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from storage.db import BrokenReferences, Database, apply_migration, migrations
from storage.store import open_store
from storage.tables import TABLES
from tests.busy_database import fill
from tests.contract.support import new_case
from tests.test_db_copy import dump

[THIS] = [version for version, name, _ in migrations() if name.endswith("_any_source.sql")]
BEFORE = THIS - 1
LATEST = migrations()[-1][0]  # later migrations run too when a database is opened
OLD_CHECK = "CHECK (source IN ('slack', 'telegram', 'console'))"
NEW_CHECK = "CHECK (source <> '')"
# `cases`, its keys and every table that refers to it: the upgraded database has rows in each.
FILLED = (
    *("cases", "case_keys", "case_categories", "case_reporters", "case_links", "case_messages"),
    *("conversation_cases", "audit", "notes", "reminders", "outbox"),
)
CASE_ROW = (
    "INSERT INTO cases (id, school_id, number, status, platform, source, created_at, updated_at)"
    " VALUES ({id}, 1, {id}, 'new', 'tiktok', '{source}', '2026-11-20T09:00:00Z',"
    " '2026-11-20T09:00:00Z')"
)


def before_it(path: Path, rows_from: Path) -> None:
    """A database as Casebook left it just before this migration, holding `rows_from`'s rows
    (a file at the newest version: the columns are the same) and a case of each transport there
    was."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for version, name, sql in migrations()[:BEFORE]:
            db.executescript(sql)
            db.execute(
                "INSERT INTO schema_version VALUES (?, ?, '2026-11-01T00:00:00Z')", (version, name)
            )
        db.execute("ATTACH DATABASE ? AS busy", (str(rows_from),))
        for table in TABLES:
            if table.replace:  # made by the migrations and the case_keys trigger: keep busy's
                db.execute(f"DELETE FROM {table.name}")
            db.execute(f"INSERT INTO {table.name} SELECT * FROM busy.{table.name}")
        db.commit()
        db.execute("DETACH DATABASE busy")
        for case_id, source in ((101, "slack"), (102, "telegram")):
            db.execute(CASE_ROW.format(id=case_id, source=source))
        db.execute("INSERT INTO case_messages VALUES ('slack', 'C1|1700000000.1', 101)")
        db.execute("INSERT INTO case_messages VALUES ('telegram', '-100|7', 102)")


def _made_later(name: str) -> bool:
    """Whether a table or index is created by a migration after this one."""
    return any(
        f"CREATE TABLE {name} " in sql or f"CREATE INDEX {name} " in sql
        for version, _, sql in migrations()
        if version > THIS
    )


def schema(path: Path) -> dict[tuple[str, str], str | None]:
    """Every table, index and trigger, by (type, name), with its SQL's whitespace collapsed."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    return {
        (kind, name): None if sql is None else " ".join(sql.replace('"cases"', "cases").split())
        for kind, name, sql in rows
    }


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("busy") / "busy.db"
    asyncio.run(fill(path))
    return path


@pytest.fixture
def old(busy: Path, tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    before_it(path, busy)
    return path


async def test_every_row_keeps_its_id_and_only_the_check_changes(old: Path) -> None:
    rows_before, schema_before = dump(old), schema(old)
    assert all(rows_before[name] for name in FILLED)
    assert {row[6] for row in rows_before["cases"]} == {"console", "slack", "telegram"}
    db = await Database.open(old)
    try:
        assert await db.schema_version() == LATEST
        assert await db.integrity_check() == "ok"
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):  # on again after it
            async with db.transaction() as unit:
                await unit.cases.create(new_case(999, 999, None))
        assert {k: v for k, v in dump(old).items() if not _made_later(k)} == rows_before
        async with db.transaction() as unit:
            case = await unit.cases.create(new_case(1, 1, None))
    finally:
        await db.close()
    [new_key] = set(dump(old)["case_keys"]) - set(rows_before["case_keys"])
    assert new_key[0] == case.id  # the trigger on cases makes a key, as before
    expected = dict(schema_before)
    cases_sql = expected[("table", "cases")]
    assert cases_sql is not None and OLD_CHECK in cases_sql
    expected[("table", "cases")] = cases_sql.replace(OLD_CHECK, NEW_CHECK)
    assert {k: v for k, v in schema(old).items() if not _made_later(k[1])} == expected
    with sqlite3.connect(old) as raw:
        assert raw.execute("PRAGMA foreign_keys").fetchone() == (0,)  # a new connection's own
        raw.execute("PRAGMA foreign_keys=ON")
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [r[0] for r in raw.execute("SELECT version FROM schema_version")] == list(
            range(1, LATEST + 1)
        )
        raw.execute(CASE_ROW.format(id=201, source="matrix"))
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            raw.execute(CASE_ROW.format(id=202, source=""))
        for statement in ("UPDATE audit SET action = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(statement)
        raw.rollback()


async def test_a_reference_already_broken_does_not_stop_the_upgrade(old: Path) -> None:
    """A row orphaned by hand (the sqlite3 shell has foreign keys off) stays as it was."""
    with sqlite3.connect(old) as raw:
        raw.execute("INSERT INTO notes (case_id, text, at) VALUES (999, 'x', '2026-11-20')")
    db = await Database.open(old)
    try:
        assert await db.schema_version() == LATEST
    finally:
        await db.close()
    with sqlite3.connect(old) as raw:
        assert [r[:3] for r in raw.execute("PRAGMA foreign_key_check")] == [
            ("notes", raw.execute("SELECT max(id) FROM notes").fetchone()[0], "cases")
        ]


async def test_a_rebuild_that_would_orphan_rows_is_undone(old: Path) -> None:
    before = dump(old)
    rebuild = "-- rebuilds a table: foreign keys off\nDELETE FROM cases WHERE id = 1;\n"
    async with aiosqlite.connect(old, isolation_level=None) as raw:
        with pytest.raises(BrokenReferences, match=r"014_x\.sql would leave \d+ row\(s\)"):
            await apply_migration(raw, THIS, "014_x.sql", rebuild, rebuild=True)
        assert not raw.in_transaction
    assert dump(old) == before
    with sqlite3.connect(old) as raw:
        assert raw.execute("SELECT max(version) FROM schema_version").fetchone() == (BEFORE,)


async def test_postgresql_swaps_the_check_and_keeps_every_other_constraint(
    postgres_url: str,
) -> None:
    constraints = (
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = current_schema()::regnamespace"
    )
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(
            "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        for version, name, sql in migrations("storage.migrations.postgres")[:BEFORE]:
            await connection.execute(sql)
            await connection.execute(
                "INSERT INTO schema_version VALUES ($1, $2, '2026-11-01T00:00:00Z')", version, name
            )
        await connection.execute("INSERT INTO schools (id, name, timezone) VALUES (1, 'N', 'UTC')")
        await connection.execute(CASE_ROW.format(id=1, source="telegram"))
        before = {tuple(r) for r in await connection.fetch(constraints)}
        store = await open_store(postgres_url)
        await store.close()
        after = {tuple(r) for r in await connection.fetch(constraints)}
        assert await connection.fetchval("SELECT max(version) FROM schema_version") == LATEST
        assert await connection.fetchval("SELECT source FROM cases WHERE id = 1") == "telegram"
        await connection.execute(CASE_ROW.format(id=2, source="matrix"))
        with pytest.raises(asyncpg.CheckViolationError, match="cases_source_check"):
            await connection.execute(CASE_ROW.format(id=3, source=""))
    finally:
        await connection.close()
    assert before - after == {
        (
            "cases",
            "cases_source_check",
            "CHECK ((source = ANY (ARRAY['slack'::text, 'telegram'::text, 'console'::text])))",
        )
    }
    assert {c for c in after - before if not _made_later(c[0])} == {
        ("cases", "cases_source_check", "CHECK ((source <> ''::text))")
    }
