"""Fault benchmark: Casebook in Slack HTTP mode while its Web API misbehaves or its disk locks.

Run by hand: `python benchmarks/faults.py` (from the repository, with the project installed).
Each row starts a fresh `casebook run` process, sends EVENTS signed message events (sending
again, as Slack does, whatever was not answered 200), keeps the fault on for FAULT_SECONDS,
then clears it and waits until every case has had its first reply. It prints a table:
  fault, events sent (with resends), acknowledged, cases, repeated first replies, and the time
  from clearing the fault until the last first reply went out.
"""

from __future__ import annotations

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
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import messages  # noqa: E402
from storage.models import Platform  # noqa: E402
from tests.fakes.faults import Fault  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

SECRET = "bench-signing-secret"
EVENTS = 200
FAULT_SECONDS = 10.0


Clear = Callable[[], Awaitable[None]]  # ends a fault
StartFault = Callable[["FakeSlackApi", "Child"], Awaitable[Clear]]


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


def first_replies(api: FakeSlackApi) -> Counter[str]:
    wanted = {messages.case_logged(n, Platform.X) for n in range(1, EVENTS + 1)}
    return Counter(c.args.get("text", "") for c in api.calls if c.args.get("text") in wanted)


def hold_lock(database: Path, seconds: float, held: threading.Event) -> None:
    with sqlite3.connect(database, isolation_level=None) as raw:
        raw.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        raw.execute("COMMIT")


async def scenario(
    name: str,
    fault: StartFault,
) -> list[str]:
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

            clear = await fault(api, child)
            first = asyncio.gather(*(send(n) for n in range(EVENTS)))
            await asyncio.sleep(FAULT_SECONDS)
            await first
            first_try = len(acknowledged)
            await clear()
            cleared = time.monotonic()
            for _ in range(20):
                missing = [n for n in range(EVENTS) if n not in acknowledged]
                if not missing:
                    break
                await asyncio.gather(*(send(n) for n in missing))
            recovered = float("nan")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                replies = first_replies(api)
                if len(replies) >= EVENTS:
                    recovered = time.monotonic() - cleared
                    break
                await asyncio.sleep(0.1)
            await child.stop()
            replies = first_replies(api)
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
    async def start(api: FakeSlackApi, _child: Child) -> Clear:
        await api.faults.set(mode)
        return api.faults.clear

    return start


async def database_lock(api: FakeSlackApi, child: Child) -> Clear:
    held = threading.Event()
    locker = threading.Thread(target=hold_lock, args=(child.database, 8.0, held))
    locker.start()
    await asyncio.to_thread(held.wait)

    async def clear() -> None:
        await asyncio.to_thread(locker.join)

    return clear


async def sigkill(api: FakeSlackApi, child: Child) -> Clear:
    async def kill_later() -> None:
        await asyncio.sleep(0.3)
        await child.kill()

    killing = asyncio.create_task(kill_later())

    async def clear() -> None:
        await killing
        async with aiohttp.ClientSession() as session:
            await child.start(session)

    return clear


async def main() -> None:
    rows = [["fault", "events sent", "acknowledged", "cases", "repeated", "recovery"]]
    for name, fault in (
        ("Web API 429 from the start", api_fault(Fault.RATE_LIMIT)),
        ("Web API 500 (HTML body)", api_fault(Fault.SERVER_ERROR)),
        ("Web API hangs", api_fault(Fault.HANG)),
        ("Web API refuses connections", api_fault(Fault.REFUSE)),
        ("database locked 8 s", database_lock),
        ("kill -9 mid-burst, restart", sigkill),
    ):
        rows.append(await scenario(name, fault))
        print(" | ".join(rows[-1]), flush=True)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    asyncio.run(main())
