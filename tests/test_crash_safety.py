"""Crash safety: SIGKILL the real `casebook run` at random moments while Slack-signed reports
arrive; the client retries anything unacknowledged with the same event id, as Slack does.

Afterwards every acknowledged report is exactly one case and the database is intact. The short
form here runs in CI; CASEBOOK_SOAK_KILLS and CASEBOOK_SOAK_EVENTS make it a longer soak.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack_api import FakeSlackApi
from tests.slack_harness import SECRET, TOKEN, signature

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("CASEBOOK_SOAK_KILLS", "10"))
EVENTS = int(os.environ.get("CASEBOOK_SOAK_EVENTS", "240"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    """`casebook run --config F` as a separate process that can be killed and started again."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.port = port
        self.process: asyncio.subprocess.Process | None = None
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
        }

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config),
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    if response.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("casebook did not start")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        self.process.terminate()
        return await asyncio.wait_for(self.process.wait(), 20)


async def test_every_acknowledged_report_survives_repeated_sigkill(tmp_path: Path) -> None:
    fake = await FakeSlackApi().start()
    port = _free_port()
    database = tmp_path / "crash.db"
    config = tmp_path / "casebook.toml"
    config.write_text(
        f'[storage]\ndatabase = "{database}"\n[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "http"\napi_url = "{fake.url}/api/"\n'
        '[[schools]]\nname = "Northfield"\nslack_report_channels = ["CREPORT"]\n'
        'slack_leads = ["ULEAD"]\n',
        encoding="utf-8",
    )
    chance = random.Random(20261125)
    child = Child(config, port)
    acknowledged: set[int] = set()
    waiting = list(range(EVENTS))
    attempts = 0
    kills = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        await child.start(session)

        async def deliver(n: int) -> None:
            nonlocal attempts
            attempts += 1
            body = json.dumps(
                {
                    "type": "event_callback",
                    "team_id": "T1",
                    "event_id": f"EvCRASH{n}",
                    "event": {
                        "type": "message",
                        "user": f"U{n % 7}",
                        "channel": "CREPORT",
                        "channel_type": "channel",
                        "ts": f"{1700000000 + n}.000100",
                        "text": f"report {n} https://x.com/u/status/{n}",
                    },
                }
            )
            headers = {"Content-Type": "application/json", **signature(body, int(time.time()))}
            if attempts > EVENTS:
                headers["X-Slack-Retry-Num"] = "1"
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers
                ) as response:
                    if response.status == 200:
                        acknowledged.add(n)
            except (TimeoutError, aiohttp.ClientError):
                pass  # not acknowledged: Slack would retry, and so do we

        async def killer() -> None:
            nonlocal kills
            while kills < KILLS:
                await asyncio.sleep(chance.uniform(0.05, 0.5))
                await child.kill()
                kills += 1
                await child.start(session)

        killing = asyncio.create_task(killer())
        while waiting or not killing.done():
            batch, waiting = waiting[:8], waiting[8:]
            await asyncio.gather(*(deliver(n) for n in batch))
            waiting += [n for n in batch if n not in acknowledged]
            if not waiting and not killing.done():
                # Keep reports coming while the killer works: send acknowledged ones again,
                # which must be dropped as repeats.
                again = chance.sample(sorted(acknowledged), k=min(8, len(acknowledged)))
                await asyncio.gather(*(deliver(n) for n in again))
        await killing
        # Let the last start finish what the inbox holds, then stop it cleanly.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as raw:
                pending = raw.execute(
                    "SELECT count(*) FROM inbox WHERE processed_at IS NULL"
                ).fetchone()[0]
            if pending == 0:
                break
            await asyncio.sleep(0.1)
        assert await child.stop() == 0
    await fake.stop()

    assert kills >= 10 and acknowledged == set(range(EVENTS))
    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        links = [r[0] for r in raw.execute("SELECT canonical_url FROM case_links")]
        reporters = raw.execute("SELECT count(*) FROM case_reporters").fetchone()[0]
        cases = raw.execute("SELECT count(*) FROM cases").fetchone()[0]
        unprocessed = raw.execute(
            "SELECT count(*) FROM inbox WHERE processed_at IS NULL"
        ).fetchone()[0]
    assert unprocessed == 0
    assert cases == EVENTS == len(links) == len(set(links)) == reporters
    assert set(links) == {f"https://x.com/u/status/{n}" for n in range(EVENTS)}
