"""Copy a whole Casebook database into an empty one, whichever stores hold them.

For moving a deployment between SQLite and PostgreSQL (and back). The source is read in one
snapshot, so a running Casebook may keep writing to it; the target is written in one
transaction, so a copy that fails leaves it as empty as it was. Ids, case keys and the
deployment id are the source's, so exports and evidence from the copy match the original.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.protocols import TableRepository
from storage.store import Store
from storage.tables import NOT_DATA, TABLES, Table

BATCH = 1000  # rows read and written at a time: memory stays flat whatever the database's size


class CopyRefused(Exception):
    """The copy cannot be made; the message is one line that says why."""


class TargetNotEmpty(CopyRefused):
    """The target holds data already: a copy would mix two deployments."""

    def __init__(self, table: str, rows: int) -> None:
        super().__init__(table, rows)
        self.table = table
        self.rows = rows


class SchemaMismatch(CopyRefused):
    """The two databases are not at the same schema, or hold tables the copy does not know."""


@dataclass(frozen=True)
class TableCount:
    """Rows of one table in the source's snapshot and in the target after the copy."""

    table: str
    source: int
    target: int


async def copy_database(source: Store, target: Store) -> list[TableCount]:
    """Copy every table of `source` into the empty `target`; returns the counts of both."""
    versions = (await source.schema_version(), await target.schema_version())
    if versions[0] != versions[1]:
        raise SchemaMismatch(f"source schema {versions[0]}, target schema {versions[1]}")
    copied: dict[str, int] = {}
    async with source.reading() as read, target.transaction() as write:
        await _check_tables(read.tables)
        await _check_tables(write.tables)
        for table in TABLES:
            rows = await write.tables.count(table)
            if rows and not table.replace:
                raise TargetNotEmpty(table.name, rows)
        for table in TABLES:
            copied[table.name] = await _copy_table(table, read.tables, write.tables)
        await write.tables.after_copy()
    async with target.reading() as unit:
        return [
            TableCount(table.name, copied[table.name], await unit.tables.count(table))
            for table in TABLES
        ]


async def _copy_table(table: Table, read: TableRepository, write: TableRepository) -> int:
    """Copy one table; returns how many rows the source had in its snapshot."""
    columns = await read.columns(table)
    if sorted(columns) != sorted(await write.columns(table)):
        raise SchemaMismatch(f"the table {table.name} has different columns in the two databases")
    if table.replace:
        await write.clear(table)
    links = []
    async for rows in read.rows(table, columns, BATCH):
        links += await write.insert(table, columns, rows)
    await write.link(table, links)
    return await read.count(table)


async def _check_tables(tables: TableRepository) -> None:
    """Refuse a database with a table this copy would leave behind."""
    known = {table.name for table in TABLES} | set(NOT_DATA)
    unknown = sorted(set(await tables.names()) - known)
    if unknown:
        raise SchemaMismatch(f"tables the copy does not know: {', '.join(unknown)}")
