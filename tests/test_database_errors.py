"""Which database errors are temporary: the worker leaves an event waiting for another try after
one of these (bot/router.py), and delivery retries its record; any other error counts against the
event. A server that drops connections or runs short of resources must never set a report aside."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

import storage.postgres  # noqa: F401  (is_transient asks it only once PostgreSQL is in use)
from storage.store import is_transient


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionFailureError("08006: connection failure"),
        asyncpg.exceptions.ClientCannotConnectError("08001: unable to connect"),
        asyncpg.exceptions.ConnectionDoesNotExistError("08003: connection does not exist"),
        asyncpg.exceptions.InsufficientResourcesError("53000: insufficient resources"),
        asyncpg.exceptions.DiskFullError("53100: disk full"),
        asyncpg.exceptions.TooManyConnectionsError("53300: too many connections"),
        asyncpg.exceptions.LockNotAvailableError("55P03: lock not available"),
        asyncpg.exceptions.CrashShutdownError("57P02: crash shutdown"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_postgresql_connection_and_resource_errors_are_retried_not_failed(
    error: BaseException,
) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("23505"),
        asyncpg.exceptions.UndefinedTableError("42P01"),
        asyncpg.exceptions.DataError("22000"),
        ValueError("a bad payload"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_about_the_work_itself_are_not_retried(error: BaseException) -> None:
    assert not is_transient(error)


def test_sqlite_locked_or_full_is_retried() -> None:
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(sqlite3.OperationalError("database or disk is full"))
    assert not is_transient(sqlite3.IntegrityError("UNIQUE constraint failed"))
