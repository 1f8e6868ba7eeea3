"""Sending what the outbox holds: claim due rows, send them, mark them sent, retry what failed.

Claiming takes a lease in a transaction, so two loops (or two processes on one file) never send
the same row; a row whose sender died is sent again once its lease runs out.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.events import Outgoing, Transport
from bot.metrics import Metrics
from storage.db import Database

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> str | None:
        """Deliver one message; return the platform's id for it, if any."""


class PermanentSendError(Exception):
    """The platform refused the message for good (bad request, blocked); retrying cannot help."""


class TemporarySendError(Exception):
    """The platform asked us to come back later (rate limit, outage)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Delivery:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        senders: dict[Transport, Sender],
        metrics: Metrics | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._senders = senders
        self._metrics = metrics or Metrics()

    async def flush(self) -> int:
        """Send everything due now; returns how many rows were sent."""
        sent = 0
        while True:
            now = self._clock.now()
            async with self._database.transaction() as unit:
                items = await unit.outbox.claim_due(
                    [t.value for t in self._senders], now, now + LEASE
                )
            if not items:
                return sent
            for item in items:
                sent += await self._send_one(item.id, item.transport, item.payload, item.attempts)

    async def _send_one(self, item_id: int, transport: str, payload: str, attempts: int) -> int:
        outgoing = Outgoing.from_json(payload)
        sender = self._senders[Transport(transport)]
        try:
            ref = await sender.send(outgoing)
        except PermanentSendError as error:
            self._metrics.send_failures.labels(transport).inc()
            await self._retry_or_fail(item_id, outgoing, MAX_ATTEMPTS, str(error), 0)
            return 0
        except TemporarySendError as error:
            self._metrics.send_failures.labels(transport).inc()
            delay = error.retry_after if error.retry_after is not None else 2.0**attempts
            await self._retry_or_fail(item_id, outgoing, attempts, str(error), delay)
            return 0
        except Exception as error:
            self._metrics.send_failures.labels(transport).inc()
            await self._retry_or_fail(
                item_id, outgoing, attempts, type(error).__name__, 2.0**attempts
            )
            return 0
        self._metrics.messages_sent.labels(transport).inc()
        async with self._database.transaction() as unit:
            await unit.outbox.mark_sent(item_id, self._clock.now(), ref)
        return 1

    async def _retry_or_fail(
        self, item_id: int, outgoing: Outgoing, attempts: int, reason: str, delay: float
    ) -> None:
        now = self._clock.now()
        async with self._database.transaction() as unit:
            if attempts >= MAX_ATTEMPTS:
                log.error(
                    "giving up on outbox %s (case %s) after %s attempts: %s",
                    item_id,
                    outgoing.case_id,
                    attempts,
                    reason,
                )
                await unit.outbox.mark_failed(item_id, reason, now)
            else:
                log.warning(
                    "send of outbox %s (case %s) failed, retrying in %.0fs: %s",
                    item_id,
                    outgoing.case_id,
                    delay,
                    reason,
                )
                await unit.outbox.mark_retry(item_id, reason, now + timedelta(seconds=delay))
