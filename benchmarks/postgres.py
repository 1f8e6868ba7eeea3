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

Each event's school is drawn at random (the same draw every run), not from its number: the
processes take events in turn, as a round-robin load balancer would, so with the school taken
from the number too each process would see only half the schools. Beside the rates it prints
the CPU seconds (user + system) each part used per event over the same span: each bot process,
the PostgreSQL server (every process of the cluster, exited backends included), the fake Web API
and the load generator (this process, with its polling for the end), and how busy the whole
machine was, so a rate can be read against what the two cores had to give. `--runs N` repeats the
runs and prints each one's figures and the median.

throughput --cpu-share 0.2: the same, with each bot process held to the same CPU share (a cgroup
v2 CPU quota of 0.2 of a core each, in a group of its own), so that two processes have twice the
CPU of one whatever else the machine runs: on two cores the server, both bots, the fake Web API
and the load generator otherwise share them, and two processes reached only 1.14 times one. It
needs root and a cgroup v2 hierarchy whose CPU controller can be given to a new group; anywhere
else it says why and runs nothing.

digest: builds benchmarks/digest.py's 100 000 cases in SQLite, copies them to PostgreSQL with
`casebook db copy` (timed), then times the weekly digest, `casebook stats` and the JSON export
there, as benchmarks/digest.py does on SQLite.

`--smoke` (with either): 20 events to two processes on PostgreSQL (intake.py and replies.py run
SQLite's), or 200 cases, once, to check that it still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import hashlib
import hmac
import multiprocessing
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from intake import SECRET, TOKEN, free_port, signed, wait_ready

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres import Cluster, PostgresServer  # noqa: E402

CONCURRENCY = 100
SCHOOLS = 20  # a trust's: reports arrive for many schools at once, each its own report channel
TICK = os.sysconf("SC_CLK_TCK")
CPU_PERIOD_US = 100_000  # the quota's period: --cpu-share 0.2 is 20 ms of CPU in every 100 ms


class CpuShares:
    """A cgroup v2 group per bot process, each held to `share` of a core (`cpu.max`)."""

    def __init__(self, root: Path, share: float) -> None:
        self._root = root
        self._share = share
        self._groups: list[Path] = []

    @staticmethod
    def find(share: float) -> CpuShares | str:
        """The shares, or why they cannot be had here."""
        if os.geteuid() != 0:
            return "not running as root"
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        roots = [Path(line.split()[1]) for line in mounts if line.split()[2:3] == ["cgroup2"]]
        if not roots:
            return "no cgroup v2 hierarchy is mounted"
        root = roots[0]
        try:
            if "cpu" not in (root / "cgroup.controllers").read_text().split():
                return f"the CPU controller is not in {root} (it may be bound to cgroup v1)"
            (root / "cgroup.subtree_control").write_text("+cpu")
        except OSError as error:
            return f"the CPU controller of {root} cannot be given to a new group ({error})"
        return CpuShares(root, share)

    def group(self, name: str) -> Callable[[], None]:
        """A new group `name` with the quota, and what a child runs to move into it."""
        group = self._root / f"casebook-bench-{os.getpid()}-{name}"
        group.mkdir()
        self._groups.append(group)
        (group / "cpu.max").write_text(f"{round(self._share * CPU_PERIOD_US)} {CPU_PERIOD_US}")
        procs = group / "cgroup.procs"
        return lambda: procs.write_text("0")  # "0": the process writing it

    def remove(self) -> None:
        """Remove the groups (their processes have exited)."""
        for group in self._groups:
            with contextlib.suppress(OSError):
                group.rmdir()
        self._groups.clear()


@dataclass(frozen=True)
class Database:
    """A server to make databases on, and its postmaster's pid when it is ours to measure."""

    server: PostgresServer
    postmaster: int | None


@contextmanager
def server(url: str | None) -> Iterator[Database]:
    """The server named by `url`, or a throwaway one for the benchmark's length."""
    if url:
        yield Database(PostgresServer(url), None)
        return
    cluster = Cluster()
    try:
        started = cluster.start()
        pid = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield Database(started, pid)
    finally:
        cluster.stop()


def cpu_of(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds (user + system) a process has used, with its exited children's if `reaped`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICK


def cluster_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster: the postmaster with the backends it has reaped, and
    every child still running."""
    total = cpu_of(postmaster, reaped=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_of(int(entry.name))
        except (OSError, ValueError):
            continue  # gone meanwhile: its time is in the postmaster's reaped figure
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Meter:
    """CPU seconds of each part of a run, read before and after the burst."""

    bots: list[int]
    api: int
    postmaster: int | None
    readings: list[dict[str, float]] = field(default_factory=list)

    def read(self) -> None:
        reading = {f"bot {n + 1}": cpu_of(pid) for n, pid in enumerate(self.bots)}
        if self.postmaster is not None:
            reading["PostgreSQL"] = cluster_cpu(self.postmaster)
        reading["fake Web API"] = cpu_of(self.api)
        reading["load generator"] = own_cpu()
        reading["machine busy"], reading["machine total"] = machine_busy()
        self.readings.append(reading)

    def used(self) -> dict[str, float]:
        before, after = self.readings
        return {name: after[name] - before[name] for name in after}


@dataclass(frozen=True)
class Run:
    """One run's figures."""

    label: str
    acknowledged: float  # per second
    handled: float  # per second, end to end
    processed: float  # seconds from the first send until the last event was processed
    wall: float  # seconds from the first send until settled
    cpu: dict[str, float]  # CPU seconds by part over the same span


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


def schools_of(events: int) -> list[int]:
    """Each event's school: drawn at random, the same draw every run, and unrelated to which
    process the event goes to."""
    draw = random.Random(16)
    return [draw.randrange(SCHOOLS) for _ in range(events)]


def event(n: int, school: int) -> tuple[bytes, dict[str, str]]:
    """intake.py's signed event `n`, in the report channel of `school`."""
    body, headers = signed(n, "T")
    moved = body.replace(b'"CBENCH"', f'"{channel(school)}"'.encode())
    timestamp = headers["X-Slack-Request-Timestamp"]
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + moved, hashlib.sha256)
    return moved, headers | {"X-Slack-Signature": f"v0={digest.hexdigest()}"}


SETTLED = (
    "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL"
    " OR set_aside_at IS NOT NULL) >= $1,"
    " NOT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)"
)


async def wait_settled(store: str, events: int) -> float:
    """Until every event is processed (or set aside) and nothing is left unsent in the outbox;
    returns when the last event was processed (time.monotonic()). Polled: the work is another
    process's. One connection for all the polls: a new one each time would cost the server a
    backend start per poll, counted against the run."""
    processed: float | None = None
    if "://" in store:
        connection = await asyncpg.connect(store)
        try:
            while True:
                handled, sent = await connection.fetchrow(SETTLED, events)
                processed = processed or (time.monotonic() if handled else None)
                if handled and sent:
                    return processed or time.monotonic()
                await asyncio.sleep(0.05)
        finally:
            await connection.close()
    import sqlite3

    with sqlite3.connect(store) as db:
        while True:
            handled, sent = db.execute(SETTLED.replace("$1", "?"), (events,)).fetchone()
            processed = processed or (time.monotonic() if handled else None)
            if handled and sent:
                return processed or time.monotonic()
            await asyncio.sleep(0.05)


async def burst(
    urls: list[str], events: int, store: str, meter: Meter
) -> tuple[float, float, float]:
    """Send `events` events split in turn between `urls`; returns (acknowledged, processed,
    settled): the seconds from the first send until the last is answered, until the last is
    processed, and until everything is handled and sent."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(events):
        queue.put_nowait(n)
    schools = schools_of(events)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body, headers = event(n, schools[n])
                async with session.post(urls[n % len(urls)], data=body, headers=headers) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"status {reply.status}")

        meter.read()
        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        acknowledged = time.monotonic()
    processed = await wait_settled(store, events)
    handled = time.monotonic()
    meter.read()
    return acknowledged - started, processed - started, handled - started


def throughput_of(
    label: str,
    store: str,
    processes: int,
    events: int,
    folder: Path,
    postmaster: int | None,
    shares: CpuShares | None = None,
) -> Run:
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
            confine = None if shares is None else shares.group(f"bot{n + 1}")
            started.append(subprocess.Popen(command, env=env, cwd=ROOT, preexec_fn=confine))
            urls.append(f"http://127.0.0.1:{port}/slack/events")

        meter = Meter([p.pid for p in started[1:]], started[0].pid, postmaster)

        async def run() -> tuple[float, float, float]:
            for url in urls:
                await wait_ready(url)
            return await burst(urls, events, store, meter)

        acknowledged, processed, settled = asyncio.run(run())
        return Run(label, events / acknowledged, events / settled, processed, settled, meter.used())
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)
        if shares is not None:
            shares.remove()


def throughput(
    url: str | None,
    events: int,
    runs: int,
    sqlite: bool,
    smoke: bool = False,
    cpu_share: float | None = None,
) -> None:
    shares = None
    if cpu_share is not None:
        found = CpuShares.find(cpu_share)
        if isinstance(found, str):
            print(f"--cpu-share skipped: {found}; it needs root and a cgroup v2 CPU controller")
            return
        shares = found
    folder = Path(tempfile.mkdtemp(prefix="casebook-pg-bench-"))
    atexit.register(shutil.rmtree, folder, True)  # its database is gone with it
    share = "" if cpu_share is None else f", {cpu_share:g} core each"
    setups = [(f"SQLite, 1 process{share}", 1)] if sqlite else []
    # --smoke runs the two processes alone: one process is the same code, started once less.
    setups += [] if smoke else [(f"PostgreSQL, 1 process{share}", 1)]
    setups += [(f"PostgreSQL, 2 processes{share}", 2)]
    results: dict[str, list[Run]] = {label: [] for label, _ in setups}
    with server(url) as postgres:
        for _ in range(runs):
            for label, processes in setups:
                if label.startswith("SQLite"):
                    store = str(folder / f"sqlite-{len(results[label])}.db")
                else:
                    store = postgres.server.create_database()
                result = throughput_of(
                    label, store, processes, events, folder, postgres.postmaster, shares
                )
                results[label].append(result)
                show(result, events)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for label, _ in setups:
        rates = sorted(r.handled for r in results[label])
        print(
            f"{label:26} median {statistics.median(rates):6.0f} handled/s (runs: "
            + ", ".join(f"{r:.0f}" for r in rates)
            + ")"
        )
    if smoke:
        return
    one = statistics.median(r.handled for r in results[setups[-2][0]])
    two = statistics.median(r.handled for r in results[setups[-1][0]])
    print(f"two PostgreSQL processes handle {two / one:.2f} times what one does (target >= 1.6)")


def show(run: Run, events: int) -> None:
    """One run's rates, and each part's CPU per event and share of the span."""
    print(
        f"{run.label:26} {run.acknowledged:8.0f} acknowledged/s {run.handled:8.0f} handled/s"
        f" ({run.wall:.1f} s; the last event processed at {run.processed:.1f} s)",
        flush=True,
    )
    cpu = dict(run.cpu)
    busy, total = cpu.pop("machine busy"), cpu.pop("machine total")
    for name, seconds in cpu.items():
        print(
            f"    {name:16} {seconds * 1000 / events:6.2f} ms CPU/event"
            f" {seconds / run.wall:5.2f} cores",
            flush=True,
        )
    ours = sum(cpu.values())
    print(
        f"    {'all of the above':16} {ours * 1000 / events:6.2f} ms CPU/event"
        f" {ours / run.wall:5.2f} cores; whole machine {busy / run.wall:.2f} of"
        f" {total / run.wall:.2f} cores busy",
        flush=True,
    )


def digest_at_scale(url: str | None, smoke: bool) -> None:
    import digest as at_scale

    cases, rounds = (at_scale.SMOKE_CASES, 1) if smoke else (at_scale.CASES, at_scale.ROUNDS)
    path = Path(tempfile.mkdtemp(prefix="casebook-pg-digest-")) / "big.db"
    atexit.register(shutil.rmtree, path.parent, True)  # its database is gone with it
    started = time.perf_counter()
    builder = multiprocessing.get_context("spawn").Process(
        target=at_scale._build, args=(path, cases)
    )
    builder.start()
    builder.join()
    print(f"built {cases:,} cases in SQLite in {time.perf_counter() - started:.1f} s")
    with server(url) as postgres:
        target = postgres.server.create_database()
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
        asyncio.run(at_scale.run(path, store=target, rounds=rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("throughput", "digest"))
    parser.add_argument(
        "--url", help="a server to make the benchmark's databases on (default: a throwaway one)"
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1, help="throughput runs (medians printed)")
    parser.add_argument(
        "--no-sqlite", action="store_true", help="throughput on PostgreSQL only, not on SQLite"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, once: does it run?")
    parser.add_argument(
        "--cpu-share",
        type=float,
        help="throughput with each bot process held to this share of a core (cgroup v2, root)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.events, args.runs, args.no_sqlite = 20, 1, True
    if args.what == "throughput":
        throughput(args.url, args.events, args.runs, not args.no_sqlite, args.smoke, args.cpu_share)
    else:
        digest_at_scale(args.url, args.smoke)


if __name__ == "__main__":
    main()
