from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bot.adapters.console_config import CONSOLE, console_places
from bot.app import sync_schools
from handlers.settings import Config, SchoolConfig, StorageConfig
from storage.db import Database
from storage.store import open_store
from tests.chat import Chat, FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.postgres import (
    URL_VARIABLE,
    Cluster,
    PostgresServer,
    PostgresUnavailable,
    postgres_required,
)

settings.register_profile("ci", max_examples=100, deadline=None)
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


def on_postgres() -> bool:
    return os.environ.get("CASEBOOK_TEST_STORE", "sqlite") == "postgres"


def two_schools(database: Path) -> Config:
    return Config(
        schools=(
            SchoolConfig(name="Northfield", places={CONSOLE: console_places(("lena",))}),
            SchoolConfig(name="Southgate", places={CONSOLE: console_places(("sol",))}),
        ),
        storage=StorageConfig(database=database),
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return two_schools(tmp_path / "casebook.db")


@pytest.fixture
async def database(config: Config, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """The store a test's chat runs on: a SQLite file, or with CASEBOOK_TEST_STORE=postgres (as
    .ci/run's second pass sets) a fresh PostgreSQL database. Tests that read the SQLite file
    itself, or SQLite's own locking, are marked sqlite_only and left out of that pass."""
    if on_postgres():
        url = request.getfixturevalue("postgres_url")
        db: Any = await open_store(url)
    else:
        db = await Database.open(config.storage.database)
    await sync_schools(db, config)
    yield db
    await db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chat(database: Database, config: Config, clock: FakeClock) -> Chat:
    return Chat(database, config, clock)


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlackApi]:
    """Slack's Web API on loopback, for the real slack_sdk client."""
    api = await FakeSlackApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def telegram_fake() -> AsyncIterator[FakeTelegramApi]:
    """Telegram's Bot API on loopback, for the real python-telegram-bot client."""
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


POSTGRES_SKIPPED = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run: CASEBOOK_TEST_POSTGRES_URL's, or a throwaway
    cluster. Without either, PostgreSQL tests skip loudly (fail under CASEBOOK_REQUIRE_POSTGRES)."""
    external = os.environ.get(URL_VARIABLE)
    if external:
        yield PostgresServer(external)
        return
    try:
        cluster = Cluster()
    except PostgresUnavailable as error:
        reason = f"PostgreSQL tests not run: {error}"
        if postgres_required():
            pytest.fail(reason, pytrace=False)
        request.config.stash[POSTGRES_SKIPPED] = reason
        warnings.warn(reason, pytest.PytestWarning, stacklevel=1)
        pytest.skip(reason)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def migrated_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database with Casebook's empty schema already in it, dropped after the test."""
    url = postgres_server.create_migrated_database()
    yield url
    postgres_server.drop_database(url)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    reason = config.stash.get(POSTGRES_SKIPPED, None)
    if reason is not None:
        terminalreporter.write_sep("!", reason, red=True, bold=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With CASEBOOK_TEST_STORE=postgres, run only what runs on a store: the tests on the
    `database` fixture (and so every chat transcript), less those that read the SQLite file."""
    if not on_postgres():
        return
    keep, drop = [], []
    for item in items:
        on_store = "database" in getattr(item, "fixturenames", ())
        (keep if on_store and not item.get_closest_marker("sqlite_only") else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep
