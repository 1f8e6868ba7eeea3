"""Whole tables, as `casebook db copy` reads and writes them: every table listed, rows read in
key order and written with their ids, self-references linked afterwards, ids going on after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.protocols import TableRepository
from storage.store import Store, open_store
from storage.tables import NOT_DATA, TABLES, Table
from tests.contract.support import covers, new_case, school_and_person

CASES = next(table for table in TABLES if table.name == "cases")
KEYS = next(table for table in TABLES if table.name == "case_keys")
SCHOOLS = next(table for table in TABLES if table.name == "schools")
PEOPLE = next(table for table in TABLES if table.name == "people")


@pytest.fixture
async def empty(
    store_target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Store]:
    """A second, empty database on the same kind of store, to copy into."""
    if "://" in store_target:
        target = request.getfixturevalue("postgres_server").create_database()
    else:
        target = str(tmp_path / "copy.db")
    other = await open_store(target)
    yield other
    await other.close()


async def _rows(store: Store, table: Table, batch: int = 1000) -> list[list[tuple[object, ...]]]:
    async with store.reading() as unit:
        columns = await unit.tables.columns(table)
        return [rows async for rows in unit.tables.rows(table, columns, batch)]


@covers(TableRepository.names, TableRepository.columns)
async def test_every_table_and_its_columns_are_known(store: Store) -> None:
    async with store.reading() as unit:
        names = await unit.tables.names()
        assert sorted(names) == sorted({t.name for t in TABLES} | set(NOT_DATA))
        columns = await unit.tables.columns(CASES)
    assert columns[:3] == ["id", "school_id", "number"] and "merged_into" in columns


@covers(TableRepository.count, TableRepository.rows)
async def test_rows_come_in_key_order_a_batch_at_a_time(store: Store) -> None:
    school, person = await school_and_person(store)
    async with store.transaction() as unit:
        for n in range(5):
            await unit.cases.create(new_case(school, person, f"https://x.com/u/status/{n}"))
        assert await unit.tables.count(CASES) == 5
    batches = await _rows(store, CASES, batch=2)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [row[0] for batch in batches for row in batch] == sorted(
        row[0] for batch in batches for row in batch
    )


@covers(
    TableRepository.insert,
    TableRepository.link,
    TableRepository.clear,
    TableRepository.after_copy,
)
async def test_rows_written_keep_their_ids_links_and_keys_and_new_ones_follow(
    store: Store, empty: Store
) -> None:
    school, person = await school_and_person(store)
    async with store.transaction() as unit:
        for n in (1, 2):
            await unit.cases.create(new_case(school, person, f"https://x.com/u/status/{n}"))
    source_schools = await _rows(store, SCHOOLS)
    source_people = await _rows(store, PEOPLE)
    source_cases = await _rows(store, CASES)
    source_keys = await _rows(store, KEYS)
    async with store.reading() as unit:
        case_columns = await unit.tables.columns(CASES)
        school_columns = await unit.tables.columns(SCHOOLS)
        people_columns = await unit.tables.columns(PEOPLE)
        key_columns = await unit.tables.columns(KEYS)
    # The same rows, with merged_into pointing at a later id, written into an empty database.
    cases = [list(row) for batch in source_cases for row in batch]
    merged_at = case_columns.index("merged_into")
    cases[0][merged_at] = cases[1][0]
    target = empty
    async with target.transaction() as unit:
        for batch in source_schools:
            await unit.tables.insert(SCHOOLS, school_columns, batch)
        for batch in source_people:
            await unit.tables.insert(PEOPLE, people_columns, batch)
        links = await unit.tables.insert(CASES, case_columns, cases)
        assert links == [("merged_into", cases[1][0], cases[0][0])]
        await unit.tables.link(CASES, links)
        await unit.tables.clear(KEYS)  # the keys the trigger made for the new rows
        for batch in source_keys:
            await unit.tables.insert(KEYS, key_columns, batch)
        await unit.tables.after_copy()
    assert [list(r) for b in await _rows(target, CASES) for r in b] == cases
    assert await _rows(target, KEYS) == source_keys
    async with target.transaction() as unit:
        made = await unit.cases.create(new_case(school, person, "https://x.com/u/status/3"))
    assert made.id == max(row[0] for row in cases) + 1  # the ids go on past the copied ones
