"""The real Casebook (`run_chat`) running inside a test, with an HTTP session to talk to it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Self

import aiohttp

from bot import app
from bot.adapters.slack_config import SLACK
from bot.adapters.teams.config import TEAMS
from bot.adapters.telegram_config import TELEGRAM
from bot.clock import Clock, SystemClock
from handlers.settings import Config
from storage.store import open_store


class RunningBot:
    """`introduced=True` (the default) starts as a deployment that has run before: every report
    place has had its first message, so tests of other behaviour see only the replies they
    are about. Tests of the first message itself pass False."""

    def __init__(
        self,
        config: Config,
        introduced: bool = True,
        clock: Clock | None = None,
        scheduler_interval: float = app.SCHEDULER_INTERVAL,
    ) -> None:
        self.config = config
        self.introduced = introduced
        self.clock = clock
        self.scheduler_interval = scheduler_interval
        self.stop = asyncio.Event()
        self.port: int | None = None
        self.session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, connected: bool = True) -> Self:
        """Run Casebook; with `connected`, wait until /healthz says every part works (the
        platforms are reached in the background, so a bot that has started has not yet)."""
        if self.introduced:
            await introduce_all(self.config)
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(
            app.run_chat(
                self.config,
                self.clock,
                stop=self.stop,
                on_ready=ready.set_result,
                scheduler_interval=self.scheduler_interval,
            )
        )
        self.port = await asyncio.wait_for(ready, 10)
        self.session = aiohttp.ClientSession()
        if connected:
            await self.health_until(200)
        return self

    async def close(self) -> None:
        self.stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
        if self.session is not None:
            await self.session.close()

    def waiting(self) -> int:
        """Inbox items not yet handled, and outbox messages not yet sent (or given up on)."""
        with sqlite3.connect(self.config.storage.database) as db:
            inbox = db.execute(
                "SELECT count(*) FROM inbox WHERE processed_at IS NULL AND set_aside_at IS NULL"
            ).fetchone()[0]
            outbox = db.execute(
                "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
            ).fetchone()[0]
        return int(inbox) + int(outbox)

    async def drained(self, timeout: float = 10.0) -> None:
        """Wait until everything acknowledged so far is handled and its replies sent: an event
        is in the inbox before its acknowledgement, so after this nothing more comes of it."""
        await until(lambda: self.waiting() == 0, timeout)

    def count(self, table: str = "cases") -> int:
        with sqlite3.connect(self.config.storage.database) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    async def health_until(
        self,
        status: int,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda body: True,
    ) -> dict[str, Any]:
        """The body of /healthz once it answers `status` (with a body `where` accepts), asking
        again until `timeout`."""
        assert self.session is not None
        deadline = time.monotonic() + timeout
        while True:
            async with self.session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                body: dict[str, Any] = await response.json()
                if response.status == status and where(body):
                    return body
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz never answered {status}: {body}")
            await asyncio.sleep(0.05)


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait for `condition()` to hold, asking again every 20 ms; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def introduce_all(config: Config) -> None:
    """Mark every configured report place as already given its first message."""
    places = [
        (t, c)
        for s in config.schools
        for t in (SLACK, TELEGRAM, TEAMS)
        for c in s.on(t).report_places
    ]
    database = await open_store(config.storage.target)
    try:
        async with database.transaction() as unit:
            for transport, place in places:
                await unit.places.first_visit(transport, place, SystemClock().now())
    finally:
        await database.close()
