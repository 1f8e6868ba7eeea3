"""The config of a hosted Casebook in tests: no school in the file, every school joins from the
chat, on a SQLite file or (with CASEBOOK_TEST_STORE=postgres) a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from handlers.events import Transport
from handlers.settings import Config, ServerConfig, StorageConfig, TransportSettings
from tests.conftest import on_postgres


def hosted_config(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    transports: Mapping[Transport, TransportSettings],
) -> Config:
    storage = (
        StorageConfig(url=request.getfixturevalue("postgres_url"))
        if on_postgres()
        else StorageConfig(database=tmp_path / "hosted.db")
    )
    return Config(
        schools=(),
        storage=storage,
        server=ServerConfig(host="127.0.0.1", port=0),
        transports=dict(transports),
    )
