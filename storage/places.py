"""Report places Casebook has already introduced itself in."""

from __future__ import annotations

from datetime import datetime

from storage.sql import SqlConnection
from storage.times import to_db


class SqlPlaces:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def first_visit(self, transport: str, place_id: str, at: datetime) -> bool:
        """Remember the place; True only the first time it is remembered."""
        async with self._db.execute(
            "INSERT INTO welcomed_places (transport, place_id, welcomed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (transport, place_id) DO NOTHING RETURNING place_id",
            (transport, place_id, to_db(at)),
        ) as cursor:
            return await cursor.fetchone() is not None
