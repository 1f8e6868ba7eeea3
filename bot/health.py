"""What /healthz reports: the truth about the database, the inbox and each chat platform.

Each check says ok or why not. The database must take a write within a second (a held lock, a
full disk or an unwritable file fail it); the oldest event waiting in the inbox must be younger
than STALE_INBOX; each platform must be reachable and its last delivery must have gone out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.adapters.chat import ChatTransport
from bot.clock import Clock
from bot.delivery import Delivery
from storage.store import Store

WRITE_DEADLINE = 1.0  # seconds the database has to take a write
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

    async def check(self, *, worker: bool, scheduler: bool) -> tuple[bool, dict[str, object]]:
        """(healthy, body): one boolean per part, and a `problems` map saying what is wrong."""
        checks: dict[str, bool] = {}
        problems: dict[str, str] = {}
        probe = await self._database.probe(WRITE_DEADLINE)
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
