"""The inbox: every incoming event, keyed by its platform event id, stored before it is acked.

An item is pending until it is processed. One that fails is retried later (`retry_at`); one that
fails again and again, or cannot be read at all, is set aside with its payload kept, so a person
can look at it and retry it, and nothing behind it waits.
"""

from __future__ import annotations

import functools
from datetime import datetime

from storage.cases import SCHOOL_TURN
from storage.models import InboxItem, SetAsideItem
from storage.sql import Dialect, SqlConnection, json_fields
from storage.times import from_db, to_db

# PostgreSQL: a claim takes the turns of at most this many schools at once, so that concurrent
# handlers (of one process or several) each find schools of their own to work on.
SCHOOLS_PER_CLAIM = 4
# ... and chooses them among the first this-many times `limit` waiting items.
CANDIDATES_PER_ITEM = 4


@functools.cache
def _add(dialect: Dialect) -> tuple[str, int]:
    """The INSERT of `add`, and how many times it takes the payload for its person and school."""
    fields, uses = json_fields(dialect, "user.id", "school")
    return (
        "INSERT INTO inbox (source, event_id, payload, received_at, person, school)"
        f" VALUES (?, ?, ?, ?, {fields}) ON CONFLICT (source, event_id) DO NOTHING RETURNING id",
        uses,
    )


class SqlInbox:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, source: str, event_id: str, payload: str, at: datetime) -> bool:
        """Store an event; False when this event id was seen before (a retry or a replay). Its
        person and school are read out of the payload once, here, for `pending` to rank by."""
        sql, uses = _add(self._db.dialect)
        async with self._db.execute(
            sql, (source, event_id, payload, to_db(at), *[payload] * uses)
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def pending(self, now: datetime, limit: int = 100) -> list[InboxItem]:
        """Items to process now: not done, not set aside, not waiting a retry.

        Fair between people: each person's first waiting item, in arrival order, then each
        one's second, and so on. One person's events keep their order, and a burst from one
        school (or one busy person) does not hold back someone else's report behind it.
        """
        if self._db.dialect is Dialect.POSTGRES:
            return await self._claim_pending(now, limit)
        # Turns are worked out on the waiting rows' ids and people alone; only the rows chosen
        # are read whole: ranking whole rows moved every waiting payload through two sorts.
        async with self._db.execute(
            "SELECT i.id, i.source, i.event_id, i.payload, i.received_at, i.attempts FROM ("
            " SELECT id, turn FROM ("
            "  SELECT id, row_number() OVER (PARTITION BY source, person ORDER BY id) AS turn"
            "  FROM inbox WHERE processed_at IS NULL AND set_aside_at IS NULL"
            "  AND (retry_at IS NULL OR retry_at <= ?))"
            " ORDER BY turn, id LIMIT ?) AS chosen"
            " JOIN inbox i ON i.id = chosen.id ORDER BY chosen.turn, chosen.id",
            (to_db(now), limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [InboxItem(r[0], r[1], r[2], r[3], from_db(r[4]), int(r[5])) for r in rows]

    async def _claim_pending(self, now: datetime, limit: int) -> list[InboxItem]:
        """`pending` where several processes share the database: the items are locked (FOR UPDATE
        SKIP LOCKED) until this transaction ends, so no two processes handle one item. A person's
        item is taken only if every earlier item of theirs is taken too: while another process
        holds one, the later ones wait, so a person's events keep their order.

        A report takes its school's turn (see SqlCases.create) until its transaction ends. A
        batch of items from every school would hold every school's turn, and every other
        handler, here or in another process, would queue behind it. So the claim first takes the
        turns of a few schools that nobody holds (never waiting for one) and claims only their
        items, and items that name no school: concurrent handlers work on different schools."""
        async with self._db.execute(
            "SELECT r.id, r.source, r.who, s.id FROM ("
            " SELECT id, source, who, school,"
            " row_number() OVER (PARTITION BY source, who ORDER BY id) AS turn"
            " FROM (SELECT id, source, school,"
            "  person AS who FROM inbox"
            "  WHERE processed_at IS NULL AND set_aside_at IS NULL"
            "  AND (retry_at IS NULL OR retry_at <= ?)) waiting"
            " ORDER BY turn, id LIMIT ?) r LEFT JOIN schools s ON s.name = r.school"
            " ORDER BY r.turn, r.id",
            (to_db(now), limit * CANDIDATES_PER_ITEM),
        ) as cursor:
            candidates = [
                (int(r[0]), str(r[1]), r[2], None if r[3] is None else int(r[3]))
                for r in await cursor.fetchall()
            ]
        if not candidates:
            return []
        turns = await self._take_school_turns(
            list(dict.fromkeys(school for *_, school in candidates if school is not None))
        )
        wanted = [c for c in candidates if c[3] is None or c[3] in turns][:limit]
        locked: dict[int, InboxItem] = {}
        if wanted:
            async with self._db.execute(
                "SELECT id, source, event_id, payload, received_at, attempts FROM inbox"
                " WHERE id = ANY(?) AND processed_at IS NULL AND set_aside_at IS NULL"
                # Checked again on the row as it is once locked: an item that failed in a
                # batch committed meanwhile waits for its retry.
                " AND (retry_at IS NULL OR retry_at <= ?)"
                " FOR UPDATE SKIP LOCKED",
                ([item_id for item_id, *_ in wanted], to_db(now)),
            ) as cursor:
                locked = {
                    int(r[0]): InboxItem(r[0], r[1], r[2], r[3], from_db(r[4]), int(r[5]))
                    for r in await cursor.fetchall()
                }
        items: list[InboxItem] = []
        blocked: set[tuple[str, str | None]] = set()
        for item_id, source, who, _school in candidates:
            item = locked.get(item_id)
            if item is None or (source, who) in blocked:
                blocked.add((source, who))
            else:
                items.append(item)
        return items

    async def _take_school_turns(self, schools: list[int]) -> set[int]:
        """The turns of up to SCHOOLS_PER_CLAIM of `schools`, the first ones free, held until
        this transaction ends; a school whose turn another transaction holds is passed over."""
        taken: set[int] = set()
        for start in range(0, len(schools), SCHOOLS_PER_CLAIM):
            async with self._db.execute(
                "SELECT k FROM unnest(CAST(? AS BIGINT[])) AS k"
                " WHERE pg_try_advisory_xact_lock(?, CAST(k AS INTEGER))",
                (schools[start : start + SCHOOLS_PER_CLAIM], SCHOOL_TURN),
            ) as cursor:
                taken.update(int(r[0]) for r in await cursor.fetchall())
            if taken:
                break
        return taken

    async def mark_processed(self, item_id: int, at: datetime) -> bool:
        """Mark an item done and drop its payload (report text has no business staying here);
        False when it was done already (by another process on the same file)."""
        async with self._db.execute(
            "UPDATE inbox SET processed_at = ?, payload = '', person = NULL, school = NULL,"
            " retry_at = NULL WHERE id = ? AND processed_at IS NULL AND set_aside_at IS NULL"
            " RETURNING id",
            (to_db(at), item_id),
        ) as cursor:
            marked = await cursor.fetchone() is not None
        return marked

    async def mark_failed(self, item_id: int, error: str, retry_at: datetime) -> None:
        """Count a failed attempt; the item is tried again from `retry_at`."""
        await self._db.execute(
            "UPDATE inbox SET attempts = attempts + 1, retry_at = ?, last_error = ? WHERE id = ?",
            (to_db(retry_at), error[:500], item_id),
        )

    async def set_aside(self, item_id: int, error: str, at: datetime) -> None:
        """Stop trying an item; its payload stays until a person retries it or retention ends it."""
        await self._db.execute(
            "UPDATE inbox SET set_aside_at = ?, attempts = attempts + 1, retry_at = NULL,"
            " last_error = ? WHERE id = ?",
            (to_db(at), error[:500], item_id),
        )

    async def set_aside_items(self) -> list[SetAsideItem]:
        async with self._db.execute(
            "SELECT id, source, event_id, received_at, set_aside_at, attempts,"
            " COALESCE(last_error, ''), payload <> '' FROM inbox"
            " WHERE set_aside_at IS NOT NULL AND processed_at IS NULL ORDER BY id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            SetAsideItem(
                r[0], r[1], r[2], from_db(r[3]), from_db(r[4]), int(r[5]), r[6], bool(r[7])
            )
            for r in rows
        ]

    async def retry(self, item_id: int | None) -> int:
        """Put one set-aside item (or all, with None) back in the queue; how many went back."""
        async with self._db.execute(
            "UPDATE inbox SET set_aside_at = NULL, retry_at = NULL, attempts = 0"
            " WHERE set_aside_at IS NOT NULL AND processed_at IS NULL AND payload <> ''"
            " AND (CAST(? AS INTEGER) IS NULL OR id = ?) RETURNING id",
            (item_id, item_id),
        ) as cursor:
            rows = await cursor.fetchall()
        return len(list(rows))

    async def oldest_pending(self) -> datetime | None:
        """When the oldest item still waiting to be processed arrived (set-aside ones aside)."""
        async with self._db.execute(
            "SELECT MIN(received_at) FROM inbox WHERE processed_at IS NULL AND set_aside_at IS NULL"
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else from_db(row[0])

    async def forget_set_aside(self, before: datetime) -> int:
        """Retention: the text of items set aside before `before` is blanked (the row, with its
        error, stays so the gap can be explained); how many were blanked."""
        async with self._db.execute(
            "UPDATE inbox SET payload = '', person = NULL, school = NULL"
            " WHERE set_aside_at IS NOT NULL AND set_aside_at < ?"
            " AND payload <> '' RETURNING id",
            (to_db(before),),
        ) as cursor:
            rows = await cursor.fetchall()
        return len(list(rows))
