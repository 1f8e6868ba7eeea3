"""The evidence export: one JSON object per case, oldest case first, the same bytes on every store.

SQLite writes each object with `json_object`, so Python only passes text along. Building the
same objects row by row in Python took three times as long at 100 000 cases (see
benchmarks/README.md). PostgreSQL's JSON text is spaced differently, so there the columns come
back as values and Python writes them exactly as SQLite would (compact, non-ASCII as it is). The
keys and their order are the fields of `handlers.export.ExportRow`; a test holds the two together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from storage.cases import FIRST_LINK, case_filters
from storage.sql import Dialect, SqlConnection

BATCH = 1000

# Days from the platform report (or, if never reported, the case) to removal, in tenths,
# rounded half up with integer arithmetic so that Python (handlers.export.days_to_removal)
# and SQLite agree to the last digit. Each instant counts in whole seconds, as strftime('%s')
# reads it.
_DAYS_TO_REMOVAL = (
    "CASE WHEN c.removed_at IS NOT NULL THEN"
    " (max(CAST(strftime('%s', c.removed_at) AS INTEGER)"
    " - CAST(strftime('%s', COALESCE(c.reported_to_platform_at, c.created_at)) AS INTEGER), 0)"
    " * 10 + 43200) / 86400 / 10.0 END"
)
# Every link of the case, in the order they were added (a merged case's after its own).
_LINKS = (
    "json((SELECT json_group_array(canonical_url) FROM (SELECT canonical_url FROM case_links l"
    " WHERE l.case_id = c.id ORDER BY l.id)))"
)
# Alphabetical: the covering index on (case_id, category) yields them in that order for free.
_CATEGORIES = (
    "json((SELECT json_group_array(category) FROM case_categories k WHERE k.case_id = c.id))"
)
_REPORTER_NAMES = (
    "json((SELECT json_group_array(shown) FROM (SELECT CASE WHEN p.name != '' THEN p.name"
    " ELSE p.key END AS shown FROM case_reporters r JOIN people p ON p.id = r.person_id"
    " WHERE r.case_id = c.id ORDER BY r.reported_at, r.person_id)))"
)
# Purged cases keep only their count of reporters.
_REPORTER_COUNT = (
    "COALESCE(c.reporter_count, (SELECT COUNT(*) FROM case_reporters r WHERE r.case_id = c.id))"
)
_ASSIGNEE = "CASE WHEN a.name != '' THEN a.name ELSE a.key END"


def _time(column: str, anonymised: bool) -> str:
    """Stored times are ISO 8601 UTC with Z already, to the microsecond; the export shows whole
    seconds, and the anonymised form keeps only the day."""
    return f"substr({column}, 1, 10)" if anonymised else f"substr({column}, 1, 19) || 'Z'"


# The same values as PostgreSQL computes them (Python writes the JSON).
_DAYS_IN_TENTHS_PG = (
    "CASE WHEN c.removed_at IS NOT NULL THEN"
    " (GREATEST(floor(extract(epoch FROM c.removed_at::timestamptz))::bigint"
    " - floor(extract(epoch FROM COALESCE(c.reported_to_platform_at, c.created_at)"
    "::timestamptz))::bigint, 0) * 10 + 43200) / 86400 END"
)
_PG = {
    "urgent": "c.urgent <> 0",
    "categories": "COALESCE((SELECT array_agg(category ORDER BY category) FROM case_categories k"
    " WHERE k.case_id = c.id), '{}')",
    "days_to_removal": _DAYS_IN_TENTHS_PG,
    "reporters": "COALESCE((SELECT array_agg(CASE WHEN p.name != '' THEN p.name ELSE p.key END"
    " ORDER BY r.reported_at, r.person_id) FROM case_reporters r JOIN people p"
    " ON p.id = r.person_id WHERE r.case_id = c.id), '{}')",
    "links": "COALESCE((SELECT array_agg(canonical_url ORDER BY l.id) FROM case_links l"
    " WHERE l.case_id = c.id), '{}')",
}


def _fields(anonymised: bool) -> tuple[tuple[str, str], ...]:
    return (
        ("id", "c.number"),
        ("school", "s.name"),
        ("status", "c.status"),
        ("urgent", "json(CASE WHEN c.urgent THEN 'true' ELSE 'false' END)"),
        ("platform", "c.platform"),
        ("url", "NULL" if anonymised else FIRST_LINK),
        ("categories", _CATEGORIES),
        ("targets", "c.targets"),
        ("reported_to_platform", "c.reported_to_platform"),
        ("reported_to_platform_at", _time("c.reported_to_platform_at", anonymised)),
        ("removed_at", _time("c.removed_at", anonymised)),
        ("days_to_removal", _DAYS_TO_REMOVAL),
        ("reporters", _REPORTER_COUNT if anonymised else _REPORTER_NAMES),
        ("source", "c.source"),
        ("assignee", "NULL" if anonymised else _ASSIGNEE),
        ("created_at", _time("c.created_at", anonymised)),
        ("updated_at", _time("c.updated_at", anonymised)),
        ("closed_at", _time("c.closed_at", anonymised)),
        ("close_reason", "c.close_reason"),
        ("deployment", "(SELECT id FROM deployment)"),
        ("case_key", "(SELECT key FROM case_keys k WHERE k.case_id = c.id)"),
        ("links", "NULL" if anonymised else _LINKS),
        ("author_is_pupil", "c.author_is_pupil"),
        ("escalated_to", "c.escalated_to"),
        ("escalated_at", _time("c.escalated_at", anonymised)),
    )


def _document(anonymised: bool) -> str:
    fields = _fields(anonymised)
    return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in fields) + ")"


def _columns(anonymised: bool) -> str:
    """PostgreSQL: the fields as columns, in the same order."""
    return ", ".join(
        value if value == "NULL" or (key == "reporters" and anonymised) else _PG.get(key, value)
        for key, value in _fields(anonymised)
    )


def query(anonymised: bool, where: str = "", dialect: Dialect = Dialect.SQLITE) -> str:
    """The export's SELECT, with an optional WHERE clause over `cases c` (for query plans too)."""
    select = _document(anonymised) if dialect is Dialect.SQLITE else _columns(anonymised)
    return (
        f"SELECT {select} FROM cases c JOIN schools s ON s.id = c.school_id"
        f" LEFT JOIN people a ON a.id = c.assignee_id{where} ORDER BY c.created_at, c.id"
    )


def _text(keys: list[str], row: Any) -> str:
    """One case as SQLite's json_object writes it."""
    document = dict(zip(keys, row, strict=True))
    tenths = document["days_to_removal"]
    document["days_to_removal"] = None if tenths is None else tenths / 10
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


class SqlExports:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def documents(
        self,
        school_id: int | None = None,
        since: datetime | None = None,
        anonymised: bool = False,
    ) -> AsyncIterator[list[str]]:
        """Every case (of one school, created since a moment) as JSON text, in batches."""
        where, parameters = case_filters(school_id, since)
        dialect = self._db.dialect
        if dialect is Dialect.POSTGRES:
            keys = [key for key, _ in _fields(anonymised)]
            async with self._db.execute(query(anonymised, where, dialect), parameters) as cursor:
                while rows := await cursor.fetchmany(BATCH):
                    yield [_text(keys, row) for row in rows]
            return
        async with self._db.execute(query(anonymised, where), parameters) as cursor:
            # Plain tuples in batches of 1 000: aiosqlite's own iteration crosses to its thread
            # every 64 rows, and sqlite3.Row objects cost more than the tuples they wrap.
            cursor.row_factory = None
            while rows := await cursor.fetchmany(BATCH):
                yield [row[0] for row in rows]
