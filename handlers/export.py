"""The evidence export: one record per case, as JSON or as CSV that opens in a spreadsheet.

The field list lives here once, in `ExportRow`; the anonymised form drops everything that could
identify a person or a post and coarsens times to the day, so it can go to a regulator.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from storage.models import Case, Category, ExportRecord
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
    return [
        row async for row in stream_rows(unit, school=school, since=since, anonymised=anonymised)
    ]


async def stream_rows(
    unit: Unit,
    *,
    school: str | None = None,
    since: datetime | None = None,
    anonymised: bool = False,
) -> AsyncIterator[ExportRow]:
    """The same rows, one at a time as the database yields them, for exports of any size."""
    school_id: int | None = None
    if school is not None:
        found = await unit.schools.by_name(school)
        if found is None:
            return
        school_id = found.id
    async for record in unit.cases.export_records(school_id=school_id, since=since):
        yield _record_row(record, anonymised)


def days_to_removal(case: Case) -> float | None:
    """Days from the platform report (or, if unknown, the case) to removal, to one decimal."""
    return _days(case.reported_to_platform_at or case.created_at, case.removed_at)


def to_json(rows: Iterable[ExportRow]) -> str:
    buffer = io.StringIO()
    write_json(rows, buffer)
    return buffer.getvalue()


def to_csv(rows: Iterable[ExportRow]) -> str:
    buffer = io.StringIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


def write_json(rows: Iterable[ExportRow], out: TextIO) -> None:
    _write_all(JsonWriter(out), rows)


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> None:
    _write_all(CsvWriter(out), rows)


class JsonWriter:
    """A JSON array with one object per line, written row by row (exports of any size)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._first = True

    def write(self, row: ExportRow) -> None:
        line = json.dumps(as_dict(row), ensure_ascii=False)
        self._out.write(("[\n" if self._first else ",\n") + line)
        self._first = False

    def close(self) -> None:
        self._out.write("[]\n" if self._first else "\n]\n")


class CsvWriter:
    """CSV with a header row; cells a spreadsheet would run as formulas are quoted."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(FIELDS)

    def write(self, row: ExportRow) -> None:
        self._writer.writerow([_cell(getattr(row, name)) for name in FIELDS])

    def close(self) -> None:
        """Nothing to finish: every row is complete as written."""


def as_dict(row: ExportRow) -> dict[str, Any]:
    """The row's fields (shallow: much faster than dataclasses.asdict over 100 000 rows)."""
    return {name: getattr(row, name) for name in FIELDS}


def _write_all(writer: JsonWriter | CsvWriter, rows: Iterable[ExportRow]) -> None:
    for row in rows:
        writer.write(row)
    writer.close()


def _record_row(record: ExportRecord, anonymised: bool) -> ExportRow:
    time = _stored_day if anonymised else _stored
    names = record.reporters.split("\x1f") if record.reporters else []
    chosen = set(record.categories.split(",")) if record.categories else set()
    return ExportRow(
        id=record.number,
        school=record.school,
        status=record.status,
        urgent=bool(record.urgent),
        platform=record.platform,
        url=None if anonymised else record.url,
        categories=[c.value for c in Category if c.value in chosen],
        targets=record.targets,
        reported_to_platform=record.reported_to_platform,
        reported_to_platform_at=time(record.reported_to_platform_at),
        removed_at=time(record.removed_at),
        days_to_removal=_days(
            datetime.fromisoformat(record.reported_to_platform_at or record.created_at),
            None if record.removed_at is None else datetime.fromisoformat(record.removed_at),
        ),
        reporters=record.reporter_count if anonymised else names,
        source=record.source,
        assignee=None if anonymised else record.assignee,
        created_at=time(record.created_at),
        updated_at=time(record.updated_at),
        closed_at=time(record.closed_at),
        close_reason=record.close_reason,
    )


def _days(start: datetime, end: datetime | None) -> float | None:
    """Whole and tenth days from start to end; the one rule for every days-to-removal figure."""
    if end is None:
        return None
    return round(max((end - start).total_seconds(), 0) / 86400, 1)


def _stored(value: str | None) -> str | None:
    """Stored times are already ISO 8601 UTC with Z, exactly the export's form."""
    return value


def _stored_day(value: str | None) -> str | None:
    return None if value is None else value[:10]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
