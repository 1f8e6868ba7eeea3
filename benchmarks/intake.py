"""Intake benchmark: Casebook in Slack HTTP mode against a bare-minimum floor, same load.

Run by hand: `python benchmarks/intake.py` (from the repository, with the project installed).
It prints, for Casebook and for the floor:
  (a) latency: 500 signed message events sent at a fixed 100 per second (open loop), p50/p99
      time to HTTP 200;
  (b) throughput: 2 000 events at concurrency 200 (closed loop), events acknowledged per second;
  (c) for Casebook: cases stored (must equal events sent) and the peak RSS of its process.
`--smoke`: 20 events each way, to check that it still runs.
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
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
RATE = 100
OPEN_LOOP_EVENTS = 500
CLOSED_LOOP_EVENTS = 2000
CONCURRENCY = 200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed(n: int, prefix: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": f"Ev{prefix}{n}",
            "event": {
                "type": "message",
                # Enough staff that nobody's replies fold (handlers/report_folds.py).
                "user": f"U{n % 300}",
                "channel": "CBENCH",
                "channel_type": "channel",
                # A message is known by its channel and ts: each run's messages are new ones.
                "ts": f"{1700000000 + n}.{sum(map(ord, prefix)):06d}",
                "text": f"report {n} https://x.com/u/status/{prefix}{n}",
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
    return body.encode(), headers


async def post(session: aiohttp.ClientSession, url: str, n: int, prefix: str) -> float:
    body, headers = signed(n, prefix)
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
    return time.perf_counter() - started


async def open_loop(url: str, prefix: str, events: int = OPEN_LOOP_EVENTS) -> list[float]:
    """Sends at fixed times regardless of answers, so slow answers cannot slow the load."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        start = time.perf_counter() + 0.2
        tasks = []
        for n in range(events):
            delay = start + n / RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(session, url, n, prefix)))
        return await asyncio.gather(*tasks)


async def closed_loop(url: str, prefix: str, events: int = CLOSED_LOOP_EVENTS) -> float:
    """CONCURRENCY clients, each sending its next event as soon as the last is answered."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client() -> None:
            while not queue.empty():
                await post(session, url, queue.get_nowait(), prefix)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return events / (time.perf_counter() - started)


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.post(url, data=b"{}") as response:
                    if response.status in (200, 401):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(url: str, prefix: str, events: tuple[int, int]) -> tuple[list[float], float]:
    await wait_ready(url)
    latencies = await open_loop(url, prefix + "o", events[0])
    throughput = await closed_loop(url, prefix + "c", events[1])
    return latencies, throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20 events each way: does it run?")
    events = (20, 20) if parser.parse_args().smoke else (OPEN_LOOP_EVENTS, CLOSED_LOOP_EVENTS)
    folder = Path(tempfile.mkdtemp(prefix="casebook-bench-"))
    atexit.register(shutil.rmtree, folder, True)  # its database is gone with it
    api_port, bot_port, floor_port = free_port(), free_port(), free_port()
    config = folder / "casebook.toml"
    config.write_text(
        f'[storage]\ndatabase = "{folder / "casebook.db"}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {bot_port}\n'
        f'[slack]\nmode = "http"\napi_url = "http://127.0.0.1:{api_port}/api/"\n'
        '[[schools]]\nname = "Bench"\nslack_report_channels = ["CBENCH"]\n'
        'slack_leads = ["ULEAD"]\n',
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
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)], env=env, cwd=ROOT
    )
    floor = subprocess.Popen(
        [sys.executable, str(servers), "floor", str(floor_port), str(folder / "floor.db"), SECRET],
        env=env,
    )
    try:
        bot_latency, bot_rate = asyncio.run(
            measure(f"http://127.0.0.1:{bot_port}/slack/events", "B", events)
        )
        floor_latency, floor_rate = asyncio.run(
            measure(f"http://127.0.0.1:{floor_port}/slack/events", "F", events)
        )
        sent = sum(events)
        deadline = time.monotonic() + 300
        cases = 0
        while time.monotonic() < deadline:
            with sqlite3.connect(folder / "casebook.db") as db:
                cases = db.execute("SELECT count(*) FROM cases").fetchone()[0]
            if cases >= sent:
                break
            time.sleep(0.5)
        drained = time.monotonic()
        rss = peak_rss_mb(bot.pid)
    finally:
        for process in (bot, api, floor):
            process.terminate()
        for process in (bot, api, floor):
            process.wait(timeout=30)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'':24}{'casebook':>12}{'floor':>12}")
    for name, fraction in (("p50 latency (ms)", 0.5), ("p99 latency (ms)", 0.99)):
        print(
            f"{name:24}{percentile(bot_latency, fraction) * 1000:12.1f}"
            f"{percentile(floor_latency, fraction) * 1000:12.1f}"
        )
    print(
        f"{'mean latency (ms)':24}{statistics.mean(bot_latency) * 1000:12.1f}"
        f"{statistics.mean(floor_latency) * 1000:12.1f}"
    )
    print(f"{'throughput (events/s)':24}{bot_rate:12.0f}{floor_rate:12.0f}")
    print(f"throughput ratio: {bot_rate / floor_rate:.0%} of the floor (target ≥ 33%)")
    print(f"p99 at {RATE}/s: {percentile(bot_latency, 0.99) * 1000:.1f} ms (target < 50 ms)")
    print(f"cases stored: {cases} of {sent} events sent ({'ok' if cases == sent else 'MISSING'})")
    waited = drained - (deadline - 300)
    print(
        f"casebook peak RSS: {rss:.0f} MB;"
        f" all {sent} cases stored {waited:.0f} s after the load ended"
    )


if __name__ == "__main__":
    main()
