"""The little of a database connection that repositories use, so one set of repositories serves
every store.

Statements are written with `?` placeholders; a store whose driver numbers them ($1, $2…)
translates. Rows read like tuples (by position) and, where a repository asks by name, like
mappings. `dialect` tells a repository which SQL to write where the engines differ.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from enum import Enum
from typing import Any, Protocol


class Dialect(Enum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


def json_fields(dialect: Dialect, *paths: str) -> tuple[str, int]:
    """SQL reading each dotted path ("user.id") out of one JSON text parameter, comma-separated,
    NULL where the text is not JSON; and how many times that parameter is passed for them. For
    columns written once from a row's payload, so nothing has to parse payloads to rank rows."""
    if dialect is Dialect.POSTGRES:
        sql = ", ".join(f"casebook_json(?) #>> '{{{','.join(p.split('.'))}}}'" for p in paths)
        return sql, len(paths)
    sql = ", ".join(f"CASE WHEN json_valid(?) THEN json_extract(?, '$.{p}') END" for p in paths)
    return sql, 2 * len(paths)


class Cursor(Protocol):
    """The rows a statement returned. Setting `row_factory` to None asks for plain tuples where
    the driver makes richer rows (SQLite); a driver whose rows are tuples already ignores it."""

    row_factory: Any

    async def fetchone(self) -> Any: ...
    async def fetchall(self) -> Iterable[Any]: ...
    async def fetchmany(self, size: int) -> Iterable[Any]: ...


class Statement(Protocol):
    """A statement sent: awaited when its rows do not matter, entered for a cursor when they do."""

    def __await__(self) -> Generator[Any, None, Any]: ...
    async def __aenter__(self) -> Cursor: ...
    async def __aexit__(self, kind: Any, error: Any, traceback: Any) -> Any: ...


class SqlConnection(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Statement: ...
    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Any: ...
