"""Erasure and backups: `person erase` says that older backups still hold the person's data
(naming the backup timer's folder when there is one), and the timer keeps backups for
CASEBOOK_BACKUP_DAYS, so an erased person is gone from them that many days later."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_cli import casebook
from tests.test_database_variable import one_case_database

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DAY = 24 * 3600


def _erase(capsys: pytest.CaptureFixture[str], database: Path) -> str:
    code, _, err = casebook(
        capsys, "person", "erase", "--console", "alex", "--yes", "--db", str(database)
    )
    assert code == 0, err
    return err


def test_erase_names_the_backup_folder_beside_the_database_and_how_long_it_keeps_copies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = one_case_database(tmp_path)
    (tmp_path / "backups").mkdir()
    monkeypatch.setenv("CASEBOOK_BACKUP_DAYS", "14")
    err = _erase(capsys, database)
    assert "Backups taken before now still hold their data" in err
    assert str(tmp_path / "backups") in err and "14 days" in err


def test_erase_without_a_known_backup_folder_still_says_backups_hold_the_data(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CASEBOOK_BACKUP_DAYS", raising=False)
    err = _erase(capsys, one_case_database(tmp_path))
    assert "Backups taken before now still hold their data" in err
    assert "backups" + os.sep not in err and str(tmp_path / "backups") not in err


def _prune_command(folder: Path) -> list[str]:
    """The backup service's prune step as systemd runs it ("$$" is a "$"), on `folder`."""
    settings = dict(
        line.split("=", 1)
        for line in (DEPLOY / "casebook-backup.service").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    command = settings["ExecStartPost"].replace("$$", "$")
    return [part.replace("/var/lib/casebook/backups", str(folder)) for part in shlex.split(command)]


@pytest.mark.parametrize(("days", "kept"), [("7", {1, 6}), ("", {1, 6, 8, 29})])
def test_the_backup_service_deletes_copies_older_than_the_days_set(
    tmp_path: Path, days: str, kept: set[int]
) -> None:
    ages = (1, 6, 8, 29, 31)
    for age in ages:
        copy = tmp_path / f"casebook-{age}.db"
        copy.write_bytes(b"")
        moment = time.time() - age * DAY - 60
        os.utime(copy, (moment, moment))
    (tmp_path / "notes.txt").write_text("not a backup")
    os.utime(tmp_path / "notes.txt", (0, 0))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if days:
        env["CASEBOOK_BACKUP_DAYS"] = days
    subprocess.run(_prune_command(tmp_path), env=env, check=True, timeout=30)
    left = {int(p.stem.split("-")[1]) for p in tmp_path.glob("casebook-*.db")}
    assert left == kept
    assert (tmp_path / "notes.txt").exists()


def test_the_example_secrets_file_states_how_many_days_backups_are_kept() -> None:
    lines = (DEPLOY / "casebook.env.example").read_text().splitlines()
    assert "CASEBOOK_BACKUP_DAYS=30" in lines
