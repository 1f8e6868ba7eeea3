"""The real Casebook (`run_chat`) running inside a test, with an HTTP session to talk to it."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any, Self

import aiohttp

from bot import app
from bot.config import Config


class RunningBot:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.stop = asyncio.Event()
        self.port: int | None = None
        self.session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Self:
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(
            app.run_chat(self.config, stop=self.stop, on_ready=ready.set_result)
        )
        self.port = await asyncio.wait_for(ready, 10)
        self.session = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        self.stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)
        if self.session is not None:
            await self.session.close()

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
