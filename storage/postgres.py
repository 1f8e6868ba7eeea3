"""The PostgreSQL store, through asyncpg: a pool of connections, one per transaction.

Several Casebook processes may share one database, so nothing here relies on being alone: a
transaction holds its own pooled connection, migrations take an advisory lock, and the
repositories claim work with row locks (SKIP LOCKED) where SQLite needs none. Statements are the
repositories' own, with `?` placeholders numbered for asyncpg here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from storage.db import migrations
from storage.leadership import Leadership
from storage.postgres_leadership import AdvisoryLeadership
from storage.sql import Cursor, Dialect
from storage.store import (
    BackupUnsupported,
    DatabaseError,
    Probe,
    SchemaTooNewError,
    StoreFacts,
    redact,
)
from storage.times import from_db, to_db
from storage.unit import Unit

log = logging.getLogger(__name__)

POOL_SIZE = 10
CONNECT_SECONDS = 10.0
# Every call has a deadline, so a process cut off from the server fails and retries instead of
# hanging: a statement (the driver's command timeout), taking a pooled connection, and handing
# one back (a connection that will not roll back or reset in time is closed instead).
STATEMENT_SECONDS = 30.0
ACQUIRE_SECONDS = 10.0
RELEASE_SECONDS = 2.0
LONG_SECONDS = 3600.0  # migrations and VACUUM, which may rightly take long on a large database
# What each pooled connection's session is set to, so that a process that stops answering
# (frozen, or its network cut) holds nothing others wait for for more than a few seconds: the
# server ends a transaction left idle (its locks, its claimed items and its school's turn go
# with it), a lock is waited for only so long, and keepalives find a peer that is gone.
SESSION_SETTINGS = {
    "idle_in_transaction_session_timeout": "4000",  # ms
    "lock_timeout": "5000",  # ms: longer than the above, so a dead holder's lock comes first
    "tcp_keepalives_idle": "10",  # seconds
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}
# pg_advisory_xact_lock key for applying migrations: one process at a time.
_MIGRATION_LOCK = 0x0CA5EB00C

# What a lost, restarting or overloaded server raises: the same work may succeed later.
_TRANSIENT_STATES = (
    "08",  # connection exception
    "40001",  # serialization failure
    "40P01",  # deadlock detected
    "53",  # insufficient resources (disk full, too many connections)
    "57P01",  # admin shutdown
    "57P02",  # crash shutdown
    "57P03",  # cannot connect now (starting up, shutting down)
    "55P03",  # lock not available
)


# What a pooled connection that the server has dropped raises at its next statement: closed, or
# its protocol caught mid-message by the server's goodbye.
_BROKEN_CONNECTION = (
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
)


def is_transient(error: BaseException) -> bool:
    """A lost connection, a server restarting or refusing connections, a serialization failure or
    a deadlock: nothing about the work itself."""
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        return state.startswith(_TRANSIENT_STATES)
    # A connection that broke under a statement (reset, closed, timed out) or could not be made.
    # The pool takes a connection back the moment it closes, even one a transaction holds, so
    # the transaction's next call on it says it was "released back to the pool".
    return (
        isinstance(error, ConnectionError | TimeoutError)
        or (
            isinstance(error, asyncpg.exceptions.InterfaceError)
            and ("closed" in str(error) or _RELEASED in str(error))
        )
        or isinstance(error, asyncpg.exceptions.InternalClientError)
    )


_RELEASED = "released back to the pool"


async def _rolled_back(connection: Any, transaction_: Any) -> bool:
    """Roll back within RELEASE_SECONDS; False when the connection is gone or did not answer."""
    if _lost(connection):
        return False
    try:
        async with asyncio.timeout(RELEASE_SECONDS):
            await transaction_.rollback()
    except Exception:
        return False
    return not _lost(connection)


def _lost(connection: Any) -> bool:
    """The pooled connection is closed, or the pool took it back as it closed."""
    try:
        return bool(connection.is_closed())
    except asyncpg.exceptions.InterfaceError:
        return True


class PostgresStore:
    """One Casebook database on a PostgreSQL server."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self._url = url
        self._first_waiting = 0

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        """Connect, check the database is Casebook's (or empty), and migrate it."""
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_SECONDS,
                command_timeout=STATEMENT_SECONDS,
                server_settings=SESSION_SETTINGS,
            )
        except Exception as error:
            raise DatabaseError(f"{redact(url)}: cannot connect ({_why(error, url)}).") from error
        store = cls(pool, url)
        try:
            await store._migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    @property
    def name(self) -> str:
        return redact(self._url)

    @property
    def parallel_writes(self) -> int:
        """Each transaction has a pooled connection of its own."""
        return POOL_SIZE

    @property
    def events_waiting(self) -> bool:
        return self._first_waiting > 0

    @asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Unit]:
        """One pooled connection in one transaction (read committed; the repositories lock what
        they claim)."""
        if first:
            self._first_waiting += 1
        try:
            connection = await self._acquire()
        finally:
            if first:
                self._first_waiting -= 1
        connection, transaction_ = await self._begin(connection)
        healthy = False
        try:
            yield Unit.over(PostgresConnection(connection))
        except BaseException:
            healthy = await _rolled_back(connection, transaction_)
            raise
        else:
            await transaction_.commit()
            healthy = True
        finally:
            await self._release(connection, healthy)

    async def _acquire(self) -> Any:
        return await self._pool.acquire(timeout=ACQUIRE_SECONDS)

    async def _release(self, connection: Any, healthy: bool) -> None:
        """Hand a connection back. One whose transaction did not end cleanly may be mid-statement
        on a server that does not answer: it is closed, not reset (a reset would wait on it)."""
        if not healthy and not _lost(connection):
            connection.terminate()
        try:
            await self._pool.release(connection, timeout=RELEASE_SECONDS)
        except Exception as error:  # the pool closed it; the next acquire makes another
            log.info("a connection could not be reset (%s); closed", type(error).__name__)

    async def _begin(self, connection: Any) -> tuple[Any, Any]:
        """BEGIN on `connection`, or, if the server dropped it while it sat idle in the pool (a
        restart), on a fresh one: nothing has run on it yet, so trying another loses nothing.
        The connection is back in the pool if this raises."""
        lost = 0
        while True:
            transaction_ = connection.transaction()
            try:
                await transaction_.start()
                return connection, transaction_
            except _BROKEN_CONNECTION as error:
                await self._release(connection, healthy=False)
                lost += 1
                if lost > POOL_SIZE:
                    raise
                log.info("a pooled connection was lost (%s); taking another", type(error).__name__)
            except BaseException:
                await self._release(connection, healthy=False)
                raise
            connection = await self._acquire()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Unit]:
        """A repeatable-read, read-only snapshot: an export sees one moment and blocks no one."""
        async with (
            self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            # An export may pause between batches as long as its reader takes.
            await connection.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            yield Unit.over(PostgresConnection(connection))

    def leadership(self) -> Leadership:
        """The advisory lock on a connection of its own (storage/postgres_leadership.py)."""
        return AdvisoryLeadership(self._url)

    async def schema_version(self) -> int:
        async with self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection:
            return int(await connection.fetchval(_VERSION))

    async def server_version(self) -> str:
        async with self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection:
            return f"PostgreSQL {await connection.fetchval('SHOW server_version')}"

    async def probe(self, seconds: float) -> Probe:
        """Take a pooled connection and write a row within `seconds`: a lost server, a full pool
        or a full disk all fail it."""
        try:
            connection = await self._pool.acquire(timeout=seconds)
        except TimeoutError:
            return Probe(f"no write within {seconds:g}s", None)
        except Exception as error:
            return Probe(_why(error, self._url), None)
        healthy = False
        try:
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO health_probe (id, at) VALUES (1, $1)"
                    " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    _now_text(),
                    timeout=seconds,
                )
                oldest = await connection.fetchval(
                    "SELECT MIN(received_at) FROM inbox"
                    " WHERE processed_at IS NULL AND set_aside_at IS NULL",
                    timeout=seconds,
                )
            healthy = True
        except TimeoutError:
            return Probe(f"no write within {seconds:g}s", None)
        except Exception as error:
            return Probe(_why(error, self._url), None)
        finally:
            await self._release(connection, healthy)
        return Probe("", None if oldest is None else from_db(oldest))

    async def compact(self) -> None:
        """VACUUM, so the space of removed rows is reused; the server overwrites it in time."""
        async with self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection:
            await connection.execute("VACUUM", timeout=LONG_SECONDS)

    async def integrity_check(self) -> str:
        """The server checks its own pages; here, only that the database answers."""
        async with self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection:
            await connection.fetchval("SELECT 1")
        return "ok"

    async def backup(self, target: Path) -> str:
        raise BackupUnsupported(
            "a PostgreSQL database is backed up with pg_dump (or the server's own backups), "
            f"for example: pg_dump --format=custom --file={target} DATABASE"
        )

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._pool.close(), CONNECT_SECONDS)
        except TimeoutError:
            self._pool.terminate()

    async def _migrate(self) -> None:
        known = migrations("storage.migrations.postgres")
        newest = known[-1][0] if known else 0
        async with (
            self._pool.acquire(timeout=ACQUIRE_SECONDS) as connection,
            connection.transaction(),
        ):
            # Two processes starting together apply each migration once; the second waits for
            # as long as the first takes.
            await connection.execute("SET LOCAL lock_timeout = 0")
            await connection.execute(
                "SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK, timeout=LONG_SECONDS
            )
            tables = {
                str(r[0])
                for r in await connection.fetch(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema()"
                )
            }
            if tables and "schema_version" not in tables:
                raise DatabaseError(
                    f"{self.name}: not a Casebook database (it holds other tables, such as "
                    f"{', '.join(sorted(tables)[:3])})."
                )
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = int(await connection.fetchval(_VERSION))
            if current > newest:
                raise SchemaTooNewError(
                    f"{self.name}: the database is at schema version {current}, but this "
                    f"Casebook knows only up to {newest}. Upgrade Casebook before using it."
                )
            for version, name, sql in known:
                if version <= current:
                    continue
                log.info("applying migration %s", name)
                async with connection.transaction():
                    await connection.execute(sql, timeout=LONG_SECONDS)
                    await connection.execute(
                        "INSERT INTO schema_version (version, name, applied_at)"
                        " VALUES ($1, $2, $3)",
                        version,
                        name,
                        _now_text(),
                    )


async def inspect(url: str) -> StoreFacts:
    """The server's version and the database's schema version, on one short connection."""
    try:
        connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except Exception as error:
        raise DatabaseError(f"{redact(url)}: cannot connect ({_why(error, url)}).") from error
    try:
        server = await connection.fetchval("SHOW server_version")
        ours = await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
        version = int(await connection.fetchval(_VERSION)) if ours else None
    finally:
        await connection.close()
    newest = migrations("storage.migrations.postgres")[-1][0]
    return StoreFacts(f"PostgreSQL {server}", version, newest)


class PostgresConnection:
    """One asyncpg connection as the repositories see it (storage/sql.py)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    @property
    def dialect(self) -> Dialect:
        return Dialect.POSTGRES

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Statement:
        return _Statement(self._connection, numbered(sql), tuple(parameters))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> None:
        rows = [tuple(row) for row in parameters]
        if rows:
            await self._connection.executemany(numbered(sql), rows)


class _Statement:
    _rows: _Rows

    def __init__(self, connection: asyncpg.Connection, sql: str, parameters: Sequence[Any]):
        self._connection = connection
        self._sql = sql
        self._parameters = parameters

    def __await__(self) -> Generator[Any, None, Any]:
        done: Generator[Any, None, Any] = self._connection.execute(
            self._sql, *self._parameters
        ).__await__()
        return done

    async def __aenter__(self) -> Cursor:
        self._rows = _Rows(self._connection, self._sql, self._parameters)
        return self._rows

    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            await self._rows.run()  # a statement entered and never read still happens


class _Rows:
    """The rows of a statement. fetchone and fetchall read them all in one round trip;
    fetchmany reads batch by batch through a server-side cursor, so an export of any size never
    sits in memory whole. asyncpg's records read by position and by name already."""

    row_factory: Any = None

    def __init__(self, connection: asyncpg.Connection, sql: str, parameters: Sequence[Any]):
        self._connection = connection
        self._sql = sql
        self._parameters = parameters
        self._rows: list[Any] | None = None
        self._cursor: Any = None
        self._next = 0

    async def run(self) -> None:
        if self._rows is None and self._cursor is None:
            self._rows = list(await self._connection.fetch(self._sql, *self._parameters))

    async def fetchone(self) -> Any:
        batch = await self.fetchmany(1) if self._cursor is not None else await self._take(1)
        return batch[0] if batch else None

    async def fetchall(self) -> list[Any]:
        if self._cursor is not None:
            rest: list[Any] = []
            while batch := await self.fetchmany(1000):
                rest.extend(batch)
            return rest
        return await self._take(None)

    async def fetchmany(self, size: int) -> list[Any]:
        if self._rows is not None:
            return await self._take(size)
        if self._cursor is None:
            self._cursor = await self._connection.cursor(self._sql, *self._parameters)
        return list(await self._cursor.fetch(size))

    async def _take(self, size: int | None) -> list[Any]:
        await self.run()
        assert self._rows is not None
        end = len(self._rows) if size is None else self._next + size
        batch = self._rows[self._next : end]
        self._next += len(batch)
        return batch


@functools.lru_cache(maxsize=4096)
def numbered(sql: str) -> str:
    """`?` placeholders as $1, $2…, outside quoted text; remembered, as statements repeat."""
    parts: list[str] = []
    count = 0
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "?" and not quoted:
            count += 1
            parts.append(f"${count}")
        else:
            parts.append(char)
    return "".join(parts)


_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_version"


def _now_text() -> str:
    return to_db(datetime.now(UTC))


def _why(error: BaseException, url: str) -> str:
    """The error's text, with the URL's password taken out should the driver quote it."""
    text = str(error) or type(error).__name__
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    return urlsplit(url).password
