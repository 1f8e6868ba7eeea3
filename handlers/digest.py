"""The weekly digest for a school's leads: counts only, never links, names or report text.

A digest covers the seven days up to this week's digest time (in the school's time zone), so
the same week reads the same whenever it is built, and it is keyed by (school, ISO week) so it is
sent once however often the job runs.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from handlers import messages
from handlers.context import leads_places
from handlers.events import Attachment, Outgoing, Transport
from handlers.export import days_to_removal
from handlers.leads.show import term_start
from handlers.settings import Config, SchoolConfig
from handlers.stats import counted, percentile
from storage.models import Case, Category, Platform, School
from storage.unit import Unit

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WAITING_TOO_LONG = timedelta(days=7)
_WEEK = timedelta(days=7)
_TICK = timedelta(microseconds=1)  # a week runs from just after its start to its end inclusive
_MAX_WEEKS = 30
AGE_BUCKETS = ((timedelta(days=7), "under a week"), (timedelta(days=28), "1 to 4 weeks"))
OLDEST_BUCKET = "over 4 weeks"


@dataclass(frozen=True)
class Digest:
    school: str
    start: datetime
    end: datetime
    new_by_platform: dict[str, int]
    new_by_category: dict[str, int]
    open_by_age: dict[str, int]
    removed_by_platform: dict[str, tuple[int, float | None]]
    waiting_over_7_days: int
    unassigned: int
    weeks: list[WeekCounts] = field(default_factory=list)

    @property
    def new_total(self) -> int:
        return sum(self.new_by_platform.values())

    @property
    def open_total(self) -> int:
        return sum(self.open_by_age.values())


@dataclass(frozen=True)
class WeekCounts:
    """New cases per platform and removals in one week of the term, for the chart."""

    start: datetime
    new_by_platform: dict[str, int]
    removed: int


def digest_time(now: datetime, school: SchoolConfig, config: Config) -> datetime:
    """This week's digest moment (UTC): the configured weekday and time, in the school's zone."""
    local = now.astimezone(school.zone)
    monday = local.date() - timedelta(days=local.weekday())
    day = monday + timedelta(days=config.digest.day)
    return datetime.combine(day, config.digest.time, tzinfo=school.zone).astimezone(UTC)


def week_key(moment: datetime, school: SchoolConfig) -> tuple[int, int]:
    iso = moment.astimezone(school.zone).isocalendar()
    return iso.year, iso.week


async def build(unit: Unit, school: School, zone_config: SchoolConfig, end: datetime) -> Digest:
    """The digest of the seven days up to and including `end`: seven days of the school's clock,
    so one week's digest starts exactly where the last one ended, clock changes included. Cases
    closed as duplicates or not abuse are left out, as `casebook stats` leaves them out."""
    start = week_before(end, zone_config)
    term = term_start(end.astimezone(zone_config.zone))
    since = min(start, term.astimezone(UTC))
    cases = counted(
        [c for c in await unit.cases.for_digest(school.id, since) if c.created_at <= end]
    )
    new = [c for c in cases if c.created_at > start]
    open_cases = [c for c in cases if c.status.is_open]
    removed = [c for c in cases if c.removed_at is not None and start < c.removed_at <= end]
    by_age: Counter[str] = Counter()
    for case in open_cases:
        by_age[_age_bucket(end - case.created_at)] += 1
    removed_by_platform: dict[str, tuple[int, float | None]] = {}
    for platform in Platform:
        mine = [c for c in removed if c.platform is platform]
        if mine:
            days = [d for c in mine if (d := days_to_removal(c)) is not None]
            removed_by_platform[platform.value] = (len(mine), percentile(days, 0.5))
    waiting = [
        c
        for c in open_cases
        if c.reported_to_platform_at is not None
        and c.removed_at is None
        and end - c.reported_to_platform_at > WAITING_TOO_LONG
    ]
    return Digest(
        school=school.name,
        start=start,
        end=end,
        new_by_platform=_ordered(
            Counter(c.platform.value for c in new), [p.value for p in Platform]
        ),
        new_by_category=_ordered(
            Counter(k.value for c in new for k in c.categories), [k.value for k in Category]
        ),
        open_by_age=_ordered(by_age, [label for _, label in AGE_BUCKETS] + [OLDEST_BUCKET]),
        removed_by_platform=removed_by_platform,
        waiting_over_7_days=len(waiting),
        unassigned=sum(1 for c in open_cases if c.assignee_id is None),
        weeks=_weeks(cases, term, end),
    )


def week_before(end: datetime, school: SchoolConfig) -> datetime:
    """Seven days before `end` on the school's clock (168 hours, or 167 or 169 over a change)."""
    local = end.astimezone(school.zone).replace(tzinfo=None) - timedelta(days=7)
    return local.replace(tzinfo=school.zone).astimezone(UTC)


def text(digest: Digest, zone: SchoolConfig) -> str:
    start = digest.start.astimezone(zone.zone).strftime("%a %d %b %H:%M %Z")
    end = digest.end.astimezone(zone.zone).strftime("%a %d %b %Y %H:%M %Z")
    period = messages.digest_period(start, end)
    if digest.new_total == 0 and digest.open_total == 0 and not digest.removed_by_platform:
        return messages.digest_empty(digest.school, period)
    return messages.digest_text(
        school=digest.school,
        period=period,
        new_total=digest.new_total,
        new_by_platform={_platform(k): v for k, v in digest.new_by_platform.items()},
        new_by_category={
            messages.CATEGORY_LABELS[Category(k)]: v for k, v in digest.new_by_category.items()
        },
        open_by_age=digest.open_by_age,
        removed={_platform(k): v for k, v in digest.removed_by_platform.items()},
        waiting=digest.waiting_over_7_days,
        unassigned=digest.unassigned,
    )


def chart_png(digest: Digest) -> bytes:
    """The chart as a PNG picture; blocking, run in a thread."""
    import matplotlib

    matplotlib.use("Agg")
    figure = chart_figure(digest)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_figure(digest: Digest) -> Figure:
    """New cases per week by platform (stacked) and removals (line), as a figure not yet
    drawn, so what a reader sees can be read back from it."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    labels = [w.start.strftime("%d %b") for w in digest.weeks]
    positions = list(range(len(digest.weeks)))
    bottom = [0] * len(digest.weeks)
    for platform in Platform:
        heights = [w.new_by_platform.get(platform.value, 0) for w in digest.weeks]
        if any(heights):
            axes.bar(positions, heights, bottom=bottom, label=_platform(platform.value))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.plot(
        positions,
        [w.removed for w in digest.weeks],
        color="black",
        marker="o",
        label=messages.CHART_REMOVED,
    )
    axes.set_title(messages.chart_title(digest.school))
    axes.set_xticks(positions, labels, rotation=45, ha="right", fontsize=7)
    axes.set_ylabel(messages.CHART_CASES)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=7, loc="upper left")
    return figure


def outgoing(
    digest: Digest,
    school: SchoolConfig,
    transports: frozenset[Transport],
    chart: bytes | None,
) -> list[Outgoing]:
    body = text(digest, school)
    picture = None
    if chart is not None:
        picture = Attachment(f"casebook-week-{digest.end:%Y-%m-%d}.png", chart, mime="image/png")
    return [
        Outgoing(place=place, text=body, attachment=picture)
        for place in leads_places(school, transports)
    ]


def _weeks(cases: list[Case], start: datetime, end: datetime) -> list[WeekCounts]:
    """Seven-day weeks from `start` (each from just after its start up to and including its
    end) until one passes `end`, at most 30; one pass over the cases, not one per week."""
    count = 0 if end <= start else min(-((start - end) // _WEEK), _MAX_WEEKS)
    new: list[Counter[str]] = [Counter() for _ in range(count)]
    removed = [0] * count
    for case in cases:
        week = _week_of(case.created_at, start, count)
        if week is not None:
            new[week][case.platform.value] += 1
        if (
            case.removed_at is not None
            and case.removed_at <= end  # a removal after the end is not in this week, built late
            and (week := _week_of(case.removed_at, start, count)) is not None
        ):
            removed[week] += 1
    return [WeekCounts(start + _WEEK * n, dict(new[n]), removed[n]) for n in range(count)]


def _week_of(moment: datetime, start: datetime, count: int) -> int | None:
    if moment <= start:
        return None
    week = (moment - start - _TICK) // _WEEK
    return week if week < count else None


def _age_bucket(age: timedelta) -> str:
    for limit, label in AGE_BUCKETS:
        if age < limit:
            return label
    return OLDEST_BUCKET


def _ordered(counts: Counter[str], order: list[str]) -> dict[str, int]:
    return {key: counts[key] for key in order if counts.get(key)}


def _platform(value: str) -> str:
    return messages.PLATFORM_NAMES[Platform(value)]
