"""Reply benchmark: how long a member of staff waits for Casebook's answer, steady and in a burst.

Run by hand: `python benchmarks/replies.py` (from the repository, with the project installed).
Casebook runs as `casebook run` in Slack HTTP mode with `slack_followup = "thread"`, against a
fake Slack Web API in its own process (`benchmarks/servers.py`), which notes when the first
`chat.postMessage` into each report's thread arrives. A report's wait is from the moment its
event is sent to that first reply. It prints:
  (a) 500 reports sent at a fixed 50 per second (open loop): p50 and p99 time to first reply;
  (b) a burst of 1 000 reports at concurrency 100 (closed loop): median time to first reply, and
      the time from the burst's start until every first reply has been sent;
  (c) events handled end to end per second in that burst: 1 000 divided by the time until every
      event is processed (case written) and the outbox holds nothing unsent;
  (d) the CPU time (user and system) the bot, the fake Web API and the load generator used in
      that burst, per report: on a shared machine this varies far less than the times above
      (under --profile the bot's figure is py-spy's).
`--runs N` repeats (a) and (b) N times on the same bot (the machine is shared: figures vary).
`--smoke`: 20 steady reports and a burst of 20, one run, to check that it still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from intake import free_port, peak_rss_mb, percentile, wait_ready

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
RATE = 50
STEADY_REPORTS = 500
BURST_REPORTS = 1000
CONCURRENCY = 100
# Enough staff that nobody sends the eleventh report in ten minutes, whose replies would fold
# (handlers/report_folds.py): these figures are for a reply per report.
USERS = 200


@dataclass(frozen=True)
class Sizes:
    """How many reports each part of a run sends."""

    steady: int = STEADY_REPORTS
    burst: int = BURST_REPORTS


SMOKE = Sizes(steady=20, burst=20)


def signed(n: int) -> tuple[str, bytes, dict[str, str]]:
    """A signed report into the report channel; its ts (the thread replies go to) is unique."""
    ts = f"{1700000000 + n}.000100"
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": f"EvR{n}",
            "event": {
                "type": "message",
                "user": f"U{n % USERS}",
                "channel": "CBENCH",
                "channel_type": "channel",
                "ts": ts,
                "text": f"report {n} https://x.com/u/status/{n}",
            },
        }
    )
    timestamp = str(int(time.time()))
    digest = hmac.new(
        SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
    ).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return ts, body.encode(), headers


class Load:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: dict[str, float] = {}

    async def post(self, session: aiohttp.ClientSession, n: int) -> None:
        ts, body, headers = signed(n)
        self.sent[ts] = time.monotonic()
        async with session.post(self.url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"status {response.status}")

    async def open_loop(self, first: int, count: int) -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            start = time.monotonic() + 0.2
            tasks = []
            for n in range(count):
                delay = start + n / RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.post(session, first + n)))
            await asyncio.gather(*tasks)
        return start

    async def closed_loop(self, first: int, count: int) -> float:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(first, first + count):
            queue.put_nowait(n)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def client() -> None:
                while not queue.empty():
                    await self.post(session, queue.get_nowait())

            started = time.monotonic()
            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return started


async def first_replies(stats_url: str, threads: list[str], seconds: float) -> dict[str, float]:
    """When the first reply into each of `threads` reached the fake Web API (waits for all)."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(stats_url) as response:
                first: dict[str, float] = (await response.json())["first"]
            if all(t in first for t in threads) or time.monotonic() > deadline:
                return {t: first[t] for t in threads if t in first}
            await asyncio.sleep(0.05)


def settled(database: Path, events: int) -> bool:
    """Every event processed (or set aside) and nothing left unsent in the outbox."""
    with sqlite3.connect(database) as db:
        done = db.execute(
            "SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL OR set_aside_at IS NOT NULL"
        ).fetchone()[0]
        unsent = db.execute(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        ).fetchone()[0]
    return bool(done >= events and unsent == 0)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    steady_p50: float
    steady_p99: float
    burst_median: float
    burst_all: float
    handled_per_second: float
    bot_cpu: float
    api_cpu: float
    load_cpu: float
    missing: int


async def one_run(
    url: str,
    stats_url: str,
    database: Path,
    base: int,
    events_before: int,
    pids: tuple[int, int],
    sizes: Sizes,
) -> Run:
    steady_reports, burst_reports = sizes.steady, sizes.burst
    load = Load(url)
    await load.open_loop(base, steady_reports)
    steady_threads = [signed(n)[0] for n in range(base, base + steady_reports)]
    steady = await first_replies(stats_url, steady_threads, 60)
    steady_waits = [steady[t] - load.sent[t] for t in steady]
    while not await asyncio.to_thread(settled, database, events_before + steady_reports):  # noqa: ASYNC110 (another process's database)
        await asyncio.sleep(0.05)

    burst_base = base + steady_reports
    burst_threads = [signed(n)[0] for n in range(burst_base, burst_base + burst_reports)]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    load_before = time.process_time()
    started = await load.closed_loop(burst_base, burst_reports)
    total = events_before + steady_reports + burst_reports
    while not await asyncio.to_thread(settled, database, total):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    handled = time.monotonic()
    bot_cpu, api_cpu = (
        cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)
    )
    load_cpu = time.process_time() - load_before
    burst = await first_replies(stats_url, burst_threads, 60)
    burst_waits = [burst[t] - load.sent[t] for t in burst]
    return Run(
        steady_p50=percentile(steady_waits, 0.5),
        steady_p99=percentile(steady_waits, 0.99),
        burst_median=statistics.median(burst_waits),
        burst_all=max(burst.values()) - started,
        handled_per_second=burst_reports / (handled - started),
        bot_cpu=bot_cpu / burst_reports,
        api_cpu=api_cpu / burst_reports,
        load_cpu=load_cpu / burst_reports,
        missing=steady_reports + burst_reports - len(steady) - len(burst),
    )


async def measure(
    url: str, stats_url: str, database: Path, runs: int, pids: tuple[int, int], sizes: Sizes
) -> list[Run]:
    await wait_ready(url)
    results = []
    for run in range(runs):
        base = run * (sizes.steady + sizes.burst)
        results.append(await one_run(url, stats_url, database, base, base, pids, sizes))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--profile", metavar="FILE", help="run the bot under py-spy, writing collapsed stacks"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: does it run?")
    args = parser.parse_args()
    sizes = SMOKE if args.smoke else Sizes()
    if args.smoke:
        args.runs = 1
    folder = Path(tempfile.mkdtemp(prefix="casebook-replies-"))
    atexit.register(shutil.rmtree, folder, True)  # its database is gone with it
    api_port, bot_port = free_port(), free_port()
    database = folder / "casebook.db"
    config = folder / "casebook.toml"
    config.write_text(
        f'[storage]\ndatabase = "{database}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {bot_port}\n'
        f'[slack]\nmode = "http"\napi_url = "http://127.0.0.1:{api_port}/api/"\n'
        '[[schools]]\nname = "Bench"\nslack_report_channels = ["CBENCH"]\n'
        'slack_leads = ["ULEAD"]\nslack_followup = "thread"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    servers = ROOT / "benchmarks" / "servers.py"
    api = subprocess.Popen([sys.executable, str(servers), "slack-api", str(api_port)], env=env)
    command = [sys.executable, "-m", "bot", "run", "--config", str(config)]
    if args.profile:
        command = ["py-spy", "record", "--format", "raw", "-o", args.profile, "--", *command]
    bot = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        results = asyncio.run(
            measure(
                f"http://127.0.0.1:{bot_port}/slack/events",
                f"http://127.0.0.1:{api_port}/stats",
                database,
                args.runs,
                (bot.pid, api.pid),
                sizes,
            )
        )
        rss = float("nan") if args.profile else peak_rss_mb(bot.pid)
        with sqlite3.connect(database) as db:
            cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    finally:
        for process in (bot, api):
            process.send_signal(signal.SIGINT if process is bot else signal.SIGTERM)
        for process in (bot, api):
            process.wait(timeout=30)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    rows = (
        (f"{sizes.steady} at {RATE}/s: p50 to first reply (ms)", "steady_p50", 1000, ""),
        (f"{sizes.steady} at {RATE}/s: p99 to first reply (ms)", "steady_p99", 1000, "< 50"),
        (f"burst {sizes.burst}: median to first reply (s)", "burst_median", 1, "< 1"),
        (f"burst {sizes.burst}: every first reply sent (s)", "burst_all", 1, "< 4"),
        ("events handled end to end per second", "handled_per_second", 1, ">= 300"),
        ("burst: bot CPU per report (ms)", "bot_cpu", 1000, ""),
        ("burst: fake Web API CPU per report (ms)", "api_cpu", 1000, ""),
        ("burst: load generator CPU per report (ms)", "load_cpu", 1000, ""),
    )
    for name, field, scale, target in rows:
        values = "  ".join(f"{getattr(r, field) * scale:8.2f}" for r in results)
        print(f"{name:48}{values}   target {target or '-'}")
    missing = sum(r.missing for r in results)
    sent = len(results) * (sizes.steady + sizes.burst)
    print(f"cases stored: {cases} of {sent}; first replies missing: {missing}")
    print(f"casebook peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
