"""Folds: a flood of one person's reports confirmed in one message a minute (see
handlers/report_folds.py), and the count of their recent reports that starts one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.models import Fold
from storage.sql import SqlConnection
from storage.times import from_db, from_db_or_none, to_db

_COLUMNS = "id, school_id, person_id, reply, alerts, numbers, new_numbers, due_at, sent_at"


class SqlFolds:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def reports_since(self, school_id: int, person_id: int, since: datetime) -> int:
        """How many cases this person reported (made or joined) in this school since `since`."""
        async with self._db.execute(
            "SELECT count(*) FROM case_reporters r JOIN cases c ON c.id = r.case_id"
            " WHERE r.person_id = ? AND c.school_id = ? AND r.reported_at >= ?",
            (person_id, school_id, to_db(since)),
        ) as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def waiting(self, school_id: int, person_id: int) -> Fold | None:
        """This person's fold that is not sent yet, if any."""
        found = await self._many(
            f"SELECT {_COLUMNS} FROM report_folds WHERE person_id = ? AND school_id = ?"
            " AND sent_at IS NULL ORDER BY id DESC LIMIT 1",
            (person_id, school_id),
        )
        return found[0] if found else None

    async def start(
        self,
        school_id: int,
        person_id: int,
        reply: str,
        alerts: Sequence[str],
        at: datetime,
        due_at: datetime,
    ) -> int:
        async with self._db.execute(
            "INSERT INTO report_folds (school_id, person_id, reply, alerts, numbers, new_numbers,"
            " created_at, due_at) VALUES (?, ?, ?, ?, '[]', '[]', ?, ?) RETURNING id",
            (school_id, person_id, reply, json.dumps(list(alerts)), to_db(at), to_db(due_at)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def add_numbers(
        self, fold_id: int, numbers: Sequence[int], new_numbers: Sequence[int]
    ) -> None:
        """Add case numbers to a waiting fold (kept in order, each once)."""
        found = await self._many(f"SELECT {_COLUMNS} FROM report_folds WHERE id = ?", (fold_id,))
        assert found, fold_id
        fold = found[0]
        await self._db.execute(
            "UPDATE report_folds SET numbers = ?, new_numbers = ? WHERE id = ?",
            (
                json.dumps(list(dict.fromkeys([*fold.numbers, *numbers]))),
                json.dumps(list(dict.fromkeys([*fold.new_numbers, *new_numbers]))),
                fold_id,
            ),
        )

    async def due(self, now: datetime, limit: int = 200) -> list[Fold]:
        """Unsent folds due by `now`, oldest due first."""
        return await self._many(
            f"SELECT {_COLUMNS} FROM report_folds WHERE sent_at IS NULL AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )

    async def mark_sent(self, fold_id: int, at: datetime) -> bool:
        """Mark sent and forget its messages (they name the person's chat); False when another
        sender already did, which then sends nothing."""
        async with self._db.execute(
            "UPDATE report_folds SET sent_at = ?, reply = '', alerts = '[]'"
            " WHERE id = ? AND sent_at IS NULL RETURNING id",
            (to_db(at), fold_id),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def _many(self, sql: str, params: Sequence[Any]) -> list[Fold]:
        async with self._db.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
        return [
            Fold(
                id=int(r[0]),
                school_id=int(r[1]),
                person_id=int(r[2]),
                reply=str(r[3]),
                alerts=tuple(json.loads(r[4])),
                numbers=tuple(json.loads(r[5])),
                new_numbers=tuple(json.loads(r[6])),
                due_at=from_db(r[7]),
                sent_at=from_db_or_none(r[8]),
            )
            for r in rows
        ]
