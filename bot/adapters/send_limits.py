"""A platform's documented sending limits, kept before it has to answer 429.

Telegram asks bots to send at most about 30 messages a second overall and 20 a minute to one
group. python-telegram-bot's `AIORateLimiter` keeps these limits by waiting inside the API call;
here a send that would break one is not made, and the sender raises `RateLimited` with the wait
instead, as it does for a 429. So the outbox owns every wait: a message never waits past its
claim's lease inside a call (where another process could claim and send it too), and a long
wait hands the rows back to the outbox rather than holding them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `count` sends in any `seconds`."""

    count: int
    seconds: float


class SendLimits:
    """Sliding windows of recent sends: one for the whole bot, one per group."""

    def __init__(
        self, overall: Limit, per_group: Limit, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._overall = overall
        self._per_group = per_group
        self._now = now
        self._sent: deque[float] = deque()
        self._groups: dict[str, deque[float]] = {}

    def wait(self, group: str | None) -> tuple[float, bool]:
        """Seconds until a send (to `group`, if it goes to one) keeps within the limits, and
        whether it is the overall limit that asks for the wait (every chat then waits)."""
        now = self._now()
        overall = _wait(self._sent, self._overall, now)
        if overall > 0 or group is None:
            return overall, True
        sends = self._groups.get(group)
        return (0.0 if sends is None else _wait(sends, self._per_group, now)), False

    def note(self, group: str | None) -> None:
        """A send was made (to `group`, if to one)."""
        now = self._now()
        self._sent.append(now)
        if group is not None:
            self._groups.setdefault(group, deque()).append(now)
            if len(self._groups) > 1000:  # forget groups with nothing in their window
                self._groups = {
                    key: sends
                    for key, sends in self._groups.items()
                    if sends and sends[-1] > now - self._per_group.seconds
                }


def _wait(sends: deque[float], limit: Limit, now: float) -> float:
    while sends and sends[0] <= now - limit.seconds:
        sends.popleft()
    if len(sends) < limit.count:
        return 0.0
    return sends[-limit.count] + limit.seconds - now
