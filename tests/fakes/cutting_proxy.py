"""A loopback TCP proxy for one process's PostgreSQL traffic that can cut it off at the moment a
transaction of that process holds locks.

Armed, it watches what the server sends: a ReadyForQuery message says whether the connection is
in a transaction, and a transaction that has run a few statements (a claim's BEGIN, its look at
what is waiting, and its lock) holds what it took. From then on, every connection's traffic,
both ways, waits until `release` is set: on the server the session sits idle in its transaction,
exactly as when the process is frozen or its network is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

IN_TRANSACTION = b"Z\x00\x00\x00\x05T"  # ReadyForQuery, transaction status "in a transaction"
IDLE = b"Z\x00\x00\x00\x05I"  # ReadyForQuery, not in a transaction
STATEMENTS = 3  # statements a transaction has run before the cut: BEGIN, a look, a lock


@dataclass
class CuttingProxy:
    url: str
    on_cut: Callable[[], None] | None = None  # called once, the moment the cut happens
    cut: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _armed: bool = False
    _server: asyncio.Server | None = None
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> str:
        """Listen on a free loopback port; the URL to connect through instead of `url`."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self.url)
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}127.0.0.1:{port}"))

    def arm(self) -> None:
        """Cut at the next transaction that has run STATEMENTS statements."""
        self.release.clear()
        self.cut.clear()
        self._armed = True

    async def close(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        parts = urlsplit(self.url)
        try:
            server, to_server = await asyncio.open_connection(parts.hostname, parts.port or 5432)
        except OSError:
            to_client.close()
            return
        pipes = [
            asyncio.create_task(self._pipe(client, to_server, watch=False)),
            asyncio.create_task(self._pipe(server, to_client, watch=True)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, watch: bool
    ) -> None:
        statements = 0  # ReadyForQuery "in a transaction" since the last "idle"
        try:
            while data := await reader.read(65536):
                if self.cut.is_set():
                    await self.release.wait()
                writer.write(data)
                await writer.drain()
                if watch:
                    if IDLE in data:
                        statements = 0
                    statements += data.count(IN_TRANSACTION)
                    if self._armed and statements >= STATEMENTS:
                        self._armed = False
                        self.cut.set()
                        if self.on_cut is not None:
                            self.on_cut()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
