"""Turns at the one connection, where storing a new event goes before everything else.

A platform waits for its acknowledgement, and an acknowledgement waits for its event to be
committed; handling events already stored can wait a few milliseconds more. Under load the
worker queues transaction after transaction, so without priority each new event would wait for
whatever happens to be queued ahead of it. Ordinary turns give way for at most PATIENCE, so a
flood of new events delays the rest but never stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# The longest an ordinary turn lets urgent ones go first (seconds).
PATIENCE = 0.05


class Turns:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._urgent = 0
        self._no_urgent = asyncio.Event()
        self._no_urgent.set()

    @property
    def urgent_waiting(self) -> bool:
        """An urgent turn is held or waiting: long work should finish its transaction soon."""
        return self._urgent > 0

    @asynccontextmanager
    async def first(self) -> AsyncIterator[None]:
        """Hold the connection, ahead of every ordinary turn still waiting."""
        self._urgent += 1
        self._no_urgent.clear()
        try:
            async with self._lock:
                yield
        finally:
            self._urgent -= 1
            if self._urgent == 0:
                self._no_urgent.set()

    @asynccontextmanager
    async def ordinary(self) -> AsyncIterator[None]:
        """Hold the connection once no urgent turn is waiting, or once PATIENCE has passed:
        under a flood of new events, everything else still gets its turn."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while True:
            remaining = deadline - loop.time()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._no_urgent.wait()
            await self._lock.acquire()
            if self._urgent == 0 or loop.time() >= deadline:
                break
            # An urgent turn arrived while this one queued: the lock is fair (first come, first
            # served), so giving it back hands it to the urgent one.
            self._lock.release()
        try:
            yield
        finally:
            self._lock.release()
