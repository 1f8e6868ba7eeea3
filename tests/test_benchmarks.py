"""Every script in benchmarks/ still runs, in its `--smoke` mode (tiny sizes, one round).

The benchmarks are run by hand, so one that breaks (a renamed function, a flag a command gained)
goes unnoticed until someone needs its figures. This runs each one the way a person would, from
the benchmarks folder; a new script there is picked up without being listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresUnavailable, find_binary, postgres_required

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
HELPERS = frozenset({"servers.py"})  # servers the benchmarks start, not a benchmark itself
# A benchmark with more than one part runs each part small; the rest run as `NAME.py --smoke`.
PARTS = {"postgres.py": (("throughput", "--smoke"), ("digest", "--smoke"))}
NEEDS_POSTGRES = frozenset({"postgres.py"})


def smoke_runs() -> Iterator[object]:
    for path in sorted(BENCHMARKS.glob("*.py")):
        if path.name in HELPERS:
            continue
        for args in PARTS.get(path.name, (("--smoke",),)):
            yield pytest.param(path.name, args, id=" ".join((path.stem, *args)))


def test_every_benchmark_is_run_here() -> None:
    scripts = {path.name for path in BENCHMARKS.glob("*.py")}
    run = {param.values[0] for param in smoke_runs()}  # type: ignore[attr-defined]
    assert run == scripts - HELPERS and scripts >= HELPERS


@pytest.mark.slow
@pytest.mark.parametrize(("script", "args"), list(smoke_runs()))
def test_each_benchmark_runs_in_its_smoke_mode(script: str, args: tuple[str, ...]) -> None:
    if script in NEEDS_POSTGRES:
        try:
            find_binary("initdb")  # the benchmark starts its own throwaway server, as tests do
        except PostgresUnavailable as error:
            if postgres_required():
                raise
            pytest.skip(f"{script} needs PostgreSQL: {error}")
    run = subprocess.run(
        [sys.executable, script, *args],
        cwd=BENCHMARKS,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, f"{script} {' '.join(args)}:\n{run.stdout}\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stdout.strip(), f"{script} printed nothing"
