"""Fault benchmark: Casebook in Slack HTTP mode while its Web API misbehaves or its disk locks.

Run by hand: `python benchmarks/faults.py` (from the repository, with the project installed);
`--stalls` runs only the two-process rows, `--flood` only the Telegram flood.
Each row starts a fresh `casebook run` process, sends EVENTS signed message events (sending
again, as Slack does, whatever was not answered 200), keeps the fault on for FAULT_SECONDS,
then clears it and waits until every case has had its first reply. It prints a table:
  fault, events sent (with resends), acknowledged, cases, repeated first replies, and the time
  from clearing the fault until the last first reply went out.
`--smoke`: 10 events, faults of under a second and one Web API fault of the four, to check
that it still runs.

Then, on a throwaway PostgreSQL (skipped with a message where none can be started), two
processes under steady load (tests/stall.py), one of them frozen with SIGSTOP or cut off from
the database for STALL_SECONDS the moment one of its transactions has taken a lock. It prints,
per fault: events acknowledged of those sent, cases, repeated first replies, the other
process's slowest first reply to an event it took during the stall (and how many waited over
10 s), and what the stuck process answered meanwhile and how long it took at most.

Then Telegram flood control: a `casebook run` in Telegram webhook mode is sent EVENTS reports
(from 50 people in one group) while the fake Bot API answers every send 429 with `retry_after`
1 s, then 5 s, for FLOOD_SECONDS. It prints the 429s answered, calls made to a chat sooner than
`retry_after` after its 429, outbox rows given up, first replies ("logged as case #N") that
arrived, and the time from the end of the flood until the last of them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers import messages  # noqa: E402
from storage.models import Platform  # noqa: E402
from tests.fakes.faults import Fault  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramApi, message_update  # noqa: E402

SECRET = "bench-signing-secret"
EVENTS = 200
FAULT_SECONDS = 10.0
LOCK_SECONDS = 8.0
FLOOD_SECONDS = 20.0
GROUP = -100111
WEBHOOK_SECRET = "bench-webhook-secret"


@dataclass(frozen=True)
class Sizes:
    smoke: bool = False  # one Web API fault of the four: they take the same path
    events: int = EVENTS
    fault_seconds: float = FAULT_SECONDS  # how long each fault lasts
    lock_seconds: float = LOCK_SECONDS  # how long the database is held locked


SMOKE = Sizes(smoke=True, events=10, fault_seconds=0.3, lock_seconds=0.5)
Clear = Callable[[], Awaitable[None]]  # ends a fault
StartFault = Callable[["FakeSlackApi", "Child", Sizes], Awaitable[Clear]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    def __init__(self, folder: Path, api: FakeSlackApi) -> None:
        self.port = free_port()
        self.database = folder / "faults.db"
        self.config = folder / "casebook.toml"
        self.config.write_text(
            f'[storage]\ndatabase = "{self.database}"\n'
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'[slack]\nmode = "http"\napi_url = "{api.url}/api/"\n'
            '[[schools]]\nname = "Northfield"\nslack_report_channels = ["CREPORT"]\n',
            encoding="utf-8",
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config),
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": SECRET,
            },
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/healthz"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        raise RuntimeError("casebook did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        await asyncio.wait_for(self.process.wait(), 20)

    def cases(self) -> int:
        with sqlite3.connect(self.database) as raw:
            return int(raw.execute("SELECT count(*) FROM cases").fetchone()[0])


def signed(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": f"EvF{n}",
            "event": {
                "type": "message",
                # Enough staff that nobody's replies fold (handlers/report_folds.py).
                "user": f"U{n % 25}",
                "channel": "CREPORT",
                "channel_type": "channel",
                "ts": f"{1700000000 + n}.000100",
                "text": f"report {n} https://x.com/u/status/{n}",
            },
        }
    ).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


def first_replies(api: FakeSlackApi, events: int) -> Counter[str]:
    wanted = {messages.case_logged(n, Platform.X) for n in range(1, events + 1)}
    return Counter(c.args.get("text", "") for c in api.calls if c.args.get("text") in wanted)


def hold_lock(database: Path, seconds: float, held: threading.Event) -> None:
    with sqlite3.connect(database, isolation_level=None) as raw:
        raw.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        raw.execute("COMMIT")


async def scenario(name: str, fault: StartFault, sizes: Sizes) -> list[str]:
    api = await FakeSlackApi().start()
    with tempfile.TemporaryDirectory() as folder:
        child = Child(Path(folder), api)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await child.start(session)
            acknowledged: set[int] = set()
            sent = 0

            async def send(n: int) -> None:
                nonlocal sent
                sent += 1
                body, headers = signed(n)
                url = f"http://127.0.0.1:{child.port}/slack/events"
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        if response.status == 200:
                            acknowledged.add(n)
                except (TimeoutError, aiohttp.ClientError):
                    pass

            clear = await fault(api, child, sizes)
            first = asyncio.gather(*(send(n) for n in range(sizes.events)))
            await asyncio.sleep(sizes.fault_seconds)
            await first
            first_try = len(acknowledged)
            await clear()
            cleared = time.monotonic()
            for _ in range(20):
                missing = [n for n in range(sizes.events) if n not in acknowledged]
                if not missing:
                    break
                await asyncio.gather(*(send(n) for n in missing))
            recovered = float("nan")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                replies = first_replies(api, sizes.events)
                if len(replies) >= sizes.events:
                    recovered = time.monotonic() - cleared
                    break
                await asyncio.sleep(0.1)
            await child.stop()
            replies = first_replies(api, sizes.events)
            repeated = sum(count - 1 for count in replies.values())
            cases = child.cases()
    await api.stop()
    return [
        name,
        str(sent),
        f"{first_try} first try, {len(acknowledged)} in all",
        str(cases),
        str(repeated),
        f"{recovered:.1f} s",
    ]


def api_fault(mode: Fault) -> StartFault:
    async def start(api: FakeSlackApi, _child: Child, _sizes: Sizes) -> Clear:
        await api.faults.set(mode)
        return api.faults.clear

    return start


async def database_lock(api: FakeSlackApi, child: Child, sizes: Sizes) -> Clear:
    held = threading.Event()
    locker = threading.Thread(target=hold_lock, args=(child.database, sizes.lock_seconds, held))
    locker.start()
    await asyncio.to_thread(held.wait)

    async def clear() -> None:
        await asyncio.to_thread(locker.join)

    return clear


async def sigkill(api: FakeSlackApi, child: Child, _sizes: Sizes) -> Clear:
    async def kill_later() -> None:
        await asyncio.sleep(0.3)
        await child.kill()

    killing = asyncio.create_task(kill_later())

    async def clear() -> None:
        await killing
        async with aiohttp.ClientSession() as session:
            await child.start(session)

    return clear


async def telegram_flood(retry_after: int) -> list[str]:
    """EVENTS Telegram reports through a flood of FLOOD_SECONDS answering `retry_after`."""
    api = await FakeTelegramApi().start()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "flood.db"
        port = free_port()
        config = Path(folder) / "casebook.toml"
        config.write_text(
            f'[storage]\ndatabase = "{database}"\n'
            f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
            f'[telegram]\nmode = "webhook"\napi_url = "{api.url}"\n'
            'webhook_url = "https://casebook.example.org/telegram/webhook"\n'
            f'[[schools]]\nname = "Northfield"\ntelegram_report_chats = [{GROUP}]\n'
            "telegram_leads = [900]\ntelegram_digest_chat = -100999\n",
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "run", "--config", str(config)),
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            },
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for _ in range(300):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            api.start_flood(FLOOD_SECONDS, retry_after)
            flood_ends = time.monotonic() + FLOOD_SECONDS
            acknowledged = 0
            for n in range(EVENTS):
                update = message_update(
                    f"report {n} https://x.com/u/status/{n}",
                    chat=GROUP,
                    user=601 + n % 50,
                    username=f"staff{n % 50}",
                )
                async with session.post(url, json=update, headers=headers) as response:
                    acknowledged += response.status == 200
        wanted = {messages.case_logged(n, Platform.X) for n in range(1, EVENTS + 1)}

        def logged() -> Counter[str]:
            texts = (args.get("text", "") for args in api.of("sendMessage"))
            return Counter(text for text in texts if text in wanted)

        last = float("nan")
        deadline = flood_ends + 120
        while time.monotonic() < deadline:
            if len(logged()) >= EVENTS:
                last = time.monotonic() - flood_ends
                break
            await asyncio.sleep(0.1)
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
        with sqlite3.connect(database) as raw:
            given_up = raw.execute("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")
            failed = int(given_up.fetchone()[0])
        replies = logged()
    await api.stop()
    floods = sum(1 for method, _ in api.calls if method.endswith("!429"))
    return [
        f"Telegram 429 retry_after={retry_after} s for {FLOOD_SECONDS:.0f} s",
        f"{acknowledged} of {EVENTS}",
        str(floods),
        str(len(api.early_calls(retry_after))),
        str(failed),
        f"{len(replies)} of {EVENTS}, {sum(replies.values()) - len(replies)} repeated",
        f"{last:.1f} s",
    ]


STALL_SECONDS = 75.0


async def stall_scenario(frozen: bool) -> list[str]:
    from tests.fakes.cutting_proxy import CuttingProxy
    from tests.postgres import Cluster
    from tests.processes import query
    from tests.stall import introduce, run_with_stall

    cluster = Cluster()
    server = cluster.start()
    api = await FakeSlackApi().start()
    try:
        url = server.create_database()
        await introduce(url)
        proxy = CuttingProxy(url)
        with tempfile.TemporaryDirectory() as folder:
            try:
                stall = await run_with_stall(
                    url, proxy, Path(folder), api, frozen=frozen, stall=STALL_SECONDS
                )
            finally:
                await proxy.close()
        cases = await query(url, "SELECT count(*) FROM cases")
    finally:
        await api.stop()
        cluster.stop()
    waits = stall.waits_at_the_other()
    answers = stall.answers_of_the_stuck()
    statuses = Counter("none" if status is None else str(status) for status, _ in answers)
    logged = {messages.case_logged(n, Platform.X) for n in range(1, cases + 1)}
    announced = Counter(
        c.get("channel") for c in api.of("chat.postMessage") if c.get("text") in logged
    )
    return [
        f"{'SIGSTOP' if frozen else 'cut off from PostgreSQL'} {STALL_SECONDS:.0f} s",
        f"{len(stall.load.acknowledged)} of {stall.load.sent}",
        str(cases),
        str(sum(count - 1 for count in announced.values())),
        f"{max(waits):.1f} s ({sum(w > 10 for w in waits)} of {len(waits)} over 10 s)",
        ", ".join(f"{n}x {s}" for s, n in sorted(statuses.items()))
        + f"; at most {max(s for _, s in answers):.1f} s",
    ]


async def stalls() -> None:
    from tests.postgres import PostgresUnavailable

    rows = [["fault", "acknowledged", "cases", "repeated", "other's slowest", "stuck answered"]]
    for frozen in (True, False):
        try:
            rows.append(await stall_scenario(frozen))
        except PostgresUnavailable as error:
            print(f"two-process faults skipped: {error}")
            return
        print(" | ".join(rows[-1]), flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


async def main(sizes: Sizes) -> None:
    rows = [["fault", "events sent", "acknowledged", "cases", "repeated", "recovery"]]
    api_faults = [
        ("Web API 429 from the start", api_fault(Fault.RATE_LIMIT)),
        ("Web API 500 (HTML body)", api_fault(Fault.SERVER_ERROR)),
        ("Web API hangs", api_fault(Fault.HANG)),
        ("Web API refuses connections", api_fault(Fault.REFUSE)),
    ]
    for name, fault in (
        *(api_faults[1:2] if sizes.smoke else api_faults),
        (f"database locked {sizes.lock_seconds:g} s", database_lock),
        ("kill -9 mid-burst, restart", sigkill),
    ):
        rows.append(await scenario(name, fault, sizes))
        print(" | ".join(rows[-1]), flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


async def floods() -> None:
    rows = [
        [
            "flood",
            "acknowledged",
            "429s",
            "calls sooner than retry_after",
            "rows given up",
            "first replies",
            "last one after the flood",
        ]
    ]
    for retry_after in (1, 5):
        rows.append(await telegram_flood(retry_after))
        print(" | ".join(rows[-1]), flush=True)
    table(rows)


def table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    parser.add_argument(
        "--stalls", action="store_true", help="only the two-process stalls on PostgreSQL"
    )
    parser.add_argument("--flood", action="store_true", help="only the Telegram flood")
    arguments = parser.parse_args()
    alone = arguments.stalls or arguments.flood
    if not alone:
        asyncio.run(main(SMOKE if arguments.smoke else Sizes()))
    # Floods and stalls last FLOOD_SECONDS and STALL_SECONDS: no smoke size for them.
    if arguments.flood or not (alone or arguments.smoke):
        asyncio.run(floods())
    if arguments.stalls or not (alone or arguments.smoke):
        asyncio.run(stalls())
