"""The evidence export: one record per case, as JSON or as CSV that opens in a spreadsheet.

The fields are those of `ExportRow`; SQLite builds each record as a JSON object with exactly
those keys (storage/exports.py), the JSON export writes them as they come and the CSV reads them.
The anonymised form drops everything that could identify a person or a post and coarsens times
to the day, so it can go to a regulator.
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

from handlers.text import without_bidi_overrides
from storage.models import Case, CaseTiming
from storage.unit import Unit

# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportRow:
    """One exported case: the export's fields, in order. SQLite builds the same objects as JSON
    (storage/exports.py) and the anonymised form has the same keys with fewer values."""

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
    reporters: list[str] | int  # names, or only their number when anonymised
    source: str
    assignee: str | None
    created_at: str | None
    updated_at: str | None
    closed_at: str | None
    close_reason: str | None
    deployment: str  # random, one per database: which deployment the case comes from
    case_key: str  # random, one per case, the same in every export: counts it once when combined
    links: list[str] | None  # every link, in the order added; None when anonymised
    # yes, no or unknown (the last question's answer); last, so a spreadsheet that reads earlier
    # exports' columns by position still finds them where they were.
    author_is_pupil: str | None
    # Where a lead first escalated the case (posh, report-harmful-content or police) and when;
    # after the earlier fields for the same reason.
    escalated_to: str | None = None
    escalated_at: str | None = None


FIELDS = tuple(f.name for f in dataclasses.fields(ExportRow))


async def export_rows(
    unit: Unit,
    *,
    school: str | None = None,
    since: datetime | None = None,
    anonymised: bool = False,
) -> list[ExportRow]:
    """Every case (of one school, created since a moment) as an export row, oldest first."""
    return [
        ExportRow(**json.loads(document))
        async for batch in documents(unit, school=school, since=since, anonymised=anonymised)
        for document in batch
    ]


async def documents(
    unit: Unit,
    *,
    school: str | None = None,
    since: datetime | None = None,
    anonymised: bool = False,
) -> AsyncIterator[list[str]]:
    """The same cases as JSON objects, in batches as the database yields them (any size)."""
    school_id: int | None = None
    if school is not None:
        found = await unit.schools.by_name(school)
        if found is None:
            return
        school_id = found.id
    async for batch in unit.exports.documents(
        school_id=school_id, since=since, anonymised=anonymised
    ):
        yield batch


def days_to_removal(case: Case | CaseTiming) -> float | None:
    """Days from the platform report (or, if unknown, the case) to removal, in tenths.

    Each instant in whole seconds, rounded half up in integers: the export's SQL computes
    exactly the same.
    """
    if case.removed_at is None:
        return None
    start = case.reported_to_platform_at or case.created_at
    seconds = max(int(case.removed_at.timestamp()) - int(start.timestamp()), 0)
    return (seconds * 10 + 43_200) // 86_400 / 10


def to_csv(rows: Iterable[ExportRow]) -> str:
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    for row in rows:
        writer.write_row(as_dict(row))
    writer.close()
    return buffer.getvalue()


class JsonWriter:
    """A JSON array with one case per line, written batch by batch (exports of any size)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._first = True

    def write(self, batch: list[str]) -> None:
        """Write JSON object texts, as `documents` yields them."""
        if batch:
            self._out.write(("[\n" if self._first else ",\n") + ",\n".join(batch))
            self._first = False

    def close(self) -> None:
        self._out.write("[]\n" if self._first else "\n]\n")


class CsvWriter:
    """CSV with a header row; cells a spreadsheet would run as formulas are quoted."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(FIELDS)

    def write(self, batch: list[str]) -> None:
        """Write JSON object texts, as `documents` yields them, one CSV row each."""
        for document in batch:
            self.write_row(json.loads(document))

    def write_row(self, fields: dict[str, Any]) -> None:
        self._writer.writerow([_cell(fields[name]) for name in FIELDS])

    def close(self) -> None:
        """Nothing to finish: every row is complete as written."""


def as_dict(row: ExportRow) -> dict[str, Any]:
    """The row's fields (shallow: faster than dataclasses.asdict, which copies every list)."""
    return {name: getattr(row, name) for name in FIELDS}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = without_bidi_overrides(str(value))  # they would reorder what a spreadsheet shows
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
