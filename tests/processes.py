"""Real `casebook run` processes in Slack HTTP mode, several on one database, and a load of
signed events for them, for tests of what several processes promise together.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.fakes.slack_api import FakeSlackApi
from tests.postgres import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "processes-signing-secret"
TOKEN = "xoxb-processes-token"
CHANNEL = "CREPORT"
LEADS = "CLEADS"
LEAD = "ULEAD"


def config_text(store: str, port: int, slack: FakeSlackApi) -> str:
    """A Casebook config for one process: `store` is a file path or a postgresql:// URL."""
    storage = f'url = "{store}"' if "://" in store else f'database = "{store}"'
    return (
        f"[storage]\n{storage}\n"
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "http"\napi_url = "{slack.url}/api/"\n'
        '[[schools]]\nname = "Northfield"\n'
        f'slack_report_channels = ["{CHANNEL}"]\nslack_leads = ["{LEAD}"]\n'
        f'slack_digest_channel = "{LEADS}"\n'
    )


@dataclass
class CasebookProcess:
    """One `casebook run`, started with `start()` and ended with `stop()` or `kill()`."""

    store: str
    slack: FakeSlackApi
    folder: Path
    name: str
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, session: aiohttp.ClientSession) -> None:
        config = self.folder / f"{self.name}.toml"
        config.write_text(config_text(self.store, self.port, self.slack), encoding="utf-8")
        log = (self.folder / f"{self.name}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
            },
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        await self.healthy(session)

    async def healthy(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        """Wait until /healthz says 200, or fail with the process's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} never became healthy:\n{self.log()}")

    def log(self) -> str:
        return (self.folder / f"{self.name}.log").read_text(errors="replace")

    async def kill(self) -> None:
        """As `kill -9`: no chance to finish anything."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                await self.kill()
        assert self.process.returncode is not None
        return self.process.returncode


def signed_event(n: int, retry: int = 0) -> tuple[bytes, dict[str, str]]:
    """Event `n`: a report by its own person, with its own link, signed as Slack signs."""
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": f"Ev{n:05d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "message",
                "user": f"U{n:05d}",
                "channel": CHANNEL,
                "channel_type": "channel",
                "ts": f"{1700000000 + n}.000100",
                "text": f"report {n} https://x.com/u/status/{n}",
            },
        }
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return body, headers


async def post_event(session: aiohttp.ClientSession, url: str, n: int, retry: int = 0) -> bool:
    """Send event `n`; True if it was acknowledged (HTTP 200)."""
    body, headers = signed_event(n, retry)
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


@dataclass
class Burst:
    """Which events each process acknowledged."""

    acknowledged: set[int] = field(default_factory=set)
    by_process: dict[str, set[int]] = field(default_factory=dict)


async def burst(
    session: aiohttp.ClientSession,
    processes: Sequence[CasebookProcess],
    events: Sequence[int],
    concurrency: int = 40,
    twice_every: int = 10,
    resends: int = 0,
) -> Burst:
    """Send each event to one process in turn, and every `twice_every`-th also to the next one,
    as Slack resends an event it thinks was lost; then, `resends` times, send again to the other
    process each event that no process acknowledged (a 5xx or a timeout), as Slack does too."""
    result = Burst(by_process={p.name: set() for p in processes})
    gate = asyncio.Semaphore(concurrency)

    async def send(n: int, process: CasebookProcess, retry: int) -> None:
        async with gate:
            if await post_event(session, process.url, n, retry):
                result.acknowledged.add(n)
                result.by_process[process.name].add(n)

    sends: list[Any] = []
    for i, n in enumerate(events):
        first = processes[i % len(processes)]
        sends.append(send(n, first, 0))
        if twice_every and n % twice_every == 0:
            sends.append(send(n, processes[(i + 1) % len(processes)], 1))
    await asyncio.gather(*sends)
    for retry in range(2, resends + 2):
        missing = [(i, n) for i, n in enumerate(events) if n not in result.acknowledged]
        await asyncio.gather(
            *(send(n, processes[(i + retry) % len(processes)], retry) for i, n in missing)
        )
    return result


async def query(store: str, sql: str) -> Any:
    """One value, read from outside both processes."""
    if "://" in store:
        connection = await asyncpg.connect(store)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()
    with sqlite3.connect(store) as db:
        return db.execute(sql).fetchone()[0]


async def until_done(store: str, expected_cases: int, timeout: float = 180.0) -> None:
    """Until every stored event is handled and every queued message sent (or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cases = await query(store, "SELECT count(*) FROM cases")
        waiting = await query(
            store,
            "SELECT (SELECT count(*) FROM inbox WHERE processed_at IS NULL)"
            " + (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL)",
        )
        if cases >= expected_cases and waiting == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not done in {timeout} s: {cases} cases, {waiting} items waiting")
