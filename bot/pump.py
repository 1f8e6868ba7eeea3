"""The worker: one task handles what the inbox holds, and one task per transport sends what the
outbox holds for that transport.

Handling never waits on delivery, and one platform's deliveries never wait on another's: a Web
API that hangs or rate-limits holds back only its own messages. Adapters wake the handler after
they commit an event, the handler wakes the deliverers after it commits replies, and every task
also runs each `interval` seconds, so rows left by a crash or a failed send are picked up anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery import Delivery
from bot.router import Router
from handlers.events import Transport

log = logging.getLogger(__name__)

MAX_PAUSE = 30.0  # the longest handling waits after the database failed, before trying again
STOP_GRACE = 3.0  # seconds a stopping worker gives a send in flight before cancelling it


class Pump:
    def __init__(self, router: Router, delivery: Delivery, interval: float = 1.0) -> None:
        self._router = router
        self._delivery = delivery
        self._interval = interval
        self._inbox_woken = asyncio.Event()
        self._outbox_woken: dict[Transport, asyncio.Event] = {}

    def wake(self) -> None:
        """Something new is in the inbox or the outbox."""
        self._inbox_woken.set()
        self.wake_delivery()

    def wake_delivery(self) -> None:
        for woken in self._outbox_woken.values():
            woken.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run the handler and a deliverer per transport until `stop` is set. A send still in
        flight then gets STOP_GRACE seconds; its row stays claimed and is taken back at the
        next start."""
        self._outbox_woken = {t: asyncio.Event() for t in self._delivery.transports}
        tasks = [asyncio.create_task(self._handle(stop))]
        tasks += [asyncio.create_task(self._deliver(t, stop)) for t in self._outbox_woken]
        await stop.wait()
        _done, running = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in running:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self._inbox_woken.clear()
            pause = self._interval
            try:
                await self._router.process_pending(committed=self.wake_delivery)
                failures = 0
            except Exception as error:
                failures += 1
                pause = min(MAX_PAUSE, self._interval * 2**failures)
                log.warning(
                    "handling paused for %.0fs: %s (%s)", pause, type(error).__name__, error
                )
            await _wait_for(self._inbox_woken, stop, pause)

    async def _deliver(self, transport: Transport, stop: asyncio.Event) -> None:
        woken = self._outbox_woken[transport]
        while not stop.is_set():
            woken.clear()
            try:
                await self._delivery.flush(stop, (transport,), woken)
            except Exception as error:
                log.warning("delivery to %s failed: %s", transport, type(error).__name__)
            await _wait_for(woken, stop, self._interval)


async def _wait_for(woken: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Until woken, stopped, or `seconds` have passed."""
    waits = {asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())}
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
