"""`casebook db copy`: a whole database into an empty one, ids, keys and audit included."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from storage.store import open_store
from storage.tables import NOT_DATA, TABLES
from tests.busy_database import fill
from tests.chat import Chat, FakeClock
from tests.conftest import two_schools
from tests.test_cli import casebook


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table that is data, in a fixed order."""
    with sqlite3.connect(path) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: sorted(db.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
            for name in names
            if name not in NOT_DATA
        }


@pytest.fixture
def busy(tmp_path: Path) -> Path:
    path = tmp_path / "busy.db"
    asyncio.run(fill(path))
    return path


def export(capsys: pytest.CaptureFixture[str], where: Path | str) -> str:
    """`casebook export --format json` of a file or a PostgreSQL URL."""
    code, out, _ = casebook(capsys, "export", "--format", "json", "--db", str(where))
    assert code == 0
    return out


def test_a_copy_holds_every_row_of_every_table(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    code, out, err = casebook(capsys, "db", "copy", str(busy), str(copy))
    assert code == 0, err
    assert err.strip() == (
        f"casebook: copied {busy} to {copy}; the row counts of all {len(TABLES)} tables match"
    )
    header, *lines = out.splitlines()
    assert header.split("\t") == ["table", "rows in source", "rows in target"]
    counted = dict(line.split("\t", 1) for line in lines)
    assert set(counted) == {table.name for table in TABLES}
    original = dump(busy)
    assert dump(copy) == original
    assert all(original[name] for name in ("cases", "audit", "notes", "reminders", "digests"))
    with sqlite3.connect(copy) as db:
        assert db.execute("SELECT count(*) FROM cases WHERE merged_into IS NOT NULL").fetchone()[0]
    assert counted["cases"] == f"{len(original['cases'])}\t{len(original['cases'])}"


def test_a_copy_that_lost_rows_is_reported_and_exits_1(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    asyncio.run(_migrated(copy))
    with sqlite3.connect(copy) as db:  # a target that silently drops every note written to it
        db.execute(
            "CREATE TRIGGER drop_notes BEFORE INSERT ON notes BEGIN SELECT RAISE(IGNORE); END"
        )
    code, out, err = casebook(capsys, "db", "copy", str(busy), str(copy))
    assert code == 1
    assert "the row counts differ for notes;" in err and "do not use the copy" in err
    counted = dict(line.split("\t", 1) for line in out.splitlines()[1:])
    source_notes, target_notes = counted["notes"].split("\t")[:2]
    assert int(source_notes) > 0 and target_notes == "0"


async def _migrated(path: Path) -> None:
    store = await open_store(path)
    await store.close()


def test_the_export_of_a_copy_and_of_a_copy_of_it_is_the_same(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    assert casebook(capsys, "db", "copy", str(busy), str(first))[0] == 0
    assert casebook(capsys, "db", "copy", str(first), str(second))[0] == 0
    original = export(capsys, busy)
    assert '"case_key"' in original and '"deployment"' in original
    assert export(capsys, first) == original
    assert export(capsys, second) == original


def test_a_target_that_holds_data_is_refused_and_left_as_it_was(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    asyncio.run(fill(other))
    before = dump(other)
    code, out, err = casebook(capsys, "db", "copy", str(busy), str(other))
    assert code == 2
    assert out == ""
    assert err == (
        f"casebook: {other} is not empty (its schools table has 2 row(s)); "
        "copy into a new, empty database.\n"
    )
    assert dump(other) == before


def test_a_missing_source_is_one_line_and_makes_no_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing, target = tmp_path / "missing.db", tmp_path / "target.db"
    code, _, err = casebook(capsys, "db", "copy", str(missing), str(target))
    assert (code, err) == (2, f"casebook: there is no database at {missing}.\n")
    assert not missing.exists() and not target.exists()


def test_the_copy_goes_on_from_the_copied_ids(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    assert casebook(capsys, "db", "copy", str(busy), str(copy))[0] == 0
    asyncio.run(report(copy, "https://youtu.be/new"))
    with sqlite3.connect(busy) as db:
        last_id, last_number = db.execute(
            "SELECT max(id), max(number) FILTER (WHERE school_id = 1) FROM cases"
        ).fetchone()
    with sqlite3.connect(copy) as db:
        new = db.execute(
            "SELECT c.id, c.number, k.key FROM cases c JOIN case_keys k ON k.case_id = c.id"
            " ORDER BY c.id DESC LIMIT 1"
        ).fetchone()
        keys = db.execute("SELECT count(DISTINCT key), count(*) FROM case_keys").fetchone()
        cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert new[:2] == (last_id + 1, last_number + 1)
    assert keys == (cases, cases)


async def report(where: str | Path, text: str) -> None:
    database = await open_store(where)
    try:
        await Chat(database, two_schools(Path("unused.db")), FakeClock()).say(text, user="new")
    finally:
        await database.close()


def test_sqlite_to_postgresql_and_back_keeps_the_export(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path, postgres_url: str
) -> None:
    back = tmp_path / "back.db"
    code, out, err = casebook(capsys, "db", "copy", str(busy), postgres_url)
    assert code == 0, err
    assert "DIFFERENT" not in out and err.endswith(f"all {len(TABLES)} tables match\n")
    original = export(capsys, busy)
    assert export(capsys, postgres_url) == original
    code, _, err = casebook(capsys, "db", "copy", postgres_url, str(back))
    assert code == 0, err
    assert export(capsys, back) == original
    assert dump(back) == dump(busy)


def test_a_postgresql_copy_goes_on_from_the_copied_ids(
    capsys: pytest.CaptureFixture[str], busy: Path, postgres_url: str
) -> None:
    assert casebook(capsys, "db", "copy", str(busy), postgres_url)[0] == 0
    asyncio.run(report(postgres_url, "https://youtu.be/new"))
    with sqlite3.connect(busy) as db:
        last_id, last_number = db.execute(
            "SELECT max(id), max(number) FILTER (WHERE school_id = 1) FROM cases"
        ).fetchone()
        last_audit = db.execute("SELECT max(id) FROM audit").fetchone()[0]

    async def newest() -> tuple[object, ...]:
        connection = await asyncpg.connect(postgres_url)
        try:
            row = await connection.fetchrow(
                "SELECT c.id, c.number, (SELECT max(id) FROM audit),"
                " (SELECT count(DISTINCT key) = count(*) FROM case_keys)"
                " FROM cases c ORDER BY c.id DESC LIMIT 1"
            )
            return tuple(row)
        finally:
            await connection.close()

    new_id, number, audit, keys_unique = asyncio.run(newest())
    assert (new_id, number) == (last_id + 1, last_number + 1)
    assert audit > last_audit and keys_unique


def test_a_postgresql_target_with_data_is_refused(
    capsys: pytest.CaptureFixture[str], busy: Path, tmp_path: Path, postgres_url: str
) -> None:
    assert casebook(capsys, "db", "copy", str(busy), postgres_url)[0] == 0
    code, out, err = casebook(capsys, "db", "copy", str(busy), postgres_url)
    assert (code, out) == (2, "")
    assert err.startswith("casebook: postgresql://") and "is not empty (its schools table" in err
    assert err.count("\n") == 1
