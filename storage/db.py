"""The SQLite connection: WAL, foreign keys, a busy timeout, one write lock and numbered migrations.

All access goes through `Database.transaction()`, which takes a turn at the connection
(storage/turns.py) and an immediate write transaction, because one aiosqlite connection shares
one transaction between all coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.backup import backup_database
from storage.leadership import Leadership, SoleLeadership
from storage.sql import Dialect
from storage.store import BackupFailed, DatabaseError, Probe, SchemaTooNewError
from storage.times import from_db
from storage.turns import Turns
from storage.unit import Unit

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")

# The first line of a migration that rebuilds a table, SQLite's documented way to change a
# constraint (https://www.sqlite.org/lang_altertable.html#otheralter): it runs with foreign
# keys off, as dropping the old table requires, and its references are checked before it commits.
REBUILDS_A_TABLE = "-- rebuilds a table: foreign keys off"


def migrations(package: str = "storage.migrations") -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped in `package`, in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {versions}")
    return found


__all__ = [
    "REBUILDS_A_TABLE",
    "BrokenReferences",
    "Database",
    "DatabaseError",
    "SchemaTooNewError",
    "apply_migration",
    "migrations",
]


class Database:
    """One open Casebook database file: the SQLite store."""

    def __init__(self, connection: _Connection, path: Path) -> None:
        self._connection = connection
        self._turns = Turns()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating if needed) and migrate the database at `path`."""
        if path.parent and not path.parent.exists():
            raise DatabaseError(f"{path}: the folder {path.parent} does not exist.")
        try:
            connection = await _Connection.open(path)
        except Exception as error:
            raise DatabaseError(f"{path}: cannot open the database ({error}).") from error
        database = cls(connection, path)
        try:
            await database._check_ours()  # before the pragmas, which write to the file
            await database._configure()
            await database._migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        async with self._turns.ordinary():
            await self._connection.close()

    @asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Unit]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        `first` puts it ahead of every ordinary transaction still waiting: for storing new
        events, whose acknowledgement waits on the commit.
        """
        async with self._turns.first() if first else self._turns.ordinary():
            try:
                await self._connection.execute("BEGIN IMMEDIATE")
                with self._connection.inline():
                    yield Unit.over(self._connection)
                await self._connection.execute("COMMIT")
            except BaseException:
                await self._end()
                raise

    @property
    def parallel_writes(self) -> int:
        return 1  # one connection, one write lock

    @property
    def events_waiting(self) -> bool:
        """New events wait to be stored (their acknowledgement waits on it): a transaction that
        does many things should end soon."""
        return self._turns.urgent_waiting

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Unit]:
        """A read-only snapshot (WAL): never takes the write lock, so a long export or report
        from the command line does not hold up a running bot's writes."""
        async with self._turns.ordinary():
            try:
                await self._connection.execute("BEGIN DEFERRED")
                yield Unit.over(self._connection)
            finally:
                await self._end()

    async def _end(self) -> None:
        """Roll back whatever is open, before another turn may use the connection.

        Always asked for, never judged by `in_transaction`: a cancelled BEGIN or COMMIT still
        runs on the connection's thread, after the check would have been made. The ROLLBACK
        queues behind it, so it ends that transaction; with none open it fails, harmlessly.
        The error the caller sees is the one that brought it here, never this one.
        """
        with contextlib.suppress(sqlite3.OperationalError):
            await self._connection.execute("ROLLBACK")

    @property
    def name(self) -> str:
        return str(self.path)

    def leadership(self) -> Leadership:
        """A database file serves one process, which always runs the scheduled work."""
        return SoleLeadership()

    async def schema_version(self) -> int:
        async with self._turns.ordinary():
            return await _version(self._connection)

    async def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    async def backup(self, target: Path) -> str:
        """An online copy with SQLite's backup API, on its own connection: the bot keeps writing."""
        try:
            return await asyncio.to_thread(backup_database, self.path, target)
        except sqlite3.Error as error:
            raise BackupFailed(str(error)) from error

    async def probe(self, seconds: float) -> Probe:
        """Write a row and read the inbox's age on a connection of its own, so a transaction
        queued on the shared one cannot delay the answer past `seconds`."""
        return await asyncio.to_thread(_probe, self.path, seconds)

    async def compact(self) -> None:
        """VACUUM and truncate the WAL: removed data is gone from the files, not just unlinked."""
        async with self._turns.ordinary():
            await self._connection.execute("VACUUM")
            await self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def integrity_check(self) -> str:
        async with (
            self._turns.ordinary(),
            self._connection.execute("PRAGMA integrity_check") as cursor,
        ):
            row = await cursor.fetchone()
        return str(row[0]) if row else "no answer"

    async def _configure(self) -> None:
        self._connection.row_factory = aiosqlite.Row
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=5000",
                "PRAGMA secure_delete=ON",  # deleted report text is overwritten, not left behind
            ):
                await self._connection.execute(pragma)
        except aiosqlite.DatabaseError as error:
            raise DatabaseError(f"{self.path}: not a Casebook database ({error}).") from error

    async def _check_ours(self) -> None:
        """Refuse, in one line, a file that is damaged or belongs to another program, before
        anything is written to it. An empty file is a new Casebook database."""
        try:
            async with self._connection.execute("PRAGMA quick_check(1)") as cursor:
                row = await cursor.fetchone()
            if row is None or row[0] != "ok":
                raise DatabaseError(
                    f"{self.path}: the file is damaged ({row[0] if row else 'no answer'}); "
                    "restore it from a backup."
                )
            async with self._connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ) as cursor:
                tables = {str(r[0]) for r in await cursor.fetchall()}
            if not tables:
                return
            if "schema_version" not in tables:
                raise DatabaseError(
                    f"{self.path}: not a Casebook database (it holds other tables, such as "
                    f"{', '.join(sorted(tables)[:3])})."
                )
            async with self._connection.execute(
                "SELECT count(*) FROM pragma_table_info('schema_version')"
                " WHERE name IN ('version', 'name', 'applied_at')"
            ) as cursor:
                columns = await cursor.fetchone()
            async with self._connection.execute(
                "SELECT count(*) FROM schema_version WHERE typeof(version) <> 'integer'"
            ) as cursor:
                odd = await cursor.fetchone()
        except sqlite3.DatabaseError as error:
            raise DatabaseError(f"{self.path}: not a Casebook database ({error}).") from error
        if columns is None or columns[0] != 3 or odd is None or odd[0] != 0:
            raise DatabaseError(
                f"{self.path}: not a Casebook database (its schema_version table is not ours)."
            )

    async def _migrate(self) -> None:
        known = migrations()
        async with self._turns.ordinary():
            await self._connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = await _version(self._connection)
            newest = known[-1][0] if known else 0
            if current > newest:
                raise SchemaTooNewError(
                    f"{self.path}: the database is at schema version {current}, but this Casebook "
                    f"knows only up to {newest}. Upgrade Casebook before using this file."
                )
            for version, name, sql in known:
                if version <= current:
                    continue
                log.info("applying migration %s", name)
                if sql.splitlines()[:1] != [REBUILDS_A_TABLE]:
                    await apply_migration(self._connection, version, name, sql)
                    continue
                # Only outside a transaction does this pragma take effect.
                await self._connection.execute("PRAGMA foreign_keys=OFF")
                try:
                    await apply_migration(self._connection, version, name, sql, rebuild=True)
                except BrokenReferences as error:
                    raise DatabaseError(f"{self.path}: {error}") from error
                finally:
                    await self._connection.execute("PRAGMA foreign_keys=ON")


class _Connection(aiosqlite.Connection):
    """aiosqlite's connection, except that inside a write transaction statements run on the
    calling thread.

    Once BEGIN IMMEDIATE holds the write lock (WAL), a statement waits for nobody: it reads and
    writes pages in memory and takes microseconds, while each trip to aiosqlite's thread and back
    costs a wake-up of each thread, which on a busy machine is far more. A report takes some 20
    statements. What can wait stays on the thread: BEGIN (for another process's lock), COMMIT
    (the sync to disk), and everything outside a write transaction (read snapshots, exports).
    """

    _inline = False

    @property
    def dialect(self) -> Dialect:
        return Dialect.SQLITE

    @classmethod
    async def open(cls, path: Path) -> _Connection:
        def connect() -> sqlite3.Connection:
            # Used from two threads, never at once: Turns hands out the connection.
            return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        connection = cls(connect, 64)
        try:
            await connection
        except BaseException:
            # aiosqlite asks its thread to stop but does not wait for it: it would then report
            # to an event loop closed by then ("Event loop is closed" after the error).
            await asyncio.to_thread(connection._thread.join)
            raise
        return connection

    @contextlib.contextmanager
    def inline(self) -> Iterator[None]:
        self._inline = True
        try:
            yield
        finally:
            self._inline = False

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._inline and self._connection is not None:
            return fn(*args, **kwargs)
        result: T = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        return result

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Any:
        """Inside a write transaction, sqlite3's own statement behind the few awaitable methods
        repositories use: aiosqlite's wrappers (a result, a cursor, and a call for each of
        running, fetching and closing) cost more than a report's statements themselves."""
        if self._inline and self._connection is not None:
            return _InlineStatement(self._connection, sql, parameters)
        return super().execute(sql, parameters)


class _InlineStatement:
    """A statement run on the calling thread when it is awaited or entered."""

    __slots__ = ("_connection", "_cursor", "_parameters", "_sql")

    def __init__(self, connection: sqlite3.Connection, sql: str, parameters: Any) -> None:
        self._connection = connection
        self._sql = sql
        self._parameters = parameters
        self._cursor: _InlineCursor | None = None

    def _run(self) -> _InlineCursor:
        return _InlineCursor(self._connection.execute(self._sql, self._parameters or ()))

    async def _ran(self) -> _InlineCursor:
        return self._run()

    def __await__(self) -> Generator[Any, None, _InlineCursor]:
        return self._ran().__await__()

    async def __aenter__(self) -> _InlineCursor:
        self._cursor = self._run()
        return self._cursor

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if self._cursor is not None:
            self._cursor.close()


class _InlineCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def row_factory(self) -> Any:
        return self._cursor.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._cursor.row_factory = factory

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchmany(self, size: int) -> list[Any]:
        return self._cursor.fetchmany(size)

    def close(self) -> None:
        self._cursor.close()


def _probe(path: Path, seconds: float) -> Probe:
    try:
        with contextlib.closing(
            sqlite3.connect(path, timeout=seconds, isolation_level=None)
        ) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "INSERT INTO health_probe (id, at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%SZ'))"
                " ON CONFLICT (id) DO UPDATE SET at = excluded.at"
            )
            connection.execute("COMMIT")
            row = connection.execute(
                "SELECT MIN(received_at) FROM inbox"
                " WHERE processed_at IS NULL AND set_aside_at IS NULL"
            ).fetchone()
    except sqlite3.Error as error:
        return Probe(str(error) or type(error).__name__, None)
    return Probe("", None if row is None or row[0] is None else from_db(row[0]))


class BrokenReferences(Exception):
    """A migration that rebuilt a table left rows referring to rows that are not there."""


async def apply_migration(
    connection: aiosqlite.Connection, version: int, name: str, sql: str, *, rebuild: bool = False
) -> None:
    """One migration in one transaction, recorded in schema_version.

    A `rebuild` runs with foreign keys off, so nothing checks its references as it goes: before
    committing, it must leave no reference broken that was not broken before (a row orphaned by
    hand in an old file is no reason to refuse to start).
    """
    await connection.execute("BEGIN IMMEDIATE")
    try:
        before = await _broken_references(connection) if rebuild else set()
        for statement in _statements(sql):
            await connection.execute(statement)
        if rebuild:
            broken = await _broken_references(connection) - before
            if broken:
                table, rowid, parent = min(broken, key=repr)
                raise BrokenReferences(
                    f"migration {name} would leave {len(broken)} row(s) referring to rows that"
                    f" are not there ({table} row {rowid} refers to {parent}); nothing was"
                    " changed."
                )
        await connection.execute(
            "INSERT INTO schema_version (version, name, applied_at)"
            " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            (version, name),
        )
    except BaseException:
        await connection.execute("ROLLBACK")
        raise
    await connection.execute("COMMIT")


async def _broken_references(connection: aiosqlite.Connection) -> set[tuple[str, object, str]]:
    """(table, rowid, parent table) of every row whose foreign key names no row."""
    async with connection.execute("PRAGMA foreign_key_check") as cursor:
        return {(str(r[0]), r[1], str(r[2])) for r in await cursor.fetchall()}


async def _version(connection: aiosqlite.Connection) -> int:
    async with connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


def _statements(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buffer:
            continue
        buffer.append(line)
        candidate = "\n".join(buffer).strip()
        if candidate.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    leftover = "\n".join(buffer).strip()
    if leftover:
        statements.append(leftover)
    return statements
