"""Which process runs the scheduled work (reminders, digests, retention): one at a time.

Every Casebook process takes events and delivers messages, but reminders and digests must go out
once, so only the leader schedules them. With SQLite there is one process, and it leads. With
PostgreSQL the leader is whoever holds a session-level advisory lock on a connection kept for
that alone: the lock lives exactly as long as that connection, so when the leader dies, or its
connection does, the lock is free and another process, polling with `pg_try_advisory_lock`,
takes it within one poll period (storage/postgres_leadership.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Leadership(Protocol):
    """Whether this process is the one that runs scheduled work."""

    @property
    def leading(self) -> bool:
        """The last known answer; `confirm()` asks again."""
        ...

    def start(self, on_lead: Callable[[], None]) -> None:
        """Try to lead from now on, in the background; `on_lead` is called whenever this
        process becomes the leader (not if it leads from the start, as the sole process does)."""
        ...

    async def confirm(self) -> bool:
        """Whether this process still leads, checked now: asked before each scheduled job."""
        ...

    async def close(self) -> None:
        """Stop leading (another process may take over at once) and stop trying."""
        ...


class SoleLeadership:
    """One process on one database file: it always leads."""

    @property
    def leading(self) -> bool:
        return True

    def start(self, on_lead: Callable[[], None]) -> None:
        return None

    async def confirm(self) -> bool:
        return True

    async def close(self) -> None:
        return None
