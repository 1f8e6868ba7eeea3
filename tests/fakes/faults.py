"""Faults both fake APIs can be told to show while a test runs, as real platforms do.

`Faults.set(...)` switches a mode on for every call (or for some methods only); `Faults.clear()`
switches it off, and calls waiting in a hang then get their answer. REFUSE closes the listening
socket, so clients get "connection refused", and opens it again on the same port when cleared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web


class Fault(StrEnum):
    NONE = "none"
    RATE_LIMIT = "429"  # 429 with Retry-After
    SERVER_ERROR = "500"  # 500 with a plain-text body, as a proxy in front of an API sends
    HANG = "hang"  # no answer until the fault is cleared
    REFUSE = "refuse"  # nothing listening


@dataclass
class Faults:
    mode: Fault = Fault.NONE
    methods: frozenset[str] | None = None  # None: every method
    retry_after: int = 1
    served: int = 0  # calls answered with a fault
    _cleared: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None
    _port: int = 0

    def attach(self, runner: web.AppRunner, port: int) -> None:
        self._runner = runner
        self._port = port
        self._site = next(iter(runner.sites), None)  # type: ignore[assignment]

    async def set(self, mode: Fault, methods: frozenset[str] | None = None) -> None:
        await self.clear()
        self.mode = mode
        self.methods = methods
        self._cleared = asyncio.Event()
        if mode is Fault.REFUSE and self._site is not None:
            await self._site.stop()

    async def clear(self) -> None:
        if self.mode is Fault.REFUSE and self._runner is not None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self._port)
            await self._site.start()
        self.mode = Fault.NONE
        self._cleared.set()

    def applies(self, method: str) -> bool:
        return self.mode is not Fault.NONE and (self.methods is None or method in self.methods)

    async def answer(
        self, method: str, rate_limited: Callable[[int], web.Response]
    ) -> web.Response | None:
        """The faulty answer to `method`, or None to answer normally."""
        if not self.applies(method):
            return None
        self.served += 1
        if self.mode is Fault.RATE_LIMIT:
            return rate_limited(self.retry_after)
        if self.mode is Fault.SERVER_ERROR:
            return web.Response(status=500, text="<html>Internal Server Error</html>")
        if self.mode is Fault.HANG:
            await self._cleared.wait()
        return None


FaultyAnswer = Callable[[str], Awaitable[web.Response | None]]
