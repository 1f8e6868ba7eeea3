"""Report places Casebook has already introduced itself in, and the addresses platforms gave
for places, to post there unprompted after a restart."""

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

    async def remember_address(
        self, transport: str, place_id: str, address: str, at: datetime
    ) -> None:
        """Keep the address a platform gave for a place; a newer one replaces it."""
        await self._db.execute(
            "INSERT INTO place_addresses (transport, place_id, address, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (transport, place_id)"
            " DO UPDATE SET address = excluded.address, updated_at = excluded.updated_at",
            (transport, place_id, address, to_db(at)),
        )

    async def addresses(self, transport: str) -> dict[str, str]:
        """Every place's address on one transport, by place id."""
        async with self._db.execute(
            "SELECT place_id, address FROM place_addresses WHERE transport = ? ORDER BY place_id",
            (transport,),
        ) as cursor:
            rows = await cursor.fetchall()
        return {row["place_id"]: row["address"] for row in rows}
