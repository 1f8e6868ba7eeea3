"""What both fake APIs share: waiting, with a deadline, for the calls a test expects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class WaitsForCalls:
    """Mixed into a fake that records calls and exposes them with `of(method)`."""

    _changed: asyncio.Condition

    def of(self, method: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def wait_until(self, found: Callable[[], T | None], timeout: float = 5.0) -> T:
        async def arrived() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)

        await asyncio.wait_for(arrived(), timeout)
        result = found()
        assert result is not None
        return result

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        calls = lambda: self.of(method) if len(self.of(method)) >= count else None  # noqa: E731
        return await self.wait_until(calls, timeout)

    async def wait_for_call_text(
        self, method: str, text: str, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first call of `method` whose text is exactly `text`, waiting for it to arrive."""
        return await self.wait_until(
            lambda: next((args for args in self.of(method) if args.get("text") == text), None),
            timeout,
        )

    async def wait_for_call_line(
        self, method: str, line: str, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The first call of `method` with `line` as one line of its text (alerts queued
        together go as one message, a line each), waiting for it to arrive."""
        return await self.wait_until(
            lambda: next(
                (a for a in self.of(method) if line in str(a.get("text", "")).split("\n")), None
            ),
            timeout,
        )

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
