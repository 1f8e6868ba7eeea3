"""The inbox: every incoming event, keyed by its platform event id, stored before it is acked."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import InboxItem
from storage.times import from_db, to_db


class SqliteInbox:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    async def add(self, source: str, event_id: str, payload: str, at: datetime) -> bool:
        """Store an event; False when this event id was seen before (a retry or a replay)."""
        async with self._db.execute(
            "INSERT INTO inbox (source, event_id, payload, received_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source, event_id) DO NOTHING RETURNING id",
            (source, event_id, payload, to_db(at)),
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def pending(self, limit: int = 100) -> list[InboxItem]:
        async with self._db.execute(
            "SELECT id, source, event_id, payload, received_at FROM inbox"
            " WHERE processed_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            InboxItem(r["id"], r["source"], r["event_id"], r["payload"], from_db(r["received_at"]))
            for r in rows
        ]

    async def mark_processed(self, item_id: int, at: datetime, keep: bool = False) -> bool:
        """Mark an item done and drop its payload (report text has no business staying here),
        unless `keep` (it failed, and a person should see it); False when it was done already."""
        async with self._db.execute(
            "UPDATE inbox SET processed_at = ?, payload = CASE WHEN ? THEN payload ELSE '' END"
            " WHERE id = ? AND processed_at IS NULL RETURNING id",
            (to_db(at), keep, item_id),
        ) as cursor:
            marked = await cursor.fetchone() is not None
        return marked
