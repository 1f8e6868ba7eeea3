"""Made-up deployments for trying the evidence report without real data (`casebook demo-data`).

Each deployment (a school, or a trust of a few) gets one anonymised export, written exactly as
`casebook export --anonymised --format json` writes it, so everything that reads real exports
reads these. Each platform has its own behaviour (how many posts are reported, how many removed
and how fast, how many never), so every part of the report has something to show; a few cases are
duplicates, withdrawn or not abuse, and a few are closed while the post is still up. Half the
posts still up a week after the report are escalated, each route with its own behaviour too. The
same seed and end day give the same files, byte for byte: nothing comes from the clock or the
system's randomness.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from handlers.export import ExportRow, JsonWriter, as_dict
from storage.models import (
    URGENT_CATEGORIES,
    AuthorIsPupil,
    Category,
    CloseReason,
    EscalationRoute,
    Platform,
    Status,
    Target,
)


@dataclass(frozen=True)
class Behaviour:
    """How one made-up platform treats reports: the knobs the report should be able to show."""

    platform: Platform
    weight: float  # its share of cases
    reported: float  # share of its posts reported to it
    removed: float  # share of reported posts it ever removes
    mean_days: float  # mean days from the report to removal, for those it removes


BEHAVIOURS = (
    Behaviour(Platform.TIKTOK, 0.34, 0.92, 0.80, 2.0),
    Behaviour(Platform.INSTAGRAM, 0.20, 0.85, 0.65, 5.0),
    Behaviour(Platform.FACEBOOK, 0.12, 0.80, 0.55, 9.0),
    Behaviour(Platform.X, 0.14, 0.80, 0.20, 25.0),
    Behaviour(Platform.YOUTUBE, 0.08, 0.75, 0.70, 4.0),
    Behaviour(Platform.SNAPCHAT, 0.07, 0.55, 0.40, 3.0),
    Behaviour(Platform.THREADS, 0.03, 0.70, 0.50, 7.0),
    Behaviour(Platform.OTHER, 0.02, 0.40, 0.30, 12.0),
)
# Of every case: closed as one of these soon after it was logged (not counted in the figures).
_NOT_COUNTED = (
    (CloseReason.DUPLICATE, 0.04),
    (CloseReason.WITHDRAWN, 0.015),
    (CloseReason.NOT_ABUSE, 0.015),
)
_RESOLVED_WHILE_UP = 0.08  # of the posts never removed: the school closed the case anyway
_ESCALATED = 0.5  # of the posts still up a week after the report: a lead escalated it


@dataclass(frozen=True)
class Route:
    """How a made-up escalation route does: how often it gets a post down, and how fast."""

    route: EscalationRoute
    weight: float
    removes: float
    mean_days: float


ROUTES = (
    Route(EscalationRoute.POSH, 0.6, 0.9, 3.0),
    Route(EscalationRoute.REPORT_HARMFUL_CONTENT, 0.25, 0.6, 8.0),
    Route(EscalationRoute.POLICE, 0.15, 0.4, 10.0),
)
_CASES_PER_SCHOOL_MONTH = (1, 7)
_SCHOOLS_PER_DEPLOYMENT = (1, 1, 1, 2, 3, 4)  # most run their own; some trusts run one for several
_PLACES = (
    "Northfield", "Eastbrook", "Southgate", "Westmoor", "Hillcrest", "Riverside", "Oakwood",
    "Ashford", "Meadowbank", "Kingsway", "Fairview", "Greenhill", "Brookside", "Highfield",
    "Lakeside", "Millbrook", "Parkside", "Redcliffe", "Stonebridge", "Thornbury", "Underwood",
    "Valley Road", "Willowdene", "Yewtree",
)  # fmt: skip
_KINDS = ("Academy", "High School", "Primary School", "College", "Community School")


@dataclass(frozen=True)
class DemoExport:
    """One made-up deployment's export: a file name and its text."""

    name: str
    text: str
    cases: int


def generate(schools: int, months: int, seed: int, end: date) -> list[DemoExport]:
    """Exports for `schools` made-up schools with cases over the `months` before `end`."""
    chance = random.Random(seed)  # noqa: S311 - made-up data, the same for a seed
    start = _months_before(end, months)
    names = _school_names(chance, schools)
    exports = []
    number = 0
    while names:
        size = min(chance.choice(_SCHOOLS_PER_DEPLOYMENT), len(names))
        mine, names = names[:size], names[size:]
        number += 1
        deployment = _hex(chance)
        rows: list[ExportRow] = []
        for school in mine:
            rows += _cases(chance, school, deployment, start, end, months)
        rows.sort(key=lambda row: (row.created_at or "", row.school, row.id))
        exports.append(DemoExport(f"deployment-{number:02d}.json", _json(rows), len(rows)))
    return exports


def _cases(
    chance: random.Random,
    school: str,
    deployment: str,
    start: date,
    end: date,
    months: int,
) -> list[ExportRow]:
    count = sum(chance.randint(*_CASES_PER_SCHOOL_MONTH) for _ in range(months))
    span = (end - start).days + 1
    moments = sorted(
        datetime.combine(start + timedelta(days=chance.randrange(span)), time(7), UTC)
        + timedelta(minutes=chance.randrange(12 * 60))
        for _ in range(count)
    )
    weights = [b.weight for b in BEHAVIOURS]
    return [
        _case(
            chance, number, school, deployment, created, chance.choices(BEHAVIOURS, weights)[0], end
        )
        for number, created in enumerate(moments, start=1)
    ]


def _case(
    chance: random.Random,
    number: int,
    school: str,
    deployment: str,
    created: datetime,
    behaviour: Behaviour,
    end: date,
) -> ExportRow:
    last = datetime.combine(end, time(23, 59), UTC)
    reported = removed = closed = None
    close_reason: str | None = None
    if chance.random() < behaviour.reported:
        reported = created + timedelta(hours=chance.expovariate(1 / 10))
        if reported > last:
            reported = None
    if reported is not None and chance.random() < behaviour.removed:
        removed = reported + timedelta(days=chance.expovariate(1 / behaviour.mean_days))
        if removed > last:
            removed = None  # still up when the export was made
    escalated, route = None, None
    if reported is not None and chance.random() < _ESCALATED:
        at = reported + timedelta(days=7 + chance.expovariate(1 / 3))
        if at <= last and (removed is None or removed > at):
            escalated = at
            taken = chance.choices(ROUTES, [r.weight for r in ROUTES])[0]
            route = taken.route
            if chance.random() < taken.removes:
                sooner = at + timedelta(days=chance.expovariate(1 / taken.mean_days))
                if sooner <= last and (removed is None or sooner < removed):
                    removed = sooner
    roll = chance.random()
    for reason, share in _NOT_COUNTED:
        if roll < share:
            close_reason = reason.value
            closed = created + timedelta(hours=chance.uniform(1, 48))
            reported = removed = escalated = route = None
            break
        roll -= share
    else:
        if removed is None and chance.random() < _RESOLVED_WHILE_UP:
            closed = (reported or created) + timedelta(days=chance.uniform(3, 60))
            close_reason = CloseReason.RESOLVED.value
    if closed is not None and closed > last:
        closed = close_reason = None
    status = (
        Status.CLOSED
        if closed
        else Status.REMOVED
        if removed
        else Status.ESCALATED
        if escalated
        else Status.REPORTED
        if reported
        else Status.OPEN
    )
    kinds = sorted(c.value for c in chance.sample(_CATEGORY_LIST, chance.choice((1, 1, 1, 2))))
    updated = max(t for t in (created, reported, escalated, removed, closed) if t is not None)
    return ExportRow(
        id=number,
        school=school,
        status=status.value,
        urgent=any(Category(kind) in URGENT_CATEGORIES for kind in kinds),
        platform=behaviour.platform.value,
        url=None,
        categories=kinds,
        targets=chance.choice(list(Target)).value,
        reported_to_platform="yes" if reported else chance.choice(("no", "unsure", None)),
        reported_to_platform_at=_day(reported),
        removed_at=_day(removed),
        days_to_removal=_days_to_removal(removed, reported or created),
        reporters=chance.choice((1, 1, 1, 2, 3)),
        source=chance.choice(("slack", "slack", "telegram")),
        assignee=None,
        created_at=_day(created),
        updated_at=_day(updated),
        closed_at=_day(closed),
        close_reason=close_reason,
        deployment=deployment,
        case_key=_hex(chance),
        links=None,
        author_is_pupil=chance.choice(list(AuthorIsPupil)).value,
        escalated_to=None if route is None else route.value,
        escalated_at=_day(escalated),
    )


_CATEGORY_LIST = list(Category)


def _json(rows: list[ExportRow]) -> str:
    """The export's bytes: one compact object per line, as SQLite's json_object writes them."""
    out = io.StringIO()
    writer = JsonWriter(out)
    writer.write([json.dumps(as_dict(r), ensure_ascii=False, separators=(",", ":")) for r in rows])
    writer.close()
    return out.getvalue()


def _days_to_removal(removed: datetime | None, start: datetime) -> float | None:
    """As the export computes it: whole seconds, in tenths of a day, halves rounded up."""
    if removed is None:
        return None
    seconds = max(int((removed - start).total_seconds()), 0)
    return (seconds * 10 + 43_200) // 86_400 / 10


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.date().isoformat()


def _hex(chance: random.Random) -> str:
    return f"{chance.getrandbits(64):016x}"


def _school_names(chance: random.Random, count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = f"{chance.choice(_PLACES)} {chance.choice(_KINDS)}"
        if name in seen:
            name = f"{name} {len(names) + 1}"
        seen.add(name)
        names.append(name)
    return names


def _months_before(end: date, months: int) -> date:
    month = end.year * 12 + end.month - 1 - months
    return date(month // 12, month % 12 + 1, min(end.day, 28)) + timedelta(days=1)
