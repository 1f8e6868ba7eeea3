"""Work started in the background (after an acknowledgement) that must not be garbage-collected
mid-flight and must be finished or cancelled on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def close(self, cancel: bool = True) -> None:
        """Cancel (or, with cancel=False, wait for) whatever is still running."""
        if cancel:
            for task in list(self._tasks):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _log_failure(task: asyncio.Task[Any]) -> None:
    """A failure nobody awaits is logged once, here, not left for asyncio to report at exit as
    a "Task exception was never retrieved" with no context."""
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("background work failed: %s", type(error).__name__)
