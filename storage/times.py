"""How instants are written to and read from the database: ISO 8601 UTC text that sorts in order.

Instants keep their microseconds, always six digits, so text order is time order and a moment
worked out as "now plus a wait" is never stored as earlier than it is (a retry due in 1.5 s
stored as the whole second came up to a second early). Text written before, a whole second
with no fraction ("...:05Z"), sorts after every fraction of its second: it reads as at most a
second late, never early. Exports still show whole seconds (storage/exports.py).
"""

from __future__ import annotations

import functools
from datetime import datetime

from storage.models import utc

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@functools.lru_cache(maxsize=256)
def to_db(moment: datetime) -> str:
    # Cached: handling one event writes the same few instants a dozen times over, and strftime
    # was a tenth of handling's own time.
    return utc(moment).strftime(_FORMAT)


def to_db_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else to_db(moment)


def from_db(text: str) -> datetime:
    # fromisoformat reads the trailing Z (Python 3.11+) and is many times faster than strptime,
    # which matters when an export reads every case.
    return datetime.fromisoformat(text)


def from_db_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_db(text)
