"""The append-only audit trail; the database refuses updates and deletes (see the migration)."""

from __future__ import annotations

from storage.models import AuditAction, AuditEntry
from storage.sql import SqlConnection
from storage.times import from_db, to_db


class SqlAudit:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def append(self, entry: AuditEntry) -> None:
        await self._db.execute(
            "INSERT INTO audit (case_id, school_id, actor_id, action, from_value, to_value,"
            " reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.case_id,
                entry.school_id,
                entry.actor_id,
                entry.action,
                entry.from_value,
                entry.to_value,
                entry.reason,
                to_db(entry.at),
            ),
        )

    async def for_cases(self, case_ids: list[int]) -> list[AuditEntry]:
        """The entries of these cases, interleaved in the order they were written."""
        if not case_ids:
            return []
        marks = ",".join("?" * len(case_ids))
        async with self._db.execute(
            "SELECT case_id, school_id, actor_id, action, from_value, to_value, reason, at"
            f" FROM audit WHERE case_id IN ({marks}) ORDER BY id",
            case_ids,
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            AuditEntry(
                case_id=r["case_id"],
                school_id=r["school_id"],
                actor_id=r["actor_id"],
                action=AuditAction(r["action"]),
                from_value=r["from_value"],
                to_value=r["to_value"],
                reason=r["reason"],
                at=from_db(r["at"]),
            )
            for r in rows
        ]
