"""Kaplan-Meier: how long posts stay up after they are reported, counting the ones still up.

A median over removed posts only flatters a platform that never removes the hard cases: those
posts never enter it. Kaplan-Meier keeps them, as *censored* at the last day they were known to be
up. Durations are whole days (the date of removal minus the date of the report), so ties are the
rule: at a day with both removals and censored posts, the censored ones count as still at risk
that day (the usual convention, and lifelines' and SciPy's).

Confidence intervals for S(t) use Greenwood's variance on the log(-log) scale (Kalbfleisch and
Prentice), which stays within 0..1; a quantile's interval is read off those bands (Brookmeyer and
Crowley's approach, as lifelines does it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

Z_95 = 1.959963984540054
# Products of fractions land a hair off exact halves (2/3 * 3/4): compare with a little slack.
_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Step:
    """S(t) from day `day` on, with its 95 % band, and how many were at risk that day."""

    day: int
    survival: float
    low: float
    high: float
    at_risk: int


@dataclass(frozen=True)
class Curve:
    """The estimate as a step function: 1 before the first removal, then each step's value."""

    steps: tuple[Step, ...]
    longest: int  # the longest time followed (removed or censored); beyond it nothing is known
    size: int

    def survival(self, day: float) -> float | None:
        """S(day): the estimated share still up more than `day` days after the report.

        None past the longest follow-up, where the data say nothing."""
        if self.size == 0 or day > self.longest:
            return None
        value = 1.0
        for step in self.steps:
            if step.day > day:
                break
            value = step.survival
        return value

    def survival_ci(self, day: float) -> tuple[float, float] | None:
        """The 95 % band around S(day), or None where `survival` is None."""
        if self.size == 0 or day > self.longest:
            return None
        band = (1.0, 1.0)
        for step in self.steps:
            if step.day > day:
                break
            band = (step.low, step.high)
        return band

    def quantile(self, fraction: float) -> int | None:
        """The first day by which `fraction` of the posts were removed, or None if never."""
        return _first_day(((s.day, s.survival) for s in self.steps), 1 - fraction)

    def quantile_ci(self, fraction: float) -> tuple[int, int] | None:
        """95 % interval for `quantile`: where the band's lower and upper edges cross the level.
        None when either end cannot be estimated (the upper edge never falls that far)."""
        level = 1 - fraction
        # The band's lower edge falls to the level first (the early end of the interval).
        low = _first_day(((s.day, s.low) for s in self.steps), level)
        high = _first_day(((s.day, s.high) for s in self.steps), level)
        if low is None or high is None:
            return None
        return low, high


def _first_day(points: Iterable[tuple[int, float]], level: float) -> int | None:
    for day, value in points:
        if value <= level + _TOLERANCE:
            return day
    return None


def kaplan_meier(durations: Iterable[tuple[int, bool]]) -> Curve:
    """The estimate from (days, removed) pairs; removed=False means censored (still up then)."""
    removals: Counter[int] = Counter()
    leaving: Counter[int] = Counter()
    size = 0
    longest = 0
    for days, removed in durations:
        size += 1
        leaving[days] += 1
        if removed:
            removals[days] += 1
        longest = max(longest, days)
    steps: list[Step] = []
    at_risk = size
    survival = 1.0
    greenwood = 0.0
    for day in sorted(leaving):
        removed_here = removals[day]
        if removed_here:
            survival *= 1 - removed_here / at_risk
            if removed_here < at_risk:
                greenwood += removed_here / (at_risk * (at_risk - removed_here))
            else:
                greenwood = math.inf
            low, high = _band(survival, greenwood)
            steps.append(Step(day, survival, low, high, at_risk))
        at_risk -= leaving[day]
    return Curve(tuple(steps), longest, size)


def _band(survival: float, greenwood: float) -> tuple[float, float]:
    """95 % interval for S on the log(-log S) scale."""
    if survival <= 0 or math.isinf(greenwood):
        return 0.0, 0.0
    if survival >= 1:
        return 1.0, 1.0
    log_s = math.log(survival)
    spread = Z_95 * math.sqrt(greenwood) / abs(log_s)
    return survival ** math.exp(spread), survival ** math.exp(-spread)
