"""Follow-up conversations: which question each reporter is on, for which cases."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from storage.models import Conversation, ConversationPlace, PlaceKind
from storage.sql import SqlConnection
from storage.times import from_db, from_db_or_none, to_db

_COLUMNS = (
    "id, school_id, person_id, transport, place_id, place_kind, thread, question,"
    " created_at, updated_at, finished_at"
)


class SqlConversations:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def start(
        self,
        school_id: int,
        person_id: int,
        place: ConversationPlace,
        case_ids: list[int],
        question: str | None,
        at: datetime,
    ) -> Conversation:
        moment = to_db(at)
        async with self._db.execute(
            "INSERT INTO conversations (school_id, person_id, transport, place_id, place_kind,"
            " thread, question, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                school_id,
                person_id,
                place.transport,
                place.place_id,
                place.place_kind,
                place.thread,
                question,
                moment,
                moment,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        conversation_id = int(row[0])
        await self._db.executemany(
            "INSERT INTO conversation_cases (conversation_id, case_id) VALUES (?, ?)",
            [(conversation_id, case_id) for case_id in case_ids],
        )
        stored = from_db(moment)  # as `get` would read it back, without reading it back
        return Conversation(
            id=conversation_id,
            school_id=school_id,
            person_id=person_id,
            place=dataclasses.replace(place, place_kind=PlaceKind(place.place_kind)),
            question=question,
            case_ids=tuple(sorted(case_ids)),
            created_at=stored,
            updated_at=stored,
        )

    async def get(self, conversation_id: int) -> Conversation | None:
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else await self._conversation(row)

    async def current(self, person_id: int) -> Conversation | None:
        """The newest unfinished conversation: a new report is asked about before older ones."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE person_id = ? AND finished_at IS NULL"
            " ORDER BY id DESC LIMIT 1",
            (person_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else await self._conversation(row)

    async def latest(self, person_id: int) -> Conversation | None:
        """The newest conversation, finished or not: what this person last reported."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE person_id = ? ORDER BY id DESC LIMIT 1",
            (person_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else await self._conversation(row)

    async def active_for_case(self, case_id: int) -> list[Conversation]:
        """Unfinished conversations that ask about this case, oldest first."""
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM conversations WHERE finished_at IS NULL AND id IN"
            " (SELECT conversation_id FROM conversation_cases WHERE case_id = ?) ORDER BY id",
            (case_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [await self._conversation(row) for row in rows]

    async def drop_case(self, conversation_id: int, case_id: int) -> None:
        """Stop asking about one case in this conversation (it was closed or merged)."""
        await self._db.execute(
            "DELETE FROM conversation_cases WHERE conversation_id = ? AND case_id = ?",
            (conversation_id, case_id),
        )

    async def set_question(self, conversation_id: int, question: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE conversations SET question = ?, updated_at = ? WHERE id = ?",
            (question, to_db(at), conversation_id),
        )

    async def finish(self, conversation_id: int, at: datetime) -> None:
        moment = to_db(at)
        await self._db.execute(
            "UPDATE conversations SET question = NULL, updated_at = ?, finished_at = ?"
            " WHERE id = ? AND finished_at IS NULL",
            (moment, moment, conversation_id),
        )

    async def _conversation(self, row: Any) -> Conversation:
        async with self._db.execute(
            "SELECT case_id FROM conversation_cases WHERE conversation_id = ? ORDER BY case_id",
            (row["id"],),
        ) as cursor:
            case_ids = tuple(int(r[0]) for r in await cursor.fetchall())
        return Conversation(
            id=row["id"],
            school_id=row["school_id"],
            person_id=row["person_id"],
            place=ConversationPlace(
                row["transport"], row["place_id"], PlaceKind(row["place_kind"]), row["thread"]
            ),
            question=row["question"],
            case_ids=case_ids,
            created_at=from_db(row["created_at"]),
            updated_at=from_db(row["updated_at"]),
            finished_at=from_db_or_none(row["finished_at"]),
        )
