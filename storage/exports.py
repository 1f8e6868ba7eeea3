"""The evidence export as SQLite builds it: one JSON object per case, oldest case first.

SQLite writes each object with `json_object`, so Python only passes text along. Building the
same objects row by row in Python took three times as long at 100 000 cases (see
benchmarks/README.md). The keys and their order are the fields of `handlers.export.ExportRow`;
a test holds the two together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from storage.cases import FIRST_LINK, case_filters
from storage.sql import SqlConnection

BATCH = 1000

# Days from the platform report (or, if never reported, the case) to removal, in tenths,
# rounded half up with integer arithmetic so that Python (handlers.export.days_to_removal)
# and SQLite agree to the last digit.
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
    """Stored times are ISO 8601 UTC with Z already; the anonymised form keeps only the day."""
    return f"substr({column}, 1, 10)" if anonymised else column


def _document(anonymised: bool) -> str:
    fields = (
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
    )
    return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in fields) + ")"


def query(anonymised: bool, where: str = "") -> str:
    """The export's SELECT, with an optional WHERE clause over `cases c` (for query plans too)."""
    return (
        f"SELECT {_document(anonymised)} FROM cases c JOIN schools s ON s.id = c.school_id"
        f" LEFT JOIN people a ON a.id = c.assignee_id{where} ORDER BY c.created_at, c.id"
    )


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
        async with self._db.execute(query(anonymised, where), parameters) as cursor:
            # Plain tuples in batches of 1 000: aiosqlite's own iteration crosses to its thread
            # every 64 rows, and sqlite3.Row objects cost more than the tuples they wrap.
            cursor.row_factory = None
            while rows := await cursor.fetchmany(BATCH):
                yield [row[0] for row in rows]
