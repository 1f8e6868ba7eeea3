"""Waiting longer after each failure, for anything that talks to a platform over the network."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Backoff:
    """1, 2, 4, … seconds up to `most`; `reset()` after a success."""

    first: float = 1.0
    most: float = 60.0
    failures: int = 0

    def next(self) -> float:
        delay = float(min(self.most, self.first * 2.0**self.failures))
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def describe(error: BaseException) -> str:
    """An error in a few words for a log line: its type, and the status or code a platform
    gave, never a response body (which may echo what was sent)."""
    name = type(error).__name__
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return f"{name} {status}" if status else name
