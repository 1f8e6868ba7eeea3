"""CASEBOOK_DATABASE_URL names the database for every subcommand, so a PostgreSQL password need
not go on a command line (where `ps` shows it); `--db` still overrides it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import sync_schools
from bot.config.parser import load_config
from storage.db import Database
from tests.chat import Chat, FakeClock
from tests.test_cli import CONFIG, casebook

VARIABLE = "CASEBOOK_DATABASE_URL"


@pytest.fixture
def cases_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with one Northfield case; the working folder holds no casebook.db."""
    monkeypatch.chdir(tmp_path)
    return one_case_database(tmp_path)


def one_case_database(folder: Path) -> Path:
    """`folder`/cases.db with one Northfield case reported by the terminal's "alex", and a
    config file whose own database is another file."""
    path = folder / "casebook.toml"
    path.write_text(CONFIG + f'\n[storage]\ndatabase = "{folder / "from-config.db"}"\n')
    config = load_config(path, {})
    target = folder / "cases.db"

    async def make() -> None:
        db = await Database.open(target)
        try:
            await sync_schools(db, config)
            await Chat(db, config, FakeClock()).say(
                "https://www.tiktok.com/@a/video/7301234567890123456", school="Northfield Academy"
            )
        finally:
            await db.close()

    asyncio.run(make())
    return target


def test_export_reads_the_database_the_variable_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cases_db: Path
) -> None:
    monkeypatch.setenv(VARIABLE, str(cases_db))
    code, out, err = casebook(capsys, "export")
    assert code == 0, err
    assert [case["id"] for case in json.loads(out)] == [1]


def test_the_variable_overrides_the_config_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cases_db: Path
) -> None:
    monkeypatch.setenv(VARIABLE, str(cases_db))
    code, out, err = casebook(capsys, "export", "--config", str(cases_db.parent / "casebook.toml"))
    assert code == 0, err
    assert len(json.loads(out)) == 1


def test_db_overrides_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cases_db: Path
) -> None:
    monkeypatch.setenv(VARIABLE, str(cases_db.parent / "elsewhere.db"))
    code, out, err = casebook(capsys, "export", "--db", str(cases_db))
    assert code == 0, err
    assert len(json.loads(out)) == 1


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("given_as", ["--db", VARIABLE])
def test_a_sqlite_url_is_relative_after_three_slashes_and_absolute_after_four(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cases_db: Path,
    given_as: str,
    relative: bool,
) -> None:
    """As SQLAlchemy reads them: `sqlite:///cases.db` is in the current folder (cases_db's),
    `sqlite:////…/cases.db` is the absolute path."""
    url = "sqlite:///cases.db" if relative else f"sqlite:///{cases_db}"
    assert cases_db.is_absolute() and url.startswith("sqlite:////") != relative
    args = ["export", "--db", url] if given_as == "--db" else ["export"]
    if given_as == VARIABLE:
        monkeypatch.setenv(VARIABLE, url)
    code, out, err = casebook(capsys, *args)
    assert code == 0, err
    assert [case["id"] for case in json.loads(out)] == [1]


@pytest.mark.parametrize(
    "args",
    [
        ["export"],
        ["stats"],
        ["digest"],
        ["purge"],
        ["person", "export", "--console", "alex"],
        ["person", "erase", "--console", "alex", "--yes"],
        ["backup", "copy.db"],
        ["evidence", "--out", "figures.html"],
    ],
)
def test_every_subcommand_that_reads_cases_uses_the_variable(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    named = tmp_path / "named-by-the-variable.db"
    monkeypatch.setenv(VARIABLE, str(named))
    code, out, err = casebook(capsys, *args)
    assert code == 2 and out == ""
    assert "there is no database at" in err and str(named) in err, err
    assert not named.exists()


def test_a_postgresql_url_from_the_variable_never_shows_its_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(VARIABLE, "postgresql://casebook:hunter2-secret@127.0.0.1:1/casebook")
    code, out, err = casebook(capsys, "stats")
    assert code == 2
    assert "hunter2-secret" not in out + err
    assert "127.0.0.1" in err, err
