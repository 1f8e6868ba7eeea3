"""The package as pip installs it, run from outside the checkout: every module is in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_the_installed_package_runs_every_subcommand_from_elsewhere(tmp_path: Path) -> None:
    # A copy of the source alone: build leftovers in the checkout (an egg-info listing files)
    # could otherwise fill in what the package configuration leaves out.
    source = tmp_path / "source"
    for name in ("bot", "handlers", "storage"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    target = tmp_path / "site"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr.decode()
    sources = {
        p.relative_to(ROOT)
        for d in ("bot", "handlers", "storage")
        for p in (ROOT / d).rglob("*.py")
    }
    installed = {
        p.relative_to(target)
        for d in ("bot", "handlers", "storage")
        for p in (target / d).rglob("*.py")
    }
    assert sources == installed
    # Data the code reads at run time is shipped too.
    assert (target / "handlers/evidence/reference_points.json").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(target)}
    for command in (["--version"], ["evidence", "--help"], ["run", "--db", "x.db"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *command],
            cwd=elsewhere,
            env=environment,
            input=b"",
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stderr.decode())


def _modules(root: Path) -> set[Path]:
    return {
        path.relative_to(root)
        for package in ("bot", "handlers", "storage")
        for path in (root / package).rglob("*.py")
    }
