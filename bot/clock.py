"""The clock is injected so reminders, digests and tests never depend on the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        # Microseconds kept: "now plus retry_after" cut to the second came up to a second early.
        return datetime.now(UTC)
