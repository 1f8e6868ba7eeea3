"""Reminder rows (the escalation ladder) and digest keys (one per school and ISO week)."""

from __future__ import annotations

from datetime import datetime

from storage.models import Reminder, ReminderAnswer, ReminderKind
from storage.sql import SqlConnection
from storage.times import from_db, from_db_or_none, to_db

_COLUMNS = "id, case_id, kind, due_at, conversation_id, sent_at, cancelled_at, answered_at, answer"


class SqlReminders:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(
        self,
        case_id: int,
        kind: ReminderKind,
        due_at: datetime,
        at: datetime,
        conversation_id: int | None = None,
    ) -> bool:
        """Add (or revive a cancelled) reminder; False when it is already pending or was sent."""
        async with self._db.execute(
            "INSERT INTO reminders (case_id, kind, due_at, conversation_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id, kind, due_at) DO UPDATE"
            " SET cancelled_at = NULL"
            " WHERE reminders.sent_at IS NULL AND reminders.cancelled_at IS NOT NULL"
            " RETURNING id",
            (case_id, kind.value, to_db(due_at), conversation_id, to_db(at)),
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def pending_for_case(self, case_id: int) -> list[Reminder]:
        return await self._many(
            f"SELECT {_COLUMNS} FROM reminders WHERE case_id = ? AND sent_at IS NULL"
            " AND cancelled_at IS NULL ORDER BY due_at, id",
            (case_id,),
        )

    async def get(self, reminder_id: int) -> Reminder | None:
        found = await self._many(f"SELECT {_COLUMNS} FROM reminders WHERE id = ?", (reminder_id,))
        return found[0] if found else None

    async def due(self, now: datetime, limit: int = 200) -> list[Reminder]:
        """Unsent, uncancelled reminders due by `now`, oldest due first."""
        return await self._many(
            f"SELECT {_COLUMNS} FROM reminders WHERE sent_at IS NULL AND cancelled_at IS NULL"
            " AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )

    async def mark_sent(self, reminder_id: int, at: datetime) -> bool:
        """Mark sent; False when another sender already did (the caller then sends nothing)."""
        async with self._db.execute(
            "UPDATE reminders SET sent_at = ? WHERE id = ? AND sent_at IS NULL"
            " AND cancelled_at IS NULL RETURNING id",
            (to_db(at), reminder_id),
        ) as cursor:
            marked = await cursor.fetchone() is not None
        return marked

    async def cancel(self, reminder_id: int, at: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET cancelled_at = ? WHERE id = ? AND sent_at IS NULL"
            " AND cancelled_at IS NULL",
            (to_db(at), reminder_id),
        )

    async def cancel_conversation(self, conversation_id: int, at: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET cancelled_at = ? WHERE conversation_id = ? AND sent_at IS NULL"
            " AND cancelled_at IS NULL",
            (to_db(at), conversation_id),
        )

    async def answer(self, reminder_id: int, answer: ReminderAnswer, at: datetime) -> bool:
        """Record the answer to a sent, uncancelled reminder; False if it was answered already."""
        async with self._db.execute(
            "UPDATE reminders SET answered_at = ?, answer = ? WHERE id = ? AND answered_at IS NULL"
            " AND sent_at IS NOT NULL AND cancelled_at IS NULL RETURNING id",
            (to_db(at), answer, reminder_id),
        ) as cursor:
            answered = await cursor.fetchone() is not None
        return answered

    async def claim_digest(self, school_id: int, year: int, week: int, at: datetime) -> bool:
        """Take the digest of this school and ISO week; False when it was sent already."""
        async with self._db.execute(
            "INSERT INTO digests (school_id, iso_year, iso_week, sent_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING school_id",
            (school_id, year, week, to_db(at)),
        ) as cursor:
            claimed = await cursor.fetchone() is not None
        return claimed

    async def _many(self, sql: str, parameters: tuple[object, ...]) -> list[Reminder]:
        async with self._db.execute(sql, parameters) as cursor:
            rows = await cursor.fetchall()
        return [
            Reminder(
                id=r["id"],
                case_id=r["case_id"],
                kind=ReminderKind(r["kind"]),
                due_at=from_db(r["due_at"]),
                conversation_id=r["conversation_id"],
                sent_at=from_db_or_none(r["sent_at"]),
                cancelled_at=from_db_or_none(r["cancelled_at"]),
                answered_at=from_db_or_none(r["answered_at"]),
                answer=None if r["answer"] is None else ReminderAnswer(r["answer"]),
            )
            for r in rows
        ]
