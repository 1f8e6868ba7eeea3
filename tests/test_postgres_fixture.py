"""The PostgreSQL test server works, and each test gets a database of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from tests.postgres import PostgresServer


async def test_fixture_gives_a_working_empty_database(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("select 1") == 1
        assert await connection.fetchval("select current_database()") == (
            urlsplit(postgres_url).path.lstrip("/")
        )
        tables = await connection.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
        await connection.execute("create table scratch (id int)")
    finally:
        await connection.close()


async def test_databases_are_separate_and_dropped_after_use(
    postgres_server: PostgresServer,
) -> None:
    first = postgres_server.create_database()
    second = postgres_server.create_database()
    assert first != second
    connection = await asyncpg.connect(first)
    await connection.execute("create table scratch (id int)")
    await connection.close()
    connection = await asyncpg.connect(second)
    try:
        assert await connection.fetchval("select to_regclass('scratch')") is None
    finally:
        await connection.close()
    postgres_server.drop_database(first)
    postgres_server.drop_database(second)
    admin = await asyncpg.connect(postgres_server.admin_url)
    try:
        names = {row[0] for row in await admin.fetch("select datname from pg_database")}
    finally:
        await admin.close()
    assert not {urlsplit(first).path[1:], urlsplit(second).path[1:]} & names
