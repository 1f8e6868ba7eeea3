"""Group commit for the inbox: events that arrive together are stored in one transaction.

Every event must be committed before the platform is acknowledged, and each commit is a trip to
the database thread plus a sync to disk. Under load, events that arrive while one commit is
running wait for the next, which takes all of them at once: one commit for many events, and
still no acknowledgement before its event is on disk.

An event not committed within STORE_DEADLINE is refused: the platform (or a load balancer in
front of several processes) sends it again, perhaps to another process, rather than waiting on
one whose database does not answer. The commit may still happen; the event id makes the
second delivery a repeat.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.clock import Clock
from storage.store import Store

STORE_DEADLINE = 2.0  # seconds an event has to be committed before it is refused


@dataclass(frozen=True)
class _Waiting:
    source: str
    event_id: str
    payload: str
    stored: asyncio.Future[bool]


class InboxWriter:
    def __init__(self, database: Store, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, source: str, event_id: str, payload: str) -> bool:
        """Store an event; True once it is committed, False if this event id was already stored.

        Raises what the commit raised, or TimeoutError after STORE_DEADLINE, so the caller
        answers with an error and the platform sends the event again.
        """
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        # If this caller gives up, nobody reads a failure: mark it read so asyncio does not
        # report it at garbage collection.
        stored.add_done_callback(_read_failure)
        self._waiting.append(_Waiting(source, event_id, payload, stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # A caller that gives up (its client hung up, or the deadline passed) cancels only its
        # own future: the commit runs in the writer task, for the whole batch.
        async with asyncio.timeout(STORE_DEADLINE):
            return await stored

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._database.transaction(first=True) as unit:
                    now = self._clock.now()
                    added = [
                        await unit.inbox.add(item.source, item.event_id, item.payload, now)
                        for item in batch
                    ]
            except Exception as error:
                for item in batch:
                    if not item.stored.done():
                        item.stored.set_exception(error)
                continue
            for item, result in zip(batch, added, strict=True):
                if not item.stored.done():
                    item.stored.set_result(result)


def _read_failure(stored: asyncio.Future[bool]) -> None:
    if not stored.cancelled():
        stored.exception()
