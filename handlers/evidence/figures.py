"""The association's figures: per platform and overall, with small numbers suppressed.

What counts: cases created from `since` to `until` (both days included), less those closed as
duplicate, not abuse or withdrawn. Days run from the date of the platform report to the date of
removal. A post not removed by `until` is censored there, and one whose case was closed while it
was still up is censored at the closing date: neither is dropped (see survival.py).

Platforms with fewer cases than the threshold are first grouped as "other platforms" (the usual
redesign of a table before anything is hidden); the group is hidden only if it is still small.
Every count that is published then goes through suppression.py together with the totals it adds
up to, which prefers to withhold the total row, a week or a kind over a platform's headline
counts. A platform with at least the threshold of reported posts keeps its Kaplan-Meier
estimates while its reported and removed counts are published (or hidden zeros): the curve's
steps would reveal a hidden one.
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

STILL_UP_DAYS = (1, 2, 3, 7, 30)
ALL = "all"
OTHERS = "other-platforms"  # the platforms with fewer cases than the threshold, together
DEFAULT_THRESHOLD = 5
WITHHELD = "withheld"  # a count of at least the threshold, hidden only to protect another

Count = int | str  # a count, "<5" (below the threshold) or WITHHELD
_HEADLINE = ("cases", "reported", "removed")


@dataclass(frozen=True)
class StillUp:
    """The estimated share still up after some days, with its 95 % interval."""

    share: float
    low: float
    high: float


@dataclass(frozen=True)
class PlatformFigures:
    platform: str  # a Platform value, OTHERS or ALL
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
    still_up_after_days: dict[int, StillUp | None]
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
    platforms: list[PlatformFigures]  # in Casebook's order, then OTHERS if any, then ALL
    weeks: list[str]  # ISO weeks, "2026-W37"
    weekly: dict[str, list[Count]]  # per platform (and "all"), one count per week
    categories: list[str]  # Category values with any case
    category_mix: dict[str, dict[str, Count]]  # per platform (and "all"), per category
    school_name: str | None = None  # only in a school's own report
    hidden: int = field(default=0)  # how many published cells were suppressed
    # Time to removal after escalation, per route (escalation.py); empty when none was recorded.
    escalation: list[EscalationFigures] = field(default_factory=list)
    grouped: list[str] = field(default_factory=list)  # the platforms in OTHERS

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
    names: list[str] = [p.value for p in Platform if p.value in by_platform]
    grouped = [name for name in names if by_platform[name].cases < threshold]
    groups: dict[str, _Tally] = {name: by_platform[name] for name in names if name not in grouped}
    if grouped:
        others = _Tally()
        for name in grouped:
            others.add(by_platform[name])
        groups[OTHERS] = others
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
    for measure in _HEADLINE:
        relations.append([(measure, name) for name in groups])
    for week in weeks:
        relations.append([("week", week, name) for name in groups])
    for category in category_names:
        relations.append([("category", category, name) for name in groups])
    hidden = suppress(values, relations, threshold, _preference)
    label = f"<{threshold}"

    def shown(*key: str) -> Count:
        if key in hidden.small:
            return label
        return WITHHELD if key in hidden.withheld else values[key]

    platforms = []
    for name, group in groups.items():
        # A curve's steps are fractions of the posts still up: from them and the reported
        # count a reader has the removals, and from the steps alone the reported count. So
        # a row whose reported or removed count is hidden (a zero aside: it names no one)
        # publishes no estimate, or it would give that count away, or the one it protects.
        estimable = group.reported >= threshold and not any(
            (measure, name) in hidden and values[measure, name] != 0
            for measure in ("reported", "removed")
        )
        platforms.append(_platform_figures(name, group, shown, estimable, threshold))
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
        grouped=grouped,
    )


def _preference(key: Hashable) -> int:
    """Secondary suppression hides the total row first, then weeks and kinds, and a platform's
    own cases, reported and removed last: those are what the report is for."""
    assert isinstance(key, tuple)
    if key[-1] == ALL:
        return 0
    return 2 if key[0] in _HEADLINE else 1


def _platform_figures(
    name: str,
    group: _Tally,
    shown: Callable[..., Count],
    estimable: bool,
    threshold: int,
) -> PlatformFigures:
    cases, reported, removed = (shown(m, name) for m in _HEADLINE)
    curve = kaplan_meier(group.timings) if estimable else None
    removed_days = [days for days, was_removed in group.timings if was_removed]
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
        still_up_after_days={days: _still_up(curve, days) for days in STILL_UP_DAYS},
        naive_median_days=(
            float(statistics.median(removed_days))
            if removed_days and estimable and len(removed_days) >= threshold
            else None
        ),
        curve=curve if curve and curve.size else None,
    )


def _still_up(curve: Curve | None, days: int) -> StillUp | None:
    if curve is None:
        return None
    share = curve.survival(days)
    band = curve.survival_ci(days)
    if share is None or band is None:
        return None
    return StillUp(share, *band)


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
