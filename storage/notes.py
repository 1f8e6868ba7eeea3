"""Leads' notes on cases: free text, shown in the case timeline, never exported."""

from __future__ import annotations

from datetime import datetime

from storage.models import Note, Person
from storage.sql import SqlConnection
from storage.times import from_db, to_db


class SqlNotes:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, case_id: int, author_id: int, text: str, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO notes (case_id, author_id, text, at) VALUES (?, ?, ?, ?)",
            (case_id, author_id, text, to_db(at)),
        )

    async def for_cases(self, case_ids: list[int]) -> list[Note]:
        if not case_ids:
            return []
        marks = ",".join("?" * len(case_ids))
        async with self._db.execute(
            "SELECT n.case_id, n.text, n.at, p.id AS pid, p.key, p.name FROM notes n"
            f" LEFT JOIN people p ON p.id = n.author_id WHERE n.case_id IN ({marks}) ORDER BY n.id",
            case_ids,
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Note(
                case_id=r["case_id"],
                author=None if r["pid"] is None else Person(r["pid"], r["key"], r["name"]),
                text=r["text"],
                at=from_db(r["at"]),
            )
            for r in rows
        ]

    async def move(self, from_id: int, to_id: int) -> None:
        await self._db.execute("UPDATE notes SET case_id = ? WHERE case_id = ?", (to_id, from_id))
