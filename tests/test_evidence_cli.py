"""`casebook evidence` treats paths, school names and dates as every other subcommand does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_console import casebook

pytestmark = pytest.mark.slow


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "e.db"
    made = casebook("run", "--db", str(path), stdin=b"https://x.com/u/status/1\n")
    assert made.returncode == 0, made.stderr
    return path


def _one_line_refusal(*args: str) -> str:
    result = casebook("evidence", *args)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.decode().splitlines()
    return line


def test_bad_output_paths_and_existing_files_are_one_line(tmp_path: Path, database: Path) -> None:
    db = ("--db", str(database))
    assert "no folder" in _one_line_refusal(*db, "--out", str(tmp_path / "missing" / "r.html"))
    assert "is a folder" in _one_line_refusal(*db, "--out", str(tmp_path))
    existing = tmp_path / "r.html"
    existing.write_text("keep me", encoding="utf-8")
    assert "--force" in _one_line_refusal(*db, "--out", str(existing))
    assert existing.read_text(encoding="utf-8") == "keep me"
    forced = casebook("evidence", *db, "--out", str(existing), "--force")
    assert forced.returncode == 0 and existing.read_text(encoding="utf-8") != "keep me"


def test_school_names_match_in_any_case_and_unknown_ones_are_listed(
    tmp_path: Path, database: Path
) -> None:
    out = tmp_path / "r.json"
    found = casebook(
        "evidence",
        "--db",
        str(database),
        "--school",
        "demo SCHOOL",
        "--format",
        "json",
        "--out",
        str(out),
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["cases"] in (1, "<5")
    other = tmp_path / "other.json"
    line = _one_line_refusal("--db", str(database), "--school", "Nowhere", "--out", str(other))
    assert "'Demo School'" in line


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path: Path, database: Path) -> None:
    line = _one_line_refusal(
        "--db",
        str(database),
        "--since",
        "2026-12-01",
        "--until",
        "2026-11-01",
        "--out",
        str(tmp_path / "r.html"),
    )
    assert "after --until" in line
