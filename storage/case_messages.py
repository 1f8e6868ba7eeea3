"""Chat messages and the cases they made or joined, so a reply, an edit or a deletion of a
message reaches its case."""

from __future__ import annotations

from storage.sql import SqlConnection


class SqlCaseMessages:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, transport: str, message_key: str, case_id: int) -> None:
        await self._db.execute(
            "INSERT INTO case_messages (transport, message_key, case_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (transport, message_key, case_id),
        )

    async def cases(self, transport: str, message_key: str) -> list[int]:
        """Ids of the cases this message made or joined, oldest first."""
        async with self._db.execute(
            "SELECT case_id FROM case_messages WHERE transport = ? AND message_key = ?"
            " ORDER BY case_id",
            (transport, message_key),
        ) as cursor:
            return [int(r[0]) for r in await cursor.fetchall()]
