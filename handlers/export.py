"""The evidence export: one record per case, as JSON or as CSV that opens in a spreadsheet.

The field list lives here once, in `ExportRow`; the anonymised form drops everything that could
identify a person or a post and coarsens times to the day, so it can go to a regulator.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from storage.models import Case, Category
from storage.unit import Unit

# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportRow:
    id: int
    school: str
    status: str
    urgent: bool
    platform: str
    url: str | None
    categories: list[str]
    targets: str | None
    reported_to_platform: str | None
    reported_to_platform_at: str | None
    removed_at: str | None
    days_to_removal: float | None
    reporters: list[str] | int
    source: str
    assignee: str | None
    created_at: str | None
    updated_at: str | None
    closed_at: str | None
    close_reason: str | None


FIELDS = tuple(f.name for f in dataclasses.fields(ExportRow))


async def export_rows(
    unit: Unit,
    *,
    school: str | None = None,
    since: datetime | None = None,
    anonymised: bool = False,
) -> list[ExportRow]:
    """Every case (of one school, created since a date) as an export row, oldest first."""
    school_id: int | None = None
    if school is not None:
        found = await unit.schools.by_name(school)
        if found is None:
            return []
        school_id = found.id
    cases = await unit.cases.listing(school_id=school_id, since=since)
    school_names = {school.id: school.name for school in await unit.schools.all()}
    reporters = await unit.cases.reporters_for([case.id for case in cases])
    assignees: dict[int, str | None] = {}
    rows = []
    for case in cases:
        assignee = None
        if case.assignee_id is not None and not anonymised:
            if case.assignee_id not in assignees:
                person = await unit.people.get(case.assignee_id)
                assignees[case.assignee_id] = person.name or person.key if person else None
            assignee = assignees[case.assignee_id]
        rows.append(
            _row(
                case,
                school_names.get(case.school_id, ""),
                [r.person.name or r.person.key for r in reporters[case.id]],
                assignee,
                anonymised,
            )
        )
    return rows


def days_to_removal(case: Case) -> float | None:
    """Days from the platform report (or, if unknown, the case) to removal, to one decimal."""
    if case.removed_at is None:
        return None
    start = case.reported_to_platform_at or case.created_at
    return round(max((case.removed_at - start).total_seconds(), 0) / 86400, 1)


def to_json(rows: list[ExportRow]) -> str:
    buffer = io.StringIO()
    write_json(rows, buffer)
    return buffer.getvalue()


def write_json(rows: list[ExportRow], out: TextIO) -> None:
    """One object per line inside a JSON array: valid JSON, diffable, written as it goes."""
    if not rows:
        out.write("[]\n")
        return
    out.write("[\n")
    for index, row in enumerate(rows):
        out.write(("" if index == 0 else ",\n") + json.dumps(as_dict(row), ensure_ascii=False))
    out.write("\n]\n")


def as_dict(row: ExportRow) -> dict[str, Any]:
    """The row's fields (shallow: much faster than dataclasses.asdict over 100 000 rows)."""
    return {name: getattr(row, name) for name in FIELDS}


def to_csv(rows: list[ExportRow]) -> str:
    buffer = io.StringIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


def write_csv(rows: list[ExportRow], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_cell(getattr(row, name)) for name in FIELDS])


def _row(
    case: Case, school: str, reporters: list[str], assignee: str | None, anonymised: bool
) -> ExportRow:
    time = _day if anonymised else _instant
    return ExportRow(
        id=case.number,
        school=school,
        status=case.status.value,
        urgent=case.urgent,
        platform=case.platform.value,
        url=None if anonymised else case.url,
        categories=[c.value for c in Category if c in case.categories],
        targets=None if case.targets is None else case.targets.value,
        reported_to_platform=None
        if case.reported_to_platform is None
        else case.reported_to_platform.value,
        reported_to_platform_at=time(case.reported_to_platform_at),
        removed_at=time(case.removed_at),
        days_to_removal=days_to_removal(case),
        reporters=(case.reporter_count or 0 if case.purged_at else len(reporters))
        if anonymised
        else reporters,
        source=case.source.value,
        assignee=None if anonymised else assignee,
        created_at=time(case.created_at),
        updated_at=time(case.updated_at),
        closed_at=time(case.closed_at),
        close_reason=case.close_reason,
    )


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
