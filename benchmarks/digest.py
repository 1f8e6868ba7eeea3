"""Digest, stats and export at scale: 100 000 cases over 3 years for 20 schools.

Run by hand, with the project installed (`pip install .`): `python benchmarks/digest.py`
(`--smoke`: 200 cases, one round, to check that it still runs).
It builds the database with plain SQL (fast, in a child process), then times Casebook's own
code paths three times each: one school's weekly digest, `casebook stats` for everything and
the JSON export of everything. It prints the best and worst time of each, the peak RSS and the
query plans that matter.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import multiprocessing
import random
import resource
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers import digest, export, stats
from handlers.settings import Config, SchoolConfig, StorageConfig
from storage import exports
from storage.db import Database
from storage.models import Category, Platform
from storage.store import open_store

SCHOOLS = 20
CASES = 100_000
YEARS = 3
ROUNDS = 3
SMOKE_CASES = 200  # --smoke: enough to touch every code path, not to measure them
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(path: Path, count: int = CASES) -> None:
    chance = random.Random(7)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executemany(
        "INSERT INTO schools (id, name, timezone) VALUES (?, ?, 'Europe/London')",
        [(n, f"School {n}") for n in range(1, SCHOOLS + 1)],
    )
    db.executemany(
        "INSERT INTO people (id, key, name) VALUES (?, ?, ?)",
        [(n, f"slack:U{n}", f"Staff {n}") for n in range(1, 2001)],
    )
    platforms = [p.value for p in Platform if p is not Platform.UNKNOWN]
    categories = [c.value for c in Category]
    cases, reporters, links, kinds = [], [], [], []
    numbers = dict.fromkeys(range(1, SCHOOLS + 1), 0)
    span = YEARS * 365 * 86400
    # Ids rise with creation time, as they do when the bot stores reports as they come.
    moments = sorted(NOW - timedelta(seconds=chance.randint(0, span)) for _ in range(count))
    for case_id, created in enumerate(moments, start=1):
        school = chance.randint(1, SCHOOLS)
        numbers[school] += 1
        reported = (
            created + timedelta(hours=chance.uniform(1, 72)) if chance.random() < 0.8 else None
        )
        removed = (
            reported + timedelta(days=chance.expovariate(1 / 6))
            if reported and chance.random() < 0.6
            else None
        )
        status = "removed" if removed else "reported" if reported else "open"
        if removed and chance.random() < 0.7:
            status = "closed"
        cases.append(
            (
                case_id,
                school,
                numbers[school],
                status,
                chance.choice(platforms),
                "slack",
                "colleague",
                "yes" if reported else "no",
                fmt(reported) if reported else None,
                fmt(removed) if removed else None,
                fmt(created),
                fmt(removed or reported or created),
                fmt(removed) if status == "closed" and removed else None,
                "resolved" if status == "closed" else None,
            )
        )
        reporters.append(
            (case_id, chance.randint(1, 2000), "a description of the post", fmt(created))
        )
        url = f"https://x.com/u/status/{case_id}"
        links.append((case_id, school, url, url, "x", fmt(created)))
        for category in chance.sample(categories, chance.randint(1, 2)):
            kinds.append((case_id, category))
    db.executemany(
        "INSERT INTO cases (id, school_id, number, status, platform, source, targets,"
        " reported_to_platform, reported_to_platform_at, removed_at, created_at, updated_at,"
        " closed_at, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cases,
    )
    db.executemany("INSERT INTO case_reporters VALUES (?, ?, ?, ?)", reporters)
    db.executemany(
        "INSERT INTO case_links (case_id, school_id, canonical_url, original_url,"
        " platform, added_at) VALUES (?, ?, ?, ?, ?, ?)",
        links,
    )
    db.executemany("INSERT INTO case_categories VALUES (?, ?)", kinds)
    db.commit()
    db.close()


async def timed(label: str, work, results: dict[str, list[float]], rounds: int):  # type: ignore[no-untyped-def]
    """Run `work` `rounds` times; the machine is shared, so the spread is printed, not one
    figure."""
    for _ in range(rounds):
        started = time.perf_counter()
        value = await work()
        results.setdefault(label, []).append(time.perf_counter() - started)
    return value


async def run(path: Path, store: str | None = None, rounds: int = ROUNDS) -> None:
    """Time the work on the SQLite file at `path`, or on the PostgreSQL `store` copied from it."""
    database = await open_store(store or path)
    config = Config(
        schools=tuple(SchoolConfig(name=f"School {n}") for n in range(1, SCHOOLS + 1)),
        storage=StorageConfig(database=path),
    )
    results: dict[str, list[float]] = {}
    try:
        school_config = config.schools[0]

        async def weekly() -> str:
            async with database.transaction() as unit:
                school = await unit.schools.by_name(school_config.name)
                assert school is not None
                built = await digest.build(unit, school, school_config, NOW)
            return digest.text(built, school_config)

        async def stats_all() -> str:
            # What `casebook stats` does.
            async with database.reading() as unit:
                cases = await unit.cases.timings()
            return stats.to_table(stats.platform_stats(cases, NOW))

        async def export_all() -> int:
            # What `casebook export --out FILE` does: stream rows from a read snapshot to disk.
            with (path.parent / "export.json").open("w", encoding="utf-8") as out:
                async with database.reading() as unit:
                    writer = export.JsonWriter(out)
                    async for batch in export.documents(unit):
                        writer.write(batch)
                    writer.close()
            return (path.parent / "export.json").stat().st_size

        text = await timed("weekly digest (one school)", weekly, results, rounds)
        await timed("casebook stats (all)", stats_all, results, rounds)
        exported = await timed("JSON export (all)", export_all, results, rounds)
    finally:
        await database.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    targets = {"weekly digest (one school)": 0.2, "JSON export (all)": 2.0}
    print(f"{'':28}{'best':>9}{'worst':>9}   (of {rounds} runs)")
    for label, runs in results.items():
        target = targets.get(label)
        verdict = (
            ""
            if target is None
            else f"  target < {target * 1000:.0f} ms: {'ok' if max(runs) < target else 'MISSED'}"
        )
        print(f"{label:28}{min(runs) * 1000:6.0f} ms{max(runs) * 1000:6.0f} ms{verdict}")
    print(f"{'peak RSS':28}{rss:10.0f} MB  (target < 150 MB: {'ok' if rss < 150 else 'MISSED'})")
    print(f"export size: {exported / 1e6:.1f} MB; digest: {len(text)} characters")
    if store is not None:
        return  # the query plans below are SQLite's
    with sqlite3.connect(path) as db:
        for label, sql in (
            ("JSON export", exports.query(anonymised=False)),
            (
                "stats (all cases)",
                "SELECT c.platform, c.status, c.close_reason, c.created_at,"
                " c.reported_to_platform_at, c.removed_at FROM cases c",
            ),
            (
                "digest of one school",
                "SELECT c.id FROM cases c WHERE c.school_id = 1 AND (c.status NOT IN"
                " ('closed', 'removed') OR c.created_at >= 'x' OR c.removed_at >= 'x')"
                " ORDER BY c.created_at, c.id",
            ),
            (
                "duplicate link lookup",
                "SELECT c.id FROM cases c JOIN case_links l ON l.case_id = c.id"
                " WHERE l.school_id = 1 AND l.canonical_url = 'x' AND c.status != 'closed'",
            ),
        ):
            print(f"plan, {label}:")
            for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"):
                print(f"  {row[3]}")


def smoke_flag(description: str) -> bool:
    """Every benchmark's `--smoke`: tiny sizes and one round, so a test can run it and a
    benchmark cannot stop working unnoticed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    return bool(parser.parse_args().smoke)


def main() -> None:
    smoke = smoke_flag(__doc__.splitlines()[0])
    cases, rounds = (SMOKE_CASES, 1) if smoke else (CASES, ROUNDS)
    path = Path(tempfile.mkdtemp(prefix="casebook-digest-")) / "big.db"
    atexit.register(shutil.rmtree, path.parent, True)  # its database is gone with it
    started = time.perf_counter()
    # Built in a child process, so the peak RSS printed is that of Casebook's code alone.
    builder = multiprocessing.get_context("spawn").Process(target=_build, args=(path, cases))
    builder.start()
    builder.join()
    if builder.exitcode != 0:
        raise SystemExit(f"building the database failed ({builder.exitcode})")
    took = time.perf_counter() - started
    print(f"built {cases:,} cases for {SCHOOLS} schools over {YEARS} years in {took:.1f} s")
    asyncio.run(run(path, rounds=rounds))


def _build(path: Path, count: int = CASES) -> None:
    asyncio.run(_create(path))
    build(path, count)


async def _create(path: Path) -> None:
    database = await Database.open(path)
    await database.close()


if __name__ == "__main__":
    main()
