"""At most one log line per key (a chat) per interval, the next one saying how many were held.

A group or channel that belongs to no school can be busy: 200 messages from one group were 200
warnings. The first message from a chat is logged at once (that is how a missing id is noticed
after set-up); after that the chat gets a line at most once an hour, with the count of the
messages it stood for. What is remembered is a count and an instant per chat, never the text,
and only for the most recent chats, so a flood of new chats cannot grow it without end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

EVERY = timedelta(hours=1)
KEPT = 10_000  # chats remembered; the one quiet longest is forgotten first


@dataclass
class _Logged:
    at: datetime  # when its last line was written
    held: int  # messages since then that wrote none


class ThrottledLog:
    def __init__(self, clock: Clock, every: timedelta = EVERY, kept: int = KEPT) -> None:
        self._clock = clock
        self._every = every
        self._kept = kept
        self._chats: dict[str, _Logged] = {}

    def due(self, key: str) -> int | None:
        """None when this message writes no line; otherwise how many messages from `key`
        wrote none since its last line (0 for its first)."""
        now = self._clock.now()
        logged = self._chats.get(key)
        if logged is not None and now - logged.at < self._every:
            logged.held += 1
            return None
        held = 0 if logged is None else logged.held
        self._chats.pop(key, None)
        self._chats[key] = _Logged(now, 0)  # last in the dict: the most recently logged
        while len(self._chats) > self._kept:
            del self._chats[next(iter(self._chats))]
        return held
