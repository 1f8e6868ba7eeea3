"""What `casebook evidence` reads of each case, straight from the database.

Only what the association's figures need: no link, name or free text leaves this query. Times are
cut to the day in SQL, as in the anonymised export, so figures from the database and figures from
exports of the same database agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from storage.sql import Dialect, SqlConnection


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One case as the evidence report sees it. `deployment` and `key` identify it across exports;
    `updated` (a day) picks the newest copy when two exports hold the same case."""

    deployment: str
    key: str
    school: str
    platform: str
    created: date
    reported: date | None
    removed: date | None
    closed: date | None
    close_reason: str | None
    categories: tuple[str, ...]
    updated: str
    escalated_to: str | None = None  # where a lead first escalated the case, and the day
    escalated: date | None = None


_QUERY = (
    "SELECT (SELECT id FROM deployment), k.key, s.name, c.platform,"
    " substr(c.created_at, 1, 10), substr(c.reported_to_platform_at, 1, 10),"
    " substr(c.removed_at, 1, 10), substr(c.closed_at, 1, 10), c.close_reason,"
    " (SELECT {concat} FROM case_categories g WHERE g.case_id = c.id),"
    " substr(c.updated_at, 1, 10), c.escalated_to, substr(c.escalated_at, 1, 10)"
    " FROM cases c JOIN schools s ON s.id = c.school_id LEFT JOIN case_keys k ON k.case_id = c.id"
)
_QUERIES = {
    Dialect.SQLITE: _QUERY.format(concat="group_concat(category, ',')"),
    Dialect.POSTGRES: _QUERY.format(concat="string_agg(category, ',')"),
}


class SqlEvidence:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection
        self._query = _QUERIES[connection.dialect]

    async def rows(
        self,
        schools: tuple[str, ...] = (),
        since: date | None = None,
        until: date | None = None,
    ) -> list[EvidenceRow]:
        """Every case (of these schools, created between two days inclusive)."""
        clauses: list[str] = []
        parameters: list[Any] = []
        if schools:
            clauses.append(f"s.name IN ({', '.join('?' for _ in schools)})")
            parameters.extend(schools)
        if since is not None:
            clauses.append("c.created_at >= ?")
            parameters.append(since.isoformat())
        if until is not None:
            clauses.append("substr(c.created_at, 1, 10) <= ?")
            parameters.append(until.isoformat())
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._db.execute(self._query + where, parameters) as cursor:
            cursor.row_factory = None  # plain tuples: sqlite3.Row costs more than it gives here
            found = await cursor.fetchall()
        days: dict[str, date] = {}  # 100 000 cases fall on about a thousand days

        def day(text: str | None) -> date | None:
            if text is None:
                return None
            known = days.get(text)
            if known is None:
                known = days[text] = date.fromisoformat(text)
            return known

        return [
            EvidenceRow(
                deployment,
                key if key is not None else f"row-{case_id}",
                school,
                platform,
                day(created) or date.min,
                day(reported),
                day(removed),
                day(closed),
                close_reason,
                tuple(categories.split(",")) if categories else (),
                updated,
                escalated_to,
                day(escalated),
            )
            for case_id, (
                deployment,
                key,
                school,
                platform,
                created,
                reported,
                removed,
                closed,
                close_reason,
                categories,
                updated,
                escalated_to,
                escalated,
            ) in enumerate(found)
        ]
