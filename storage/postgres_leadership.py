"""Leadership among Casebook processes sharing one PostgreSQL database: whoever holds a
session-level advisory lock, on a connection kept for that alone, leads (storage/leadership.py).

The lock lives exactly as long as its session, so a leader that dies, or loses its connection,
frees it; the others poll with pg_try_advisory_lock and one takes over within a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

# The advisory lock's key. Advisory locks are per database, so deployments sharing a server
# but not a database do not contend.
SCHEDULER_LOCK = 0x43_41_53_45_42_4F_4F_4B  # "CASEBOOK"
POLL_SECONDS = 15.0  # a follower's look at the lock; a dead leader is replaced within this
CONNECT_SECONDS = 10.0


class AdvisoryLeadership:
    """Leadership among processes sharing one PostgreSQL database, by an advisory lock held on
    a dedicated connection."""

    def __init__(self, url: str, poll: float = POLL_SECONDS, key: int = SCHEDULER_LOCK) -> None:
        self._url = url
        self._poll = poll
        self._key = key
        self._connection: Any = None  # asyncpg.Connection, holding the lock while leading
        self._leading = False
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the dedicated connection

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self, on_lead: Callable[[], None]) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._keep_trying(on_lead))

    async def confirm(self) -> bool:
        if not self._leading:
            return False
        # The lock is the session's for as long as the session lives: a statement that
        # succeeds on it proves the lock is still held.
        try:
            async with self._lock:
                await self._connection.fetchval("SELECT 1", timeout=CONNECT_SECONDS)
        except Exception as error:
            await self._lose(error)
        return self._leading

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_connection()
        self._leading = False

    async def _keep_trying(self, on_lead: Callable[[], None]) -> None:
        while True:
            if self._leading:
                await self.confirm()
            else:
                try:
                    if await self._try_lock():
                        log.info("leading the scheduler")
                        on_lead()
                except Exception as error:
                    log.warning("cannot reach the database to lead: %s", type(error).__name__)
                    await self._drop_connection()
            await asyncio.sleep(self._poll)

    async def _try_lock(self) -> bool:
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._url, timeout=CONNECT_SECONDS)
            got = await self._connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", self._key, timeout=CONNECT_SECONDS
            )
        self._leading = bool(got)
        return self._leading

    async def _lose(self, error: BaseException) -> None:
        if self._leading:
            log.warning("no longer leading the scheduler: %s", type(error).__name__)
        self._leading = False
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Closing ends the session, which releases the lock; terminate() if it will not.
            try:
                await asyncio.wait_for(connection.close(), CONNECT_SECONDS)
            except Exception:
                connection.terminate()
