"""A loopback TCP proxy that holds back the first message a client sends with given bytes in it.

Two statements one connection sends in turn cannot otherwise be told apart from outside: held
at the second, a test can let another connection commit in between, every time, not just when
the timing happens to fall that way.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


@dataclass
class PausingProxy:
    """Forwards every connection to `url`'s host and port; `held` is set once the marked message
    has arrived, and it goes on only when `release` is set."""

    url: str
    marker: bytes
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on a free loopback port; the URL to connect through instead of `url`."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self.url)
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}127.0.0.1:{port}"))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        parts = urlsplit(self.url)
        server, to_server = await asyncio.open_connection(parts.hostname, parts.port or 5432)
        await asyncio.gather(
            self._pipe(client, to_server, watch=True), self._pipe(server, to_client)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, watch: bool = False
    ) -> None:
        seen = b""  # the end of what went before, in case the marker is split between reads
        try:
            while data := await reader.read(65536):
                if watch and not self.held.is_set() and self.marker in seen + data:
                    self.held.set()
                    await self.release.wait()
                seen = data[-len(self.marker) :]
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
