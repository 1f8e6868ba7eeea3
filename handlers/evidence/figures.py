"""The association's figures: per platform and overall, with small numbers suppressed.

What counts: cases created from `since` to `until` (both days included), less those closed as
duplicate, not abuse or withdrawn. Days run from the date of the platform report to the date of
removal. A post not removed by `until` is censored there, and one whose case was closed while it
was still up is censored at the closing date: neither is dropped (see survival.py).

Every count that is published goes through suppression.py together with the totals it adds up
to, and any estimate that would rest on a hidden count (a share, a median) is withheld with it.
"""

from __future__ import annotations

import functools
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from handlers.evidence.escalation import EscalationFigures, escalation_figures
from handlers.evidence.suppression import suppress
from handlers.evidence.survival import Curve, kaplan_meier
from storage.evidence import EvidenceRow
from storage.models import NOT_COUNTED, Category, Platform

STILL_UP_DAYS = (2, 7, 30)
ALL = "all"
DEFAULT_THRESHOLD = 5

Count = int | str  # a count, or the suppression label ("<5")


@dataclass(frozen=True)
class PlatformFigures:
    platform: str  # a Platform value, or "all"
    cases: Count
    schools: Count
    reported: Count
    removed: Count
    share_reported: float | None
    share_removed: float | None
    km_median_days: int | None
    km_median_ci: tuple[int, int] | None
    km_p90_days: int | None
    km_p90_ci: tuple[int, int] | None
    still_up_after_days: dict[int, float | None]
    naive_median_days: float | None
    curve: Curve | None  # only where the estimates are published


@dataclass(frozen=True)
class Report:
    since: date
    until: date
    threshold: int
    deployments: Count
    schools: Count
    cases: Count
    platforms: list[PlatformFigures]  # platforms with cases, in Casebook's order, then "all"
    weeks: list[str]  # ISO weeks, "2026-W37"
    weekly: dict[str, list[Count]]  # per platform (and "all"), one count per week
    categories: list[str]  # Category values with any case
    category_mix: dict[str, dict[str, Count]]  # per platform (and "all"), per category
    school_name: str | None = None  # only in a school's own report
    hidden: int = field(default=0)  # how many published cells were suppressed
    # Time to removal after escalation, per route (escalation.py); empty when none was recorded.
    escalation: list[EscalationFigures] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"<{self.threshold}"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@functools.cache
def week_of(day: date) -> str:
    """`iso_week`, remembered: 100 000 cases fall on about a thousand days."""
    return iso_week(day)


@dataclass
class _Tally:
    """One platform's counts, gathered in a single pass over the cases."""

    cases: int = 0
    reported: int = 0
    removed: int = 0
    schools: set[tuple[str, str]] = field(default_factory=set)
    days: Counter[date] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    timings: list[tuple[int, bool]] = field(default_factory=list)

    def add(self, other: _Tally) -> None:
        self.cases += other.cases
        self.reported += other.reported
        self.removed += other.removed
        self.schools |= other.schools
        self.days.update(other.days)
        self.categories.update(other.categories)
        self.timings += other.timings


def tally(rows: Iterable[EvidenceRow], until: date, since: date | None) -> dict[str, _Tally]:
    """Per platform: the counts, and (days, removed) from each report to removal or censoring.

    A post removed by `until` is an event on its removal day; one still up is censored at
    `until`, or at the day its case was closed if that came first."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for row in rows:
        created = row.created
        if row.close_reason in NOT_COUNTED or created > until:
            continue
        if since is not None and created < since:
            continue
        found = tallies[row.platform]
        found.cases += 1
        found.schools.add((row.deployment, row.school))
        found.days[created] += 1
        if row.categories:
            found.categories.update(row.categories)
        removed = row.removed
        if removed is not None and removed > until:
            removed = None
        if removed is not None:
            found.removed += 1
        reported = row.reported
        if reported is None or reported > until:
            continue
        found.reported += 1
        if removed is not None:
            found.timings.append((max((removed - reported).days, 0), True))
        else:
            closed = row.closed
            end = until if closed is None or closed > until else closed
            found.timings.append((max((end - reported).days, 0), False))
    return tallies


def build(
    rows: Iterable[EvidenceRow],
    until: date,
    since: date | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    school_name: str | None = None,
) -> Report:
    rows = list(rows)  # read twice: here and for the escalations
    by_platform = tally(rows, until, since)
    names = [p.value for p in Platform if p.value in by_platform]
    groups: dict[str, _Tally] = {name: by_platform[name] for name in names}
    everything = _Tally()
    for group in groups.values():
        everything.add(group)
    groups[ALL] = everything
    start = since or min(everything.days, default=until)

    weeks = _weeks(start, until)
    values: dict[Hashable, int] = {}
    relations: list[list[Hashable]] = []
    category_names = [c.value for c in Category if c.value in everything.categories]
    for name, group in groups.items():
        values["cases", name] = group.cases
        values["schools", name] = len(group.schools)
        values["reported", name] = group.reported
        values["removed", name] = group.removed
        per_week: Counter[str] = Counter()
        for day, count in group.days.items():
            per_week[week_of(day)] += count
        for week in weeks:
            values["week", week, name] = per_week[week]
        relations.append([("week", week, name) for week in weeks] + [("cases", name)])
        for category in category_names:
            values["category", category, name] = group.categories[category]
    values["deployments", ALL] = len({deployment for deployment, _ in everything.schools})
    for measure in ("cases", "reported", "removed"):
        relations.append([(measure, name) for name in groups])
    for week in weeks:
        relations.append([("week", week, name) for name in groups])
    for category in category_names:
        relations.append([("category", category, name) for name in groups])
    hidden = suppress(values, relations, threshold)
    label = f"<{threshold}"

    def shown(*key: str) -> Count:
        return label if key in hidden else values[key]

    platforms = [
        _platform_figures(name, group.timings, shown, hidden) for name, group in groups.items()
    ]
    return Report(
        since=start,
        until=until,
        threshold=threshold,
        deployments=shown("deployments", ALL),
        schools=shown("schools", ALL),
        cases=shown("cases", ALL),
        platforms=platforms,
        weeks=weeks,
        weekly={name: [shown("week", week, name) for week in weeks] for name in groups},
        categories=category_names,
        category_mix={
            name: {c: shown("category", c, name) for c in category_names} for name in groups
        },
        school_name=school_name,
        hidden=len(hidden),
        escalation=escalation_figures(rows, until, since, threshold),
    )


def _platform_figures(
    name: str,
    timings: list[tuple[int, bool]],
    shown: Callable[..., Count],
    hidden: set[Hashable],
) -> PlatformFigures:
    cases, reported, removed = (shown(m, name) for m in ("cases", "reported", "removed"))
    estimable = ("reported", name) not in hidden
    curve = kaplan_meier(timings) if estimable else None
    removed_days = [days for days, was_removed in timings if was_removed]
    return PlatformFigures(
        platform=name,
        cases=cases,
        schools=shown("schools", name),
        reported=reported,
        removed=removed,
        share_reported=_share(reported, cases),
        share_removed=_share(removed, cases),
        km_median_days=curve.quantile(0.5) if curve else None,
        km_median_ci=curve.quantile_ci(0.5) if curve else None,
        km_p90_days=curve.quantile(0.9) if curve else None,
        km_p90_ci=curve.quantile_ci(0.9) if curve else None,
        still_up_after_days={
            days: (curve.survival(days) if curve else None) for days in STILL_UP_DAYS
        },
        naive_median_days=(
            float(statistics.median(removed_days))
            if removed_days and ("removed", name) not in hidden
            else None
        ),
        curve=curve if curve and curve.size else None,
    )


def _share(part: Count, whole: Count) -> float | None:
    if isinstance(part, int) and isinstance(whole, int) and whole > 0:
        return part / whole
    return None


def _weeks(start: date, until: date) -> list[str]:
    weeks = []
    day = start - timedelta(days=start.weekday())
    while day <= until:
        weeks.append(iso_week(day))
        day += timedelta(days=7)
    return weeks
