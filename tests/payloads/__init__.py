"""Realistic payloads, as the platforms send them.

`slack/*.json` are Events API bodies (event_callback envelopes) shaped like Slack's documented and
observed events: escaped links, thread replies, edits, unfurls, deletions, files, rich text,
mentions, shared channels. `telegram.py` builds updates with python-telegram-bot's own classes.
"""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

_SLACK = Path(__file__).parent / "slack"
_event_ids = itertools.count(1)


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_SLACK / f"{name}.json").read_text(encoding="utf-8"))
    return data


def slack(name: str, event_id: str | None = None, **event: Any) -> dict[str, Any]:
    """A copy of the named Slack body with a fresh `event_id`; keyword arguments replace keys of
    its `event`."""
    body = copy.deepcopy(_load(name))
    body["event_id"] = event_id or f"EvPAYLOAD{next(_event_ids):05d}"
    body["event"].update(event)
    return body


def slack_names() -> list[str]:
    return sorted(path.stem for path in _SLACK.glob("*.json"))
