"""What /healthz reports: the truth about the database, the inbox and each chat platform.

Each check says ok or why not. The database must take a write within a second (a held lock, a
full disk or an unwritable file fail it); the oldest event waiting in the inbox must be younger
than STALE_INBOX; each platform must be reachable and its last delivery must have gone out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from bot.adapters.chat import ChatTransport
from bot.clock import Clock
from bot.delivery import Delivery
from storage.store import Probe, Store

WRITE_DEADLINE = 0.8  # seconds the database has to take a write; /healthz answers within 1 s
STALE_INBOX = timedelta(seconds=60)  # an event waiting longer means handling is stuck


class Health:
    def __init__(
        self,
        database: Store,
        delivery: Delivery,
        chats: Sequence[ChatTransport],
        clock: Clock,
    ) -> None:
        self._database = database
        self._delivery = delivery
        self._chats = chats
        self._clock = clock
        self._probing: asyncio.Task[Probe] | None = None

    async def check(self, *, worker: bool, scheduler: bool) -> tuple[bool, dict[str, object]]:
        """(healthy, body): one boolean per part, and a `problems` map saying what is wrong."""
        checks: dict[str, bool] = {}
        problems: dict[str, str] = {}
        probe = await self._probe()
        checks["database"] = not probe.error
        if probe.error:
            problems["database"] = probe.error
        waiting = 0
        if probe.oldest_pending is not None:
            waiting = max(0, int((self._clock.now() - probe.oldest_pending).total_seconds()))
        checks["inbox"] = timedelta(seconds=waiting) < STALE_INBOX
        if not checks["inbox"]:
            problems["inbox"] = f"an event has waited {waiting}s to be handled"
        for chat in self._chats:
            name = chat.transport
            reachable, why = await chat.health()
            outcome = self._delivery.outcomes.get(chat.transport)
            if reachable and outcome is not None and not outcome.ok:
                reachable, why = False, f"last delivery failed: {outcome.error}"
            checks[name] = reachable
            if not reachable:
                problems[name] = why or "unreachable"
        checks["worker"] = worker
        checks["scheduler"] = scheduler
        body: dict[str, object] = dict(checks)
        body["oldest_pending_seconds"] = waiting
        body["problems"] = problems
        return all(checks.values()), body

    async def _probe(self) -> Probe:
        """The database's probe, waited for WRITE_DEADLINE at most and never cancelled: undoing a
        statement on a server that does not answer can itself hang. A probe still running from
        an earlier check is waited for, not started again, so a stuck server holds one."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.create_task(self._database.probe(WRITE_DEADLINE))
        done, _ = await asyncio.wait({self._probing}, timeout=WRITE_DEADLINE)
        if not done:
            return Probe(f"no write within {WRITE_DEADLINE:g}s", None)
        return self._probing.result()
