"""The store interface: the bot and the repositories never name a database engine, and a path or
URL picks the store."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from storage.store import DatabaseError, Target, redact
from storage.times import from_db, to_db

ROOT = Path(__file__).resolve().parent.parent
DRIVERS = {
    "aiosqlite",
    "asyncpg",
    "sqlite3",
    "storage.db",
    "storage.postgres",
    "storage.postgres_leadership",
    "storage.backup",
}
# The modules that are a store, rather than use one.
ENGINES = {"db.py", "postgres.py", "postgres_leadership.py", "backup.py", "store.py"}


def _modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _named_engines(paths: list[Path]) -> dict[str, list[str]]:
    return {
        str(path.relative_to(ROOT)): sorted(_modules(path) & DRIVERS)
        for path in paths
        if _modules(path) & DRIVERS
    }


def test_bot_and_handlers_depend_on_the_store_interface_only() -> None:
    paths = sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "handlers").rglob("*.py"))
    assert _named_engines(paths) == {}


def test_repositories_serve_every_store() -> None:
    paths = [p for p in sorted((ROOT / "storage").glob("*.py")) if p.name not in ENGINES]
    assert _named_engines(paths) == {}


def test_the_check_sees_an_import_of_a_driver(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import aiosqlite\n", encoding="utf-8")
    assert _modules(module) & DRIVERS == {"aiosqlite"}


@pytest.mark.parametrize(
    ("text", "path", "url"),
    [
        ("casebook.db", Path("casebook.db"), None),
        ("sqlite:///relative.db", Path("relative.db"), None),
        ("sqlite:///var/lib/casebook.db", Path("var/lib/casebook.db"), None),
        ("sqlite:////var/lib/casebook.db", Path("/var/lib/casebook.db"), None),
        ("sqlite:///my%20cases.db", Path("my cases.db"), None),
        ("sqlite://relative.db", Path("relative.db"), None),
        ("postgresql://casebook@db:5432/casebook", None, "postgresql://casebook@db:5432/casebook"),
        ("postgres://casebook@db/casebook", None, "postgres://casebook@db/casebook"),
    ],
)
def test_a_path_or_url_picks_the_store(text: str, path: Path | None, url: str | None) -> None:
    assert Target.parse(text) == Target(path=path, url=url)


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(DatabaseError, match="postgresql://"):
        Target.parse("mysql://root@db/casebook")


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite://host/cases.db", "sqlite:///cases.db?mode=ro"]
)
def test_a_sqlite_url_naming_no_single_file_is_refused(url: str) -> None:
    with pytest.raises(DatabaseError, match="sqlite:////absolute/path"):
        Target.parse(url)


def test_a_password_never_shows() -> None:
    url = "postgresql://casebook:s3cret@db:5432/casebook"
    assert "s3cret" not in redact(url)
    assert redact(url) == "postgresql://casebook:***@db:5432/casebook"
    assert "s3cret" not in str(Target.parse(url))
    assert redact("postgresql://casebook@db/casebook") == "postgresql://casebook@db/casebook"


def test_an_instant_is_written_the_same_in_any_zone_and_every_time() -> None:
    """to_db is cached: an equal instant given in another zone, or naive (taken as UTC), must
    still be written as that instant in UTC, whichever form was written first."""
    paris = datetime(2026, 11, 23, 10, 0, 5, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert to_db(paris) == "2026-11-23T09:00:05.999999Z"
    assert to_db(paris.astimezone(UTC)) == "2026-11-23T09:00:05.999999Z"
    assert to_db(datetime(2026, 11, 23, 10, 0, 5)) == "2026-11-23T10:00:05.000000Z"
    assert to_db(datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)) == "2026-11-23T10:00:05.000000Z"
    # The same wall-clock time in three zones is three instants, however the first was cached.
    plus_one = datetime(2026, 11, 24, 10, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert to_db(plus_one) == "2026-11-24T09:00:05.000000Z"
    assert to_db(plus_one.replace(tzinfo=UTC)) == "2026-11-24T10:00:05.000000Z"
    assert to_db(plus_one.replace(tzinfo=None)) == "2026-11-24T10:00:05.000000Z"


def test_stored_instants_keep_their_microseconds_and_older_whole_seconds_are_never_early() -> None:
    """A retry due 1.5 s from now must not be due 1 s from now; a whole second written by an
    earlier version sorts after every fraction of its second (late, never early)."""
    now = datetime(2026, 11, 23, 9, 0, 5, 700_000, tzinfo=UTC)
    due = now + timedelta(seconds=1.5)
    assert to_db(now + timedelta(seconds=1)) < to_db(due)
    assert to_db(due - timedelta(microseconds=1)) < to_db(due)
    assert from_db(to_db(due)) == due
    older = "2026-11-23T09:00:07Z"
    assert to_db(datetime(2026, 11, 23, 9, 0, 7, 999_999, tzinfo=UTC)) < older
    assert older < to_db(datetime(2026, 11, 23, 9, 0, 8, tzinfo=UTC))
