"""The worker loop: handle what the inbox holds, then send what the outbox holds.

Adapters wake it after they commit an event; it also runs every second, so rows left by a crash
or a failed send are picked up without anyone waking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery import Delivery
from bot.router import Router

log = logging.getLogger(__name__)


class Pump:
    def __init__(self, router: Router, delivery: Delivery, interval: float = 1.0) -> None:
        self._router = router
        self._delivery = delivery
        self._interval = interval
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run_once(self, stop: asyncio.Event | None = None) -> None:
        await self._router.process_pending()
        await self._delivery.flush(stop)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; a failed round is logged and the next round tries again."""
        while not stop.is_set():
            self._woken.clear()
            try:
                await self.run_once(stop)
            except Exception as error:
                log.error("worker round failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait(stop), timeout=self._interval)

    async def _wait(self, stop: asyncio.Event) -> None:
        woken = asyncio.ensure_future(self._woken.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            stopped.cancel()
