"""`casebook evidence` over the 100 000-case benchmark database: time and size of the report.

Run by hand, with the project installed (`pip install .`): `python benchmarks/evidence.py`.
It builds the same database as benchmarks/digest.py (20 schools, three years), then runs the
whole command, as a user would, three times for each format, and prints the best and worst wall
time and the size of what it wrote. Targets: under 5 s, and the HTML under 1 MB.
"""

from __future__ import annotations

import atexit
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digest import CASES, NOW, SCHOOLS, _build

ROUNDS = 3


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="casebook-evidence-"))
    atexit.register(shutil.rmtree, folder, True)  # its database is gone with it
    path = folder / "big.db"
    builder = multiprocessing.get_context("spawn").Process(target=_build, args=(path,))
    builder.start()
    builder.join()
    if builder.exitcode != 0:
        raise SystemExit(f"building the database failed ({builder.exitcode})")
    print(f"built {CASES:,} cases for {SCHOOLS} schools")
    until = NOW.date().isoformat()
    print(f"{'':34}{'best':>8}{'worst':>8}{'size':>10}   (wall time, of {ROUNDS} runs)")
    for fmt in ("html", "json", "csv"):
        out = folder / f"report.{fmt}"
        runs, cpu = [], []
        for _ in range(ROUNDS):
            before = _children_cpu()
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "evidence",
                    "--db",
                    str(path),
                    "--until",
                    until,
                    "--format",
                    fmt,
                    "--out",
                    str(out),
                ],
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - started)
            cpu.append(_children_cpu() - before)
        size = out.stat().st_size
        verdict = "ok" if max(runs) < 5 and (fmt != "html" or size < 1_000_000) else "MISSED"
        label = f"casebook evidence --format {fmt}"
        print(
            f"{label:34}{min(runs):7.2f}s{max(runs):7.2f}s{size / 1000:8.0f} kB  {verdict}"
            f"  (CPU {min(cpu):.2f}-{max(cpu):.2f} s)"
        )
    # The same report from the database's anonymised export, as an association would make it.
    exported = folder / "export.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "export",
            "--db",
            str(path),
            "--anonymised",
            "--out",
            str(exported),
        ],
        check=True,
        capture_output=True,
    )
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "evidence",
            "--from",
            str(exported),
            "--until",
            until,
            "--out",
            str(folder / "from-export.html"),
        ],
        check=True,
        capture_output=True,
    )
    took = time.perf_counter() - started
    size = exported.stat().st_size / 1e6
    print(f"{'--from the export (' + f'{size:.0f} MB)':34}{took:7.2f}s")


def _children_cpu() -> float:
    """User and system time of finished child processes: what the command itself cost, which a
    shared machine's load does not inflate the way it inflates wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
