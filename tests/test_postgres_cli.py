"""Choosing PostgreSQL: `[storage] url` in the file or a URL given with --db, never a password in
the file, and the command line working the same on it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot import cli
from bot.app import sync_schools
from bot.config.parser import load_config
from handlers.settings import ConfigError
from storage.db import migrations
from storage.store import open_store
from tests.chat import Chat, FakeClock

SCHOOL = '[[schools]]\nname = "Northfield Academy"\nconsole_leads = ["lena"]\n'
LINK = "https://www.tiktok.com/@a/video/7301234567890123456"


def _config(tmp_path: Path, storage: str) -> Path:
    path = tmp_path / "casebook.toml"
    path.write_text(SCHOOL + "[storage]\n" + storage, encoding="utf-8")
    return path


def _casebook(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_a_postgresql_url_in_the_file_selects_postgresql(tmp_path: Path) -> None:
    url = "postgresql://casebook@db.internal:5432/casebook"
    config = load_config(_config(tmp_path, f'url = "{url}"\n'), {})
    assert config.storage.url == url and config.storage.target == url


def test_a_sqlite_url_in_the_file_is_a_file_beside_it(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'url = "sqlite://cases.db"\n'), {})
    assert config.storage.url is None
    assert config.storage.target == config.storage.database == tmp_path / "cases.db"


@pytest.mark.parametrize(
    ("storage", "why"),
    [
        ('url = "postgresql://casebook:s3cret@db/casebook"\n', "must not hold a password"),
        ('url = "postgresql://casebook@db/casebook"\ndatabase = "x.db"\n', "keep one"),
        ('url = "mysql://casebook@db/casebook"\n', "postgresql://"),
    ],
)
def test_a_storage_url_that_cannot_be_used_is_refused(
    tmp_path: Path, storage: str, why: str
) -> None:
    with pytest.raises(ConfigError, match=why) as refused:
        load_config(_config(tmp_path, storage), {})
    assert "s3cret" not in str(refused.value)


def test_a_password_in_the_storage_url_is_sent_to_the_environment_not_the_command_line(
    tmp_path: Path,
) -> None:
    """A password on a command line is shown by `ps` to every user of the machine."""
    with pytest.raises(ConfigError) as refused:
        load_config(_config(tmp_path, 'url = "postgresql://casebook:s3cret@db/casebook"\n'), {})
    assert "CASEBOOK_DATABASE_URL" in str(refused.value)
    assert "--db" not in str(refused.value)


def _seed(url: str, tmp_path: Path) -> None:
    """One Northfield case on the PostgreSQL database, reported in the terminal."""
    config = load_config(_config(tmp_path, f'url = "{url}"\n'), {})

    async def make() -> None:
        store = await open_store(url)
        try:
            await sync_schools(store, config)
            await Chat(store, config, FakeClock()).say(LINK, school="Northfield Academy")
        finally:
            await store.close()

    asyncio.run(make())


def test_the_command_line_reads_and_changes_a_postgresql_database(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(postgres_url, tmp_path)
    code, out, _ = _casebook(capsys, "export", "--db", postgres_url, "--format", "json")
    assert code == 0
    [case] = json.loads(out)
    assert (case["id"], case["school"], case["platform"]) == (1, "Northfield Academy", "tiktok")
    code, out, _ = _casebook(capsys, "stats", "--db", postgres_url)
    assert code == 0 and "tiktok" in out.lower()
    assert _casebook(capsys, "inbox", "list", "--db", postgres_url)[0] == 0
    code, _, err = _casebook(capsys, "purge", "--dry-run", "--db", postgres_url)
    assert code == 0 and "would anonymise 0 cases" in err


def test_check_config_connects_and_says_what_it_found(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, f'url = "{postgres_url}"\n')
    code, out, _ = _casebook(capsys, "check-config", str(path))
    assert code == 0
    assert f"database: {postgres_url}" in out
    assert "PostgreSQL 1" in out and "no Casebook tables yet" in out
    _seed(postgres_url, tmp_path)
    code, out, _ = _casebook(capsys, "check-config", str(path))
    latest = migrations("storage.migrations.postgres")[-1][0]
    assert code == 0 and f"schema version {latest} (this Casebook's: {latest})" in out


def test_check_config_on_postgresql_refuses_a_school_the_database_holds_too(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, f'url = "{postgres_url}"\n')
    code, _, err = _casebook(capsys, "school", "add", "NORTHFIELD ACADEMY", "--db", postgres_url)
    assert code == 0, err
    code, out, err = _casebook(capsys, "check-config", str(path))
    assert code == 2 and out == "" and f"{path}, line 2:" in err
    assert "also kept in the database as 'NORTHFIELD ACADEMY'" in err


def test_backup_of_postgresql_points_to_pg_dump(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _casebook(capsys, "backup", str(tmp_path / "copy.db"), "--db", postgres_url)
    assert code == 2 and "pg_dump" in err
    assert not (tmp_path / "copy.db").exists()


def test_a_password_given_with_db_is_used_and_never_shown(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = urlsplit(postgres_url)
    user = parts.username or "postgres"
    wrong = urlunsplit(parts._replace(netloc=f"{user}:s3cret-pw@127.0.0.1:1"))
    code, out, err = _casebook(capsys, "export", "--db", wrong)
    assert code == 2 and "cannot connect" in err
    assert "s3cret-pw" not in out + err and "***" in err


def test_check_config_checks_the_database_given_with_db(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, 'database = "cases.db"\n')
    code, out, _ = _casebook(capsys, "check-config", str(path), "--db", postgres_url)
    assert code == 0
    assert f"database: {postgres_url}" in out and "cases.db" not in out
    assert "no Casebook tables yet" in out


def test_check_config_never_shows_a_password_given_with_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, 'database = "cases.db"\n')
    wrong = "postgresql://casebook:s3cret-pw@127.0.0.1:1/casebook"
    code, out, err = _casebook(capsys, "check-config", str(path), "--db", wrong)
    assert code == 2 and "cannot connect" in err
    assert "s3cret-pw" not in out + err
