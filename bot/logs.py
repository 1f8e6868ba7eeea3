"""Logging: one line per event, text or JSON, with secrets scrubbed and chatty libraries quiet.

Casebook's own log lines carry case ids and event ids, never report text. Third-party clients log
request bodies and headers at DEBUG, so they are held at WARNING whatever level is chosen, and a
filter replaces any configured secret that still reaches a handler.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

QUIET_LIBRARIES = (
    "slack_bolt",
    "slack_sdk",
    # Its Web API client reads this logger's own level, not the level it inherits, to decide
    # whether to build a debug line (with the message body) for every call: without a level
    # of its own, each message sent pays for a line that is then thrown away.
    "slack_sdk.web.async_base_client",
    "telegram",
    "httpx",
    "httpcore",
    "aiohttp",
    "apscheduler",
    "aiosqlite",
    "asyncio",
    "matplotlib",
    "PIL",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


class RedactSecrets(logging.Filter):
    """Replaces every configured secret in a record's final message with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            if any(secret in message for secret in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


def configure(
    level: str = "warning",
    json_lines: bool = False,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install Casebook's handler on the root logger; returns it (tests read what it wrote)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
