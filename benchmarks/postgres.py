"""PostgreSQL benchmarks: handling throughput with one and two Casebook processes, and digest and
export at 100 000 cases.

Run by hand, with the project installed: `python benchmarks/postgres.py throughput` and
`python benchmarks/postgres.py digest`. Both start a throwaway PostgreSQL 15 server (as the tests
do, with `initdb` and `pg_ctl`; durability settings off, as in the tests), or use `--url` for an
existing server on which the benchmark may create databases.

throughput: the same load generator as `benchmarks/intake.py` (signed Slack message events, each
a new report, at concurrency 100), spread over the report channels of 20 schools, sends
`--events` events, split in turn between the processes, to one `casebook run` on SQLite, one on
PostgreSQL, and two on one PostgreSQL database. It prints events acknowledged per second, and
events handled end to end per second: the events divided by the time from the first send until
every event is processed (case written) and the outbox holds nothing unsent.

digest: builds benchmarks/digest.py's 100 000 cases in SQLite, copies them to PostgreSQL with
`casebook db copy` (timed), then times the weekly digest, `casebook stats` and the JSON export
there, as benchmarks/digest.py does on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import asyncpg
from intake import SECRET, TOKEN, free_port, signed, wait_ready

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres import Cluster, PostgresServer  # noqa: E402

CONCURRENCY = 100
SCHOOLS = 20  # a trust's: reports arrive for many schools at once, each its own report channel


@contextmanager
def server(url: str | None) -> Iterator[PostgresServer]:
    """The server named by `url`, or a throwaway one for the benchmark's length."""
    if url:
        yield PostgresServer(url)
        return
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def config_text(store: str, port: int, api_port: int) -> str:
    storage = f'url = "{store}"' if "://" in store else f'database = "{store}"'
    schools = "".join(
        f'[[schools]]\nname = "School {n}"\nslack_report_channels = ["{channel(n)}"]\n'
        f'slack_leads = ["ULEAD{n}"]\nslack_followup = "thread"\n'
        for n in range(SCHOOLS)
    )
    return (
        f"[storage]\n{storage}\n"
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "http"\napi_url = "http://127.0.0.1:{api_port}/api/"\n{schools}'
    )


def channel(school: int) -> str:
    return f"CBENCH{school:02d}"


def event(n: int) -> tuple[bytes, dict[str, str]]:
    """intake.py's signed event `n`, in the report channel of school n mod SCHOOLS."""
    body, headers = signed(n, "T")
    moved = body.replace(b'"CBENCH"', f'"{channel(n % SCHOOLS)}"'.encode())
    timestamp = headers["X-Slack-Request-Timestamp"]
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + moved, hashlib.sha256)
    return moved, headers | {"X-Slack-Signature": f"v0={digest.hexdigest()}"}


async def settled(store: str, events: int) -> bool:
    """Every event processed (or set aside) and nothing left unsent in the outbox."""
    sql = (
        "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL"
        " OR set_aside_at IS NOT NULL) >= $1"
        " AND NOT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)"
    )
    if "://" in store:
        connection = await asyncpg.connect(store)
        try:
            return bool(await connection.fetchval(sql, events))
        finally:
            await connection.close()
    import sqlite3

    with sqlite3.connect(store) as db:
        return bool(db.execute(sql.replace("$1", "?"), (events,)).fetchone()[0])


async def burst(urls: list[str], events: int, store: str) -> tuple[float, float]:
    """Send `events` events split in turn between `urls`; returns (acknowledged per second,
    handled end to end per second)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body, headers = event(n)
                async with session.post(urls[n % len(urls)], data=body, headers=headers) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"status {reply.status}")

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        acknowledged = time.monotonic()
    while not await settled(store, events):  # noqa: ASYNC110 (other processes' database)
        await asyncio.sleep(0.05)
    handled = time.monotonic()
    return events / (acknowledged - started), events / (handled - started)


def throughput_of(store: str, processes: int, events: int, folder: Path) -> tuple[float, float]:
    api_port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    servers = ROOT / "benchmarks" / "servers.py"
    started = [
        subprocess.Popen([sys.executable, str(servers), "slack-api", str(api_port)], env=env)
    ]
    urls = []
    try:
        for n in range(processes):
            port = free_port()
            config = folder / f"casebook-{n}.toml"
            config.write_text(config_text(store, port, api_port), encoding="utf-8")
            command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
            started.append(subprocess.Popen(command, env=env, cwd=ROOT))
            urls.append(f"http://127.0.0.1:{port}/slack/events")

        async def run() -> tuple[float, float]:
            for url in urls:
                await wait_ready(url)
            return await burst(urls, events, store)

        return asyncio.run(run())
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)


def throughput(url: str | None, events: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="casebook-pg-bench-"))
    rows = []
    with server(url) as postgres:
        for label, processes in (
            ("SQLite, 1 process", 1),
            ("PostgreSQL, 1 process", 1),
            ("PostgreSQL, 2 processes", 2),
        ):
            if label.startswith("SQLite"):
                store = str(folder / f"sqlite-{len(rows)}.db")
            else:
                store = postgres.create_database()
            acked, handled = throughput_of(store, processes, events, folder)
            rows.append((label, acked, handled))
            print(f"{label:26} {acked:8.0f} acknowledged/s {handled:8.0f} handled/s", flush=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    one, two = rows[1][2], rows[2][2]
    print(f"two PostgreSQL processes handle {two / one:.2f} times what one does (target >= 1.6)")


def digest_at_scale(url: str | None) -> None:
    import digest as at_scale

    path = Path(tempfile.mkdtemp(prefix="casebook-pg-digest-")) / "big.db"
    started = time.perf_counter()
    builder = multiprocessing.get_context("spawn").Process(target=at_scale._build, args=(path,))
    builder.start()
    builder.join()
    print(f"built {at_scale.CASES:,} cases in SQLite in {time.perf_counter() - started:.1f} s")
    with server(url) as postgres:
        target = postgres.create_database()
        started = time.perf_counter()
        copied = subprocess.run(
            [sys.executable, "-m", "bot", "db", "copy", str(path), target],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"casebook db copy to PostgreSQL: {time.perf_counter() - started:.1f} s")
        print(copied.stderr.strip())
        if copied.returncode != 0:
            raise SystemExit(copied.returncode)
        asyncio.run(at_scale.run(path, store=target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "digest"))
    parser.add_argument(
        "--url", help="a server to make the benchmark's databases on (default: a throwaway one)"
    )
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    if args.what == "throughput":
        throughput(args.url, args.events)
    else:
        digest_at_scale(args.url)


if __name__ == "__main__":
    main()
