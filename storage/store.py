"""The store: what the rest of Casebook asks of a database, whichever engine holds it.

SQLite (storage/db.py) keeps one school's cases in one file; PostgreSQL (storage/postgres.py)
serves many schools and several processes. Both give the same units of repositories, so
handlers, the CLI and the bot never name an engine; `open_store` picks one from a path or URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from storage.leadership import Leadership
from storage.unit import Unit

POSTGRES_SCHEMES = ("postgresql", "postgres")


class SchemaTooNewError(Exception):
    """The database was written by a newer Casebook; using it could lose data."""


class DatabaseError(Exception):
    """The database cannot be opened as a Casebook database."""


class BackupFailed(Exception):
    """The copy could not be written."""


class BackupUnsupported(Exception):
    """This store is backed up with its own tools, not by Casebook."""


@dataclass(frozen=True)
class Probe:
    """Whether the database took a write (error is "" if so) and the oldest unhandled event."""

    error: str
    oldest_pending: datetime | None


class Store(Protocol):
    """One open Casebook database."""

    def transaction(self, *, first: bool = False) -> AbstractAsyncContextManager[Unit]:
        """A write transaction: committed when the block ends, rolled back if it raises.
        `first` is for storing new events, whose acknowledgement waits on the commit."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Unit]:
        """A read-only snapshot that does not hold up writers: for exports and reports."""
        ...

    @property
    def events_waiting(self) -> bool:
        """New events wait to be stored: a transaction that does many things should end soon."""
        ...

    @property
    def parallel_writes(self) -> int:
        """How many write transactions make progress side by side: one on SQLite, whose writes
        take turns; more on a server, where each waits on its own round trips."""
        ...

    @property
    def name(self) -> str:
        """Where the database is, fit to print and log (a URL never shows its password)."""
        ...

    def leadership(self) -> Leadership:
        """Who runs the scheduled work: one process at a time among those sharing the store."""
        ...

    async def probe(self, seconds: float) -> Probe: ...
    async def schema_version(self) -> int: ...
    async def server_version(self) -> str: ...
    async def compact(self) -> None: ...
    async def integrity_check(self) -> str: ...
    async def backup(self, target: Path) -> str:
        """A consistent copy in the new file `target`; returns its integrity check. Raises
        BackupUnsupported where the engine's own tools do it better."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where a store lives: a SQLite file, or a PostgreSQL URL."""

    path: Path | None = None
    url: str | None = None

    @classmethod
    def parse(cls, text: str | Path) -> Target:
        """A path, `sqlite:///relative.db`, `sqlite:////absolute.db` or `postgresql://…`."""
        if isinstance(text, Path):
            return cls(path=text)
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme in POSTGRES_SCHEMES:
            return cls(url=text)
        if scheme == "sqlite":
            return cls(path=_sqlite_path(text))
        if scheme:
            raise DatabaseError(
                f"{redact(text)}: use a file path, sqlite:///path or postgresql://…"
            )
        return cls(path=Path(text))

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else redact(self.url or "")


def _sqlite_path(url: str) -> Path:
    """The file a `sqlite:` URL names, read as SQLAlchemy reads one: the path after the third
    slash, so `sqlite:///cases.db` is relative to the current folder (or to the config file, in
    one) and `sqlite:////srv/cases.db` is absolute. `sqlite://cases.db`, taken as relative
    before, still is."""
    parts = urlsplit(url)
    name = unquote(parts.netloc or parts.path.removeprefix("/"))
    if parts.query or parts.fragment or (parts.netloc and parts.path) or not name:
        raise DatabaseError(
            f"{redact(url)}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return Path(name)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def is_transient(error: BaseException) -> bool:
    """A database that is locked, busy, full, unreachable or restarting: the same work may well
    succeed later, so it is retried rather than blamed on its input."""
    if isinstance(error, sqlite3.OperationalError):
        return True
    postgres = sys.modules.get("storage.postgres")  # loaded only where PostgreSQL is in use
    return postgres is not None and bool(postgres.is_transient(error))


@dataclass(frozen=True)
class StoreFacts:
    """What a database server holds, found without changing anything: for check-config."""

    server: str
    schema_version: int | None  # None: no Casebook tables yet
    newest: int  # the newest schema this Casebook knows


async def inspect_store(url: str) -> StoreFacts:
    """Connect to a PostgreSQL database and say what is there; migrates nothing."""
    from storage.postgres import inspect

    return await inspect(url)


async def open_store(target: str | Path | Target) -> Store:
    """Open (creating and migrating if needed) the store at a path or URL."""
    where = target if isinstance(target, Target) else Target.parse(target)
    if where.url is not None:
        from storage.postgres import PostgresStore

        return await PostgresStore.open(where.url)
    assert where.path is not None
    from storage.db import Database

    return await Database.open(where.path)


_NAMES = (
    "SELECT s.name, s.timezone FROM hosted_schools h JOIN schools s ON s.id = h.school_id"
    " ORDER BY s.id"
)


async def hosted_names(target: Path | str) -> list[tuple[str, str]]:
    """(name, timezone) of each school kept in the database (storage/hosted.py), read without
    migrating or writing anything, for check-config; none where the database or its table does
    not exist yet."""
    if isinstance(target, Path):
        return await asyncio.to_thread(_sqlite_names, target)
    import asyncpg

    connection = await asyncpg.connect(target, timeout=10)
    try:
        if not await connection.fetchval("SELECT to_regclass('hosted_schools') IS NOT NULL"):
            return []
        return [(row[0], row[1]) for row in await connection.fetch(_NAMES)]
    finally:
        await connection.close()


def _sqlite_names(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hosted_schools'"
        ).fetchone()
        return [] if found is None else [(str(r[0]), str(r[1])) for r in db.execute(_NAMES)]
