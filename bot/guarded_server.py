"""Casebook's listening socket, guarded against clients that hold connections open.

aiohttp waits as long as a client likes for a request's headers and accepts as many connections
as arrive, so a few slow or idle clients could use up the process's open files, after which
every accept fails and asyncio reports each failure. Here each connection must send its request
headers within `header_timeout` seconds, at most `max_connections` are open at once (the rest
are closed as they arrive), and reports of failed accepts are logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256  # Slack and Telegram open a handful; health checks one at a time
HEADER_TIMEOUT = 10.0  # seconds a client has to send the headers of its request
KEEPALIVE_TIMEOUT = 15.0  # seconds an idle kept-alive connection stays open
ACCEPT_REPORT_EVERY = 60.0  # seconds between log lines about failed accepts


@dataclass
class Limits:
    max_connections: int = MAX_CONNECTIONS
    header_timeout: float = HEADER_TIMEOUT
    open: int = 0
    refused: int = 0
    timed_out: int = 0


@dataclass
class GuardedServer:
    """A started server: its port, and how to stop it (with the runner behind it)."""

    runner: web.AppRunner
    server: asyncio.Server
    limits: Limits

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def cleanup(self) -> None:
        self.server.close()
        await self.runner.cleanup()


async def serve_guarded(
    app: web.Application, host: str, port: int, limits: Limits | None = None
) -> GuardedServer:
    limits = limits or Limits()
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=KEEPALIVE_TIMEOUT)
    await runner.setup()
    handler = runner.server
    assert handler is not None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Guard(handler(), limits), host, port)
    return GuardedServer(runner, server, limits)


class _Guard(asyncio.Protocol):
    """Stands between the transport and aiohttp's protocol for one connection."""

    def __init__(self, inner: Any, limits: Limits) -> None:
        self._inner = inner
        self._limits = limits
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, to find the end of headers split over reads
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP server's are
        self._transport = transport
        if self._limits.open >= self._limits.max_connections:
            self._limits.refused += 1
            transport.abort()
            return
        self._limits.open += 1
        self._counted = True
        self._timer = asyncio.get_running_loop().call_later(
            self._limits.header_timeout, self._too_slow
        )
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            seen = self._tail + data
            if b"\r\n\r\n" in seen:
                self._timer.cancel()
                self._timer = None
            self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._counted:
            self._limits.open -= 1
            self._counted = False
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _too_slow(self) -> None:
        self._timer = None
        self._limits.timed_out += 1
        if self._transport is not None:
            self._transport.abort()


@dataclass
class AcceptReports:
    """An event-loop exception handler that lets through one report of failed accepts a
    minute (with how many there were), and everything else as usual."""

    every: float = ACCEPT_REPORT_EVERY
    _last: float = -1e9
    _quiet: int = 0
    _clock: Any = field(default=time.monotonic)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if not message.startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if now - self._last < self.every:
            self._quiet += 1
            return
        error = context.get("exception")
        log.error(
            "cannot accept connections: %s (%s more like it since the last report)",
            type(error).__name__ if error else "out of resources",
            self._quiet,
        )
        self._last = now
        self._quiet = 0
