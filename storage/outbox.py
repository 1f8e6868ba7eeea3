"""The outbox: messages written with the change that caused them, then sent by the delivery loop."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from storage.models import OutboxItem
from storage.sql import Dialect, SqlConnection, json_fields
from storage.times import to_db

# pg_advisory_xact_lock key: one process at a time claims outbox rows.
_CLAIM_LOCK = 0x0CA5E0B0


def place_key(transport: str, place_id: str) -> str:
    """How claim_due names a place (a chat, with all its threads) in `busy`."""
    return f"{transport}/{place_id}"


def thread_key(transport: str, place_id: str, thread: str) -> str:
    """How claim_due names one thread of a place in `busy`."""
    return f"{transport}/{place_id}/{thread}"


# Rows one INSERT of `add_many` writes at most: an event's replies fit in one, and the SQL
# stays among a few shapes the driver keeps prepared.
ROWS_PER_INSERT = 8


@functools.cache
def _add(dialect: Dialect, rows: int = 1) -> tuple[str, int]:
    """An INSERT of `rows` messages, and how many times each takes the payload for its place
    and thread."""
    fields, uses = json_fields(dialect, "place.id", "thread")
    values = ", ".join([f"(?, ?, ?, ?, ?, {fields})"] * rows)
    return (
        "INSERT INTO outbox (transport, payload, case_id, created_at, due_at, place, thread)"
        f" VALUES {values}",
        uses,
    )


def _values(
    transport: str, payload: str, case_id: int | None, moment: str, uses: int
) -> tuple[Any, ...]:
    """One message's parameters for `_add`'s INSERT: created and due now, and the payload once
    more for each time the SQL reads its place and thread out of it."""
    return (transport, payload, case_id, moment, moment, *[payload] * uses)


class SqlOutbox:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, transport: str, payload: str, case_id: int | None, at: datetime) -> int:
        """Queue one message; its place and thread are read out of the payload once, here, for
        claim_due to rank by."""
        sql, uses = _add(self._db.dialect)
        async with self._db.execute(
            sql + " RETURNING id", _values(transport, payload, case_id, to_db(at), uses)
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def add_many(self, messages: Sequence[tuple[str, str, int | None]], at: datetime) -> None:
        """Queue (transport, payload, case id) messages in the order given, as `add` does one
        by one, in one statement for up to ROWS_PER_INSERT of them: a handled event queues
        three or four replies, and each statement costs more than the rows it writes."""
        moment = to_db(at)
        for start in range(0, len(messages), ROWS_PER_INSERT):
            chunk = messages[start : start + ROWS_PER_INSERT]
            sql, uses = _add(self._db.dialect, len(chunk))
            await self._db.execute(
                sql, [value for row in chunk for value in _values(*row, moment, uses)]
            )

    async def claim_due(
        self,
        transports: list[str],
        now: datetime,
        lease_until: datetime,
        limit: int = 50,
        owner: str = "",
        busy: list[str] | None = None,
    ) -> list[OutboxItem]:
        """Claim unsent rows that are due and not leased to another sender, fairly between
        chats (places): each chat's oldest row, then each one's second, and so on, so a backlog
        in one chat (a burst of alerts to one school's leads) does not hold back another chat's
        message behind it. A row waiting for its retry holds back the rest of its chat, so
        messages in a chat keep their order through a failure.
        `busy` lists places (`place_key`) and threads (`thread_key`) whose messages are still
        being sent: none of theirs is claimed, so they cannot overtake those.
        `owner` names this process, so its successor can take its claims back at once."""
        if not transports:
            return []
        if self._db.dialect is Dialect.POSTGRES:
            return await self._claim_shared(transports, now, lease_until, limit, owner, busy)
        marks = ",".join("?" * len(transports))
        moment = to_db(now)
        # Only a place's first `limit` rows that are not claimed already can be among the
        # `limit` claimed (a claimed row that is due neither holds back nor is taken), so each
        # place is read that far along the index of waiting rows, not to its end: a claim
        # costs the same however long a chat's queue has grown. (A place's turns count from
        # its first unclaimed row.)
        async with self._db.execute(
            "UPDATE outbox SET claimed_until = ?, claimed_by = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM ("
            "  SELECT id, free, min(due) OVER chat AS clear, row_number() OVER chat AS turn,"
            "  thread_key"
            "  FROM (SELECT o.id, o.transport, o.place, o.due_at <= ? AS due,"
            "   o.transport || '/' || COALESCE(o.place, '') || '/' || o.thread AS thread_key,"
            "   (o.claimed_until IS NULL OR o.claimed_until <= ?) AS free"
            "   FROM (SELECT DISTINCT transport, place FROM outbox"
            "    WHERE sent_at IS NULL AND failed_at IS NULL"
            f"   AND transport IN ({marks})) p"
            "   JOIN outbox o ON o.id IN (SELECT id FROM outbox"
            "    WHERE sent_at IS NULL AND failed_at IS NULL"
            "    AND transport = p.transport AND place IS p.place"
            "    AND (claimed_until IS NULL OR claimed_until <= ? OR due_at > ?)"
            "    ORDER BY id LIMIT ?)"
            "   WHERE p.transport || '/' || COALESCE(p.place, '')"
            "    NOT IN (SELECT value FROM json_each(?)))"
            "  WINDOW chat AS (PARTITION BY transport, place ORDER BY id))"
            " WHERE clear = 1 AND free = 1"
            " AND (thread_key IS NULL OR thread_key NOT IN (SELECT value FROM json_each(?)))"
            " ORDER BY turn, id LIMIT ?)"
            " RETURNING id, transport, payload, attempts, case_id",
            (
                to_db(lease_until),
                owner,
                moment,
                moment,
                *transports,
                moment,
                moment,
                limit,
                json.dumps(busy or []),
                json.dumps(busy or []),
                limit,
            ),
        ) as cursor:
            return _claimed(await cursor.fetchall())

    async def _claim_shared(
        self,
        transports: list[str],
        now: datetime,
        lease_until: datetime,
        limit: int,
        owner: str,
        busy: list[str] | None,
    ) -> list[OutboxItem]:
        """`claim_due` where several processes share the database. Claims are made one process
        at a time (a transaction lock) and rows are locked SKIP LOCKED, and a chat with a row
        still claimed by another process is busy: no process sends a chat's message while another
        may still be sending an earlier one, so messages in a chat keep their order (this
        process's own claims are its `busy`, as with SQLite)."""
        await self._db.execute("SELECT pg_advisory_xact_lock(?)", (_CLAIM_LOCK,))
        moment = to_db(now)
        async with self._db.execute(
            "UPDATE outbox SET claimed_until = ?, claimed_by = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT o.id FROM outbox o JOIN (SELECT id, turn FROM ("
            "  SELECT id, free, bool_and(due AND (free OR mine)) OVER chat AS clear,"
            "  row_number() OVER chat AS turn,"
            "  transport || '/' || COALESCE(place, '') AS place_key,"
            "  transport || '/' || COALESCE(place, '') || '/' || thread AS thread_key"
            "  FROM (SELECT id, transport,"
            "   place, thread, due_at <= ? AS due,"
            "   (claimed_until IS NULL OR claimed_until <= ?) AS free,"
            "   COALESCE(claimed_by = ?, false) AS mine"
            "   FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
            "   AND transport = ANY(?)) waiting"
            "  WINDOW chat AS (PARTITION BY transport, place ORDER BY id)) ranked"
            " WHERE clear AND free AND NOT (place_key = ANY(?))"
            " AND (thread_key IS NULL OR NOT (thread_key = ANY(?)))"
            " ORDER BY turn, id LIMIT ?) pick ON pick.id = o.id"
            " FOR UPDATE OF o SKIP LOCKED)"
            " RETURNING id, transport, payload, attempts, case_id",
            (
                to_db(lease_until),
                owner,
                moment,
                moment,
                owner,
                transports,
                busy or [],
                busy or [],
                limit,
            ),
        ) as cursor:
            return _claimed(await cursor.fetchall())

    async def release_claims_of_others(self, owner: str) -> int:
        """Take back every claim not held by `owner`: at start-up, the claims of a process that
        died holding them (one process per SQLite file), instead of waiting out their lease."""
        if self._db.dialect is Dialect.POSTGRES:
            # Other processes on the same database are alive and sending: their leases run out
            # on their own if they are not.
            return 0
        async with self._db.execute(
            "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL"
            " WHERE claimed_until IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL"
            " AND COALESCE(claimed_by, '') <> ? RETURNING id",
            (owner,),
        ) as cursor:
            rows = await cursor.fetchall()
        return len(list(rows))

    async def mark_sent(
        self, item_id: int, at: datetime, message_ref: str | None, direct_to: str | None = None
    ) -> None:
        """Sent: forget the text and its place (a direct chat's names the person); keep the
        reference, and whose direct chat it names (a person key, recorded as their number) so
        erasure can blank it."""
        await self._db.execute(
            "UPDATE outbox SET sent_at = ?, claimed_until = NULL, claimed_by = NULL,"
            " message_ref = ?, payload = '', place = NULL, thread = NULL,"
            " direct_person_id = (SELECT id FROM people WHERE key = ?) WHERE id = ?",
            (to_db(at), message_ref, direct_to, item_id),
        )

    async def mark_retry(
        self, item_id: int, error: str, due_at: datetime, attempted: bool = True
    ) -> None:
        """Due again at `due_at`. Not `attempted` (a rate limit, or waiting behind an earlier
        message): the attempt its claim counted is given back, so only failures use up the
        attempts a row has."""
        await self._db.execute(
            "UPDATE outbox SET due_at = ?, claimed_until = NULL, last_error = ?"
            f"{'' if attempted else ', attempts = attempts - 1'} WHERE id = ?",
            (to_db(due_at), error[:500], item_id),
        )

    async def mark_failed(self, item_id: int, error: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE outbox SET failed_at = ?, claimed_until = NULL, last_error = ?,"
            " place = NULL, thread = NULL WHERE id = ?",
            (to_db(at), error[:500], item_id),
        )

    async def message_ref(self, item_id: int) -> str | None:
        async with self._db.execute(
            "SELECT message_ref FROM outbox WHERE id = ?", (item_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]


def _claimed(rows: Iterable[Sequence[Any]]) -> list[OutboxItem]:
    """Claimed rows (id, transport, payload, attempts, case_id) in the order they were added:
    RETURNING gives them in no particular order."""
    return sorted((OutboxItem(r[0], r[1], r[2], r[3], r[4]) for r in rows), key=lambda i: i.id)
