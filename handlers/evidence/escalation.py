"""Time to removal after escalation: does taking a case to POSH, Report Harmful Content or the
police get a post taken down, and how fast?

For each route (and all routes together) the escalated cases are counted, with how long the
school waited from the platform report before escalating, and Kaplan-Meier (survival.py) from
the day of the first escalation: a post removed by `until` is an event on its removal day, one
still up is censored at `until` or at the day its case was closed while still up. The cases
counted are those the main figures count (figures.py): created in the period, not closed as a
duplicate, not abuse or withdrawn.

The escalated counts are a table of their own (each route and their total), so they are
suppressed on their own: a count below the threshold reads "<N"; one hidden only so that a
small one cannot be worked out from the total reads "withheld", never as a small number. The
estimates are published only where the route's count is.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from handlers.evidence.survival import Curve, kaplan_meier
from storage.evidence import EvidenceRow
from storage.models import NOT_COUNTED, EscalationRoute

ALL = "all"
WITHHELD = "withheld"
# The days after escalation at which the share still up is given.
STILL_UP_DAYS = (2, 7, 30)


@dataclass(frozen=True)
class EscalationFigures:
    route: str  # an EscalationRoute value, or "all"
    escalated: int | str  # a count, "<N" (below the threshold) or "withheld"
    days_before_median: float | None  # from the platform report to escalation, escalated cases
    km_median_days: int | None  # from escalation to removal, Kaplan-Meier
    km_median_ci: tuple[int, int] | None
    still_up_after_days: dict[int, float | None]
    curve: Curve | None = field(default=None, repr=False)


def escalation_figures(
    rows: Iterable[EvidenceRow], until: date, since: date | None, threshold: int
) -> list[EscalationFigures]:
    """Per route, then all routes; empty when no counted case was escalated by `until`."""
    timings: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    waits: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        escalated, route = row.escalated, row.escalated_to
        if escalated is None or route is None or escalated > until:
            continue
        if row.close_reason in NOT_COUNTED or row.created > until:
            continue
        if since is not None and row.created < since:
            continue
        removed = row.removed if row.removed is not None and row.removed <= until else None
        if removed is not None:
            timing = (max((removed - escalated).days, 0), True)
        else:
            end = until if row.closed is None or row.closed > until else row.closed
            timing = (max((end - escalated).days, 0), False)
        reported = row.reported
        for group in (route, ALL):
            timings[group].append(timing)
            if reported is not None and reported <= escalated:
                waits[group].append((escalated - reported).days)
    if not timings:
        return []
    routes = [r.value for r in EscalationRoute if r.value in timings]
    counts = {name: len(timings[name]) for name in [*routes, ALL]}
    shown = _suppressed(counts, threshold)
    figures = []
    for name in [*routes, ALL]:
        published = isinstance(shown[name], int)
        curve = kaplan_meier(timings[name]) if published else None
        figures.append(
            EscalationFigures(
                route=name,
                escalated=shown[name],
                days_before_median=(
                    float(statistics.median(waits[name])) if published and waits[name] else None
                ),
                km_median_days=curve.quantile(0.5) if curve else None,
                km_median_ci=curve.quantile_ci(0.5) if curve else None,
                still_up_after_days={
                    days: (curve.survival(days) if curve else None) for days in STILL_UP_DAYS
                },
                curve=curve,
            )
        )
    return figures


def _suppressed(counts: dict[str, int], threshold: int) -> dict[str, int | str]:
    """The counts as published: below the threshold "<N"; if exactly one route's count is
    hidden while the total is shown, the next smallest route is withheld (or, with only one
    other count to hide, the total), so that no hidden count is the total less the others."""
    label = f"<{threshold}"
    shown: dict[str, int | str] = {
        name: (label if count < threshold else count) for name, count in counts.items()
    }
    routes = [name for name in counts if name != ALL]
    hidden = [name for name in routes if isinstance(shown[name], str)]
    if isinstance(shown[ALL], str):
        # The total is small, so is every route: nothing to work out.
        return shown
    if len(hidden) == 1:
        others = [name for name in routes if isinstance(shown[name], int)]
        pick = min(others, key=lambda name: counts[name]) if others else ALL
        shown[pick] = WITHHELD
    return shown


def as_dict(figures: EscalationFigures) -> dict[str, Any]:
    """One route's figures as the JSON report writes them."""
    return {
        "route": figures.route,
        "escalated": figures.escalated,
        "days_before_median": figures.days_before_median,
        "km_median_days": figures.km_median_days,
        "km_median_ci": list(figures.km_median_ci) if figures.km_median_ci else None,
        "still_up_after_days": {
            str(days): None if share is None else round(share, 4)
            for days, share in figures.still_up_after_days.items()
        },
    }


def csv_rows(figures: Iterable[EscalationFigures]) -> list[tuple[str, str, str, object]]:
    """The same as rows of the CSV's long table: ("escalation", route, measure, value)."""
    rows: list[tuple[str, str, str, object]] = []
    for one in figures:
        document = as_dict(one)
        low, high = document.pop("km_median_ci") or (None, None)
        shares = document.pop("still_up_after_days")
        route = document.pop("route")
        values = [
            *document.items(),
            ("km_median_ci_low", low),
            ("km_median_ci_high", high),
            *((f"still_up_after_{days}_days", share) for days, share in shares.items()),
        ]
        rows += [("escalation", route, measure, "" if v is None else v) for measure, v in values]
    return rows
