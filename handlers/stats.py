"""Per-platform evidence figures: how many cases, how many reported and removed, how fast.

These are the numbers a school or an association hands to a regulator, so the edges are defined:
days to removal count only removed cases (open cases never enter a median), duplicates and
"not abuse" closures are left out, and a platform with no removals has no median at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from handlers import messages
from handlers.export import days_to_removal
from storage.models import NOT_COUNTED, Case, CaseTiming, Platform

STILL_UP_AFTER = timedelta(days=7)
_Counted = TypeVar("_Counted", bound=Case | CaseTiming)


@dataclass(frozen=True)
class PlatformStats:
    platform: str
    cases: int
    reported: int
    removed: int
    median_days_to_removal: float | None
    p90_days_to_removal: float | None
    still_up_after_7_days: int


def counted(cases: Sequence[_Counted]) -> list[_Counted]:
    """The cases that count in figures: not those closed as duplicates or as not abuse (a merged
    case is closed as a duplicate). The digest counts with this too."""
    return [c for c in cases if c.close_reason not in NOT_COUNTED]


def platform_stats(cases: Sequence[Case | CaseTiming], now: datetime) -> list[PlatformStats]:
    """One row per platform that has cases, in the platforms' usual order, then a total row."""
    kept = counted(cases)
    rows = []
    for platform in Platform:
        mine = [c for c in kept if c.platform is platform]
        if mine:
            rows.append(_row(platform.value, mine, now))
    if rows:
        rows.append(_row("all", kept, now))
    return rows


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (the common spreadsheet PERCENTILE)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def to_table(rows: list[PlatformStats]) -> str:
    headers = ("platform", "cases", "reported", "removed", "median days", "p90 days", "up >7d")
    body = [
        (
            _label(r.platform),
            str(r.cases),
            str(r.reported),
            str(r.removed),
            _days(r.median_days_to_removal),
            _days(r.p90_days_to_removal),
            str(r.still_up_after_7_days),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
        for line in [headers, *body]
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def to_dicts(rows: list[PlatformStats]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


def _row(name: str, cases: Sequence[Case | CaseTiming], now: datetime) -> PlatformStats:
    reported = [c for c in cases if c.reported_to_platform_at is not None]
    removed_days = [d for c in cases if (d := days_to_removal(c)) is not None]
    still_up = [
        c
        for c in reported
        if c.removed_at is None
        and c.status.is_open
        and c.reported_to_platform_at is not None
        and now - c.reported_to_platform_at > STILL_UP_AFTER
    ]
    return PlatformStats(
        platform=name,
        cases=len(cases),
        reported=len(reported),
        removed=len(removed_days),
        median_days_to_removal=percentile(removed_days, 0.5),
        p90_days_to_removal=percentile(removed_days, 0.9),
        still_up_after_7_days=len(still_up),
    )


def _label(platform: str) -> str:
    """The platform as the chat names it (`X (Twitter)`); JSON keeps the plain value."""
    if platform == "all":
        return messages.STATS_ALL_PLATFORMS
    return messages.PLATFORM_OPTION_LABELS[Platform(platform)]


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
