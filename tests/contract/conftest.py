"""The one place the contract suite gets a store from: `store_target` names every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store, open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store under test lives: a SQLite file, or a fresh PostgreSQL database (made
    from a migrated one: the migrations have tests of their own)."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    url: str = request.getfixturevalue("migrated_postgres_url")
    return url


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    db = await open_store(store_target)
    yield db
    await db.close()


@pytest.fixture
async def another_process(store: Store, store_target: str) -> AsyncIterator[Store]:
    """A second connection to the same store, as a second Casebook process has."""
    other = await open_store(store_target)
    yield other
    await other.close()
