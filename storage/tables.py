"""Whole tables, row by row: what `casebook db copy` reads from one store and writes to another.

Rows keep their ids, so every reference between tables stays true in the copy. The copy is
written parents first (TABLES is that order); the one reference within a table, a case merged
into another, is written after every case exists.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from storage.sql import Dialect, SqlConnection


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]  # the primary key: rows are read in this order
    # Rows the target holds already are not data to keep but the target's own making (a
    # migration's seed, a trigger's output): the copy's rows replace them.
    replace: bool = False


# Every table of the schema, each after the tables it refers to.
TABLES = (
    Table("schools", ("id",)),
    Table("people", ("id",)),
    Table("cases", ("id",)),
    Table("case_keys", ("case_id",), replace=True),  # a trigger makes a new key per case
    Table("case_categories", ("case_id", "category")),
    Table("case_reporters", ("case_id", "person_id")),
    Table("case_links", ("id",)),
    Table("case_messages", ("transport", "message_key", "case_id")),
    Table("conversations", ("id",)),
    Table("conversation_cases", ("conversation_id", "case_id")),
    Table("audit", ("id",)),
    Table("notes", ("id",)),
    Table("school_members", ("school_id", "person_id")),
    Table("reminders", ("id",)),
    Table("digests", ("school_id", "iso_year", "iso_week")),
    Table("welcomed_places", ("transport", "place_id")),
    Table("hosted_schools", ("school_id",)),
    Table("school_leads", ("school_id", "person_id")),
    Table("school_places", ("transport", "workspace", "place_id")),
    Table("invitations", ("code_hash",)),
    Table("join_attempts", ("id",)),
    Table("join_lockouts", ("person_id",)),
    Table("hosted_version", ("single",), replace=True),  # a migration makes the counter
    Table("place_addresses", ("transport", "place_id")),
    Table("slack_installations", ("enterprise_id", "team_id")),
    Table("slack_oauth_states", ("state_hash",)),
    Table("inbox", ("id",)),
    Table("outbox", ("id",)),
    Table("report_folds", ("id",)),
    Table("deployment", ("only",), replace=True),  # a migration makes a new deployment id
)
# Tables that describe the database itself rather than hold Casebook's data: never copied.
NOT_DATA = ("schema_version", "health_probe")
# Columns that refer to a row of their own table, written once every row exists.
SELF_REFERENCES = {"cases": ("merged_into",)}


class SqlTables:
    """Tables of a database, inside the caller's transaction."""

    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def names(self) -> list[str]:
        """Every table in the database, so a copy can tell when TABLES misses one."""
        if self._db.dialect is Dialect.POSTGRES:
            sql = (
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        async with self._db.execute(sql) as cursor:
            return sorted(str(row[0]) for row in await cursor.fetchall())

    async def columns(self, table: Table) -> list[str]:
        if self._db.dialect is Dialect.POSTGRES:
            sql = (
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                " AND table_schema = current_schema() ORDER BY ordinal_position"
            )
        else:
            sql = "SELECT name FROM pragma_table_info(?) ORDER BY cid"
        async with self._db.execute(sql, (table.name,)) as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]

    async def count(self, table: Table) -> int:
        async with self._db.execute(f"SELECT count(*) FROM {quoted(table.name)}") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def rows(
        self, table: Table, columns: Sequence[str], batch: int = 1000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every row, `batch` at a time, in key order."""
        async with self._db.execute(
            f"SELECT {listed(columns)} FROM {quoted(table.name)} ORDER BY {listed(table.key)}"
        ) as cursor:
            while rows := await cursor.fetchmany(batch):
                yield [tuple(row) for row in rows]

    async def insert(
        self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[tuple[Any, ...]]:
        """Insert rows as they are, ids included. Columns that refer to their own table are left
        empty; returns what `link` must fill in once every row exists."""
        later = [columns.index(column) for column in SELF_REFERENCES.get(table.name, ())]
        values = [[None if at in later else v for at, v in enumerate(row)] for row in rows]
        marks = ", ".join("?" for _ in columns)
        await self._db.executemany(
            f"INSERT INTO {quoted(table.name)} ({listed(columns)}) VALUES ({marks})", values
        )
        return [
            (columns[at], row[at], *row_key(table, columns, row))
            for row in rows
            for at in later
            if row[at] is not None
        ]

    async def link(self, table: Table, links: Sequence[tuple[Any, ...]]) -> None:
        """Fill in the self-references `insert` left empty: (column, value, *key) each."""
        where = " AND ".join(f"{quoted(key)} = ?" for key in table.key)
        for column in SELF_REFERENCES.get(table.name, ()):
            await self._db.executemany(
                f"UPDATE {quoted(table.name)} SET {quoted(column)} = ? WHERE {where}",
                [link[1:] for link in links if link[0] == column],
            )

    async def clear(self, table: Table) -> None:
        """Empty a `replace` table before the copy's rows go in."""
        await self._db.execute(f"DELETE FROM {quoted(table.name)}")

    async def after_copy(self) -> None:
        """New rows must get ids past the copied ones: SQLite's next id follows the largest
        present, but a PostgreSQL identity column has a sequence of its own, moved on here. And
        PostgreSQL plans queries from statistics that a bulk load leaves stale until autovacuum
        comes by: the first digest on a fresh copy of 100 000 cases took 30 s instead of 0.2."""
        if self._db.dialect is not Dialect.POSTGRES:
            return
        for table in TABLES:
            if table.key != ("id",):
                continue
            await self._db.execute(
                "SELECT setval(pg_get_serial_sequence(?, 'id'),"
                f" coalesce((SELECT max(id) FROM {quoted(table.name)}), 0) + 1, false)"
                " WHERE pg_get_serial_sequence(?, 'id') IS NOT NULL",
                (table.name, table.name),
            )
        for table in TABLES:
            await self._db.execute(f"ANALYZE {quoted(table.name)}")


def row_key(table: Table, columns: Sequence[str], row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(row[columns.index(key)] for key in table.key)


def quoted(name: str) -> str:
    """A table or column name as both engines read it whatever it is (`only` is a keyword)."""
    return f'"{name}"'


def listed(names: Sequence[str]) -> str:
    return ", ".join(quoted(name) for name in names)
