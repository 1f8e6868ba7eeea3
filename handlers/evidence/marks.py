"""The time marks platforms are held to: public reference points, and an association's targets.

The reference points are data (reference_points.json, shipped with the package), so a new year's
figure is an edit to one file, reviewed like any other, and never a sentence hidden in code.
A target comes from the command line as PLATFORM:DAYS:SHARE ("x:2:0.9" or "x:2:90%").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from storage.models import Platform

ALL = "all"  # as figures.ALL: every platform together


@dataclass(frozen=True)
class ReferencePoint:
    source: str
    measure: str
    days: int | None  # the time limit the figure is about, if it states one
    share: float  # 0 to 1
    period: str


@dataclass(frozen=True)
class Target:
    platform: str  # a Platform value, or "all"
    days: int
    share: float  # 0 to 1: the share to be removed within `days`


class TargetError(ValueError):
    """A --target that cannot be read; the message says what is expected."""


def reference_points() -> list[ReferencePoint]:
    """The published reference points, in the file's order."""
    text = resources.files("handlers.evidence").joinpath("reference_points.json").read_text()
    return [
        ReferencePoint(
            str(point["source"]),
            str(point["measure"]),
            None if point["days"] is None else int(point["days"]),
            float(point["share"]),
            str(point["period"]),
        )
        for point in json.loads(text)["points"]
    ]


def parse_target(text: str) -> Target:
    """PLATFORM:DAYS:SHARE, for example x:2:0.9 or tiktok:1:75%."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        raise TargetError(text)
    platform, days_text, share_text = (part.strip().lower() for part in parts)
    if platform not in {p.value for p in Platform} | {ALL}:
        raise TargetError(text)
    try:
        days = int(days_text)
        share = float(share_text[:-1]) / 100 if share_text.endswith("%") else float(share_text)
    except ValueError as error:
        raise TargetError(text) from error
    if not 0 < days <= 366 or not 0 < share <= 1:
        raise TargetError(text)
    return Target(platform, days, share)
