"""`postgres_url` until the shared PostgreSQL test server lands in conftest: a fresh database per
test on the server CASEBOOK_TEST_POSTGRES_URL names; without it, the PostgreSQL tests skip."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

URL_VARIABLE = "CASEBOOK_TEST_POSTGRES_URL"
_NAMES = itertools.count(1)


def _execute(url: str, sql: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    # A thread of its own: the calling fixture's thread may have an event loop running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    admin = os.environ.get(URL_VARIABLE)
    if not admin:
        pytest.skip(f"PostgreSQL tests not run: set {URL_VARIABLE}")
    name = f"casebook_store_{os.getpid()}_{next(_NAMES)}"
    _execute(admin, f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield urlunsplit(urlsplit(admin)._replace(path="/" + name))
    _execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
