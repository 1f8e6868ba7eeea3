"""The real Casebook (`run_chat`) running inside a test, with an HTTP session to talk to it."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Self

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
