"""Schools that joined from their own chat: their leads, the places they claimed, their codes.

A hosted school is an ordinary school row (cases refer to it like any other) with a row in
`hosted_schools` saying it lives in the database instead of the config file. Every change bumps
one counter, so each process reloads the schools only when another has changed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.models import School
from storage.sql import SqlConnection
from storage.times import from_db, from_db_or_none, to_db


class PlaceRole(StrEnum):
    REPORTS = "reports"  # staff report here
    LEADS = "leads"  # the leads' channel: alerts, reminders, the digest


# In a place id an adapter qualified with its workspace, what comes between the two:
# "TENANT/CHANNEL" is CHANNEL within workspace TENANT (see bot/adapters/teams/tenants.py).
WORKSPACE_MARK = "/"


@dataclass(frozen=True)
class PlaceKey:
    """A channel or group on one platform, within one workspace ('' where the platform has one
    space of ids, as Telegram has)."""

    transport: str
    workspace: str
    place_id: str

    @classmethod
    def of(cls, transport: str, place_id: str) -> PlaceKey:
        """Where the place an event names is kept: a qualified id ("W/C") is C within
        workspace W; any other id is in the platform's one space of ids."""
        workspace, marked, own_id = place_id.partition(WORKSPACE_MARK)
        if marked and workspace and own_id and ":" not in workspace:
            return cls(transport, workspace, own_id)
        return cls(transport, "", place_id)

    @property
    def qualified(self) -> str:
        """The place's id as events name it (the inverse of `of`)."""
        if not self.workspace:
            return self.place_id
        return f"{self.workspace}{WORKSPACE_MARK}{self.place_id}"


@dataclass(frozen=True)
class HostedPlace:
    key: PlaceKey
    school_id: int
    role: PlaceRole
    claimed_at: datetime
    gone_at: datetime | None = None


@dataclass(frozen=True)
class HostedLead:
    school_id: int
    person_id: int
    person_key: str  # "telegram:42"
    added_at: datetime


class SqlHosted:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, name: str, timezone: str, at: datetime) -> School | None:
        """A new hosted school; None when a school of that name is hosted already."""
        async with self._db.execute(
            "INSERT INTO schools (name, timezone) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET timezone = excluded.timezone"
            " RETURNING id, name, timezone",
            (name, timezone),
        ) as cursor:
            row = await cursor.fetchone()
        async with self._db.execute(
            "INSERT INTO hosted_schools (school_id, added_at) VALUES (?, ?)"
            " ON CONFLICT (school_id) DO NOTHING RETURNING school_id",
            (row["id"], to_db(at)),
        ) as cursor:
            added = await cursor.fetchone()
        if added is None:
            return None
        await self._changed()
        return School(row["id"], row["name"], row["timezone"])

    async def schools(self) -> list[School]:
        async with self._db.execute(
            "SELECT s.id, s.name, s.timezone FROM hosted_schools h JOIN schools s"
            " ON s.id = h.school_id ORDER BY s.id"
        ) as cursor:
            rows = await cursor.fetchall()
        return [School(r["id"], r["name"], r["timezone"]) for r in rows]

    async def remove(self, school_id: int) -> bool:
        """The school (which has no cases: the caller makes sure) leaves the database with its
        leads, places, codes, members, digests sent and unfinished conversations. Its row goes
        too, so no command knows it any more, unless the append-only audit trail names it (a
        lead joined or a place was claimed): then the row stays, so those entries keep saying
        which school they were about. False when it was not hosted."""
        tables = (
            "invitations",
            "school_leads",
            "school_places",
            "school_members",
            "digests",
            "report_folds",
            "conversations",
        )
        for table in tables:
            await self._db.execute(f"DELETE FROM {table} WHERE school_id = ?", (school_id,))
        async with self._db.execute(
            "DELETE FROM hosted_schools WHERE school_id = ? RETURNING school_id", (school_id,)
        ) as cursor:
            removed = await cursor.fetchone() is not None
        if removed:
            await self._db.execute(
                "DELETE FROM schools WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM audit WHERE school_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM cases WHERE school_id = ?)",
                (school_id, school_id, school_id),
            )
        await self._changed()
        return removed

    async def add_lead(self, school_id: int, person_id: int, at: datetime) -> bool:
        """False when they lead it already."""
        async with self._db.execute(
            "INSERT INTO school_leads (school_id, person_id, added_at) VALUES (?, ?, ?)"
            " ON CONFLICT (school_id, person_id) DO NOTHING RETURNING person_id",
            (school_id, person_id, to_db(at)),
        ) as cursor:
            added = await cursor.fetchone() is not None
        if added:
            await self._changed()
        return added

    async def leads(self) -> list[HostedLead]:
        """Every hosted school's leads, with the key they are reached by."""
        async with self._db.execute(
            "SELECT l.school_id, l.person_id, p.key, l.added_at FROM school_leads l"
            " JOIN people p ON p.id = l.person_id ORDER BY l.school_id, l.added_at, p.key"
        ) as cursor:
            rows = await cursor.fetchall()
        return [HostedLead(r[0], r[1], r[2], from_db(r[3])) for r in rows]

    async def claim(self, key: PlaceKey, school_id: int, role: PlaceRole, at: datetime) -> int:
        """Give the place this role in this school, unless another school has it: returns the id
        of the school that holds it now. A school has one leads' place per workspace: claiming
        another releases the one before."""
        if role is PlaceRole.LEADS:
            await self._db.execute(
                "DELETE FROM school_places WHERE school_id = ? AND transport = ?"
                " AND workspace = ? AND role = ? AND place_id <> ?",
                (school_id, key.transport, key.workspace, role, key.place_id),
            )
        async with self._db.execute(
            "INSERT INTO school_places (transport, workspace, place_id, school_id, role,"
            " claimed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (transport, workspace, place_id)"
            " DO UPDATE SET role = excluded.role, claimed_at = excluded.claimed_at,"
            " gone_at = NULL WHERE school_places.school_id = excluded.school_id"
            " RETURNING school_id",
            (key.transport, key.workspace, key.place_id, school_id, role, to_db(at)),
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            await self._changed()
            return int(row[0])
        found = await self.place(key)
        assert found is not None  # the conflict that stopped the update is this row
        return found.school_id

    async def release(self, key: PlaceKey, school_id: int) -> bool:
        """Stop using the place; False when this school had not claimed it."""
        async with self._db.execute(
            "DELETE FROM school_places WHERE transport = ? AND workspace = ? AND place_id = ?"
            " AND school_id = ? RETURNING place_id",
            (key.transport, key.workspace, key.place_id, school_id),
        ) as cursor:
            released = await cursor.fetchone() is not None
        if released:
            await self._changed()
        return released

    async def place(self, key: PlaceKey) -> HostedPlace | None:
        async with self._db.execute(
            "SELECT transport, workspace, place_id, school_id, role, claimed_at, gone_at"
            " FROM school_places WHERE transport = ? AND workspace = ? AND place_id = ?",
            (key.transport, key.workspace, key.place_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _place(row)

    async def places(self, school_id: int | None = None) -> list[HostedPlace]:
        """Every claimed place, or one school's, gone ones included."""
        where, parameters = (
            ("", ()) if school_id is None else (" WHERE school_id = ?", (school_id,))
        )
        async with self._db.execute(
            "SELECT transport, workspace, place_id, school_id, role, claimed_at, gone_at"
            f" FROM school_places{where} ORDER BY school_id, transport, workspace, place_id",
            parameters,
        ) as cursor:
            rows = await cursor.fetchall()
        return [_place(row) for row in rows]

    async def mark_gone(self, key: PlaceKey, at: datetime) -> bool:
        """The bot was removed from the place: kept, but no longer used, and what was queued
        for it given up (it cannot arrive, and failing to send it says nothing of the
        platform's health). False when the place was not claimed (or was gone already)."""
        await self._db.execute(
            "UPDATE outbox SET failed_at = ?, last_error = 'place gone', payload = '',"
            " place = NULL, thread = NULL WHERE transport = ? AND place = ?"
            " AND sent_at IS NULL AND failed_at IS NULL",
            (to_db(at), key.transport, key.qualified),
        )
        async with self._db.execute(
            "UPDATE school_places SET gone_at = ? WHERE transport = ? AND workspace = ?"
            " AND place_id = ? AND gone_at IS NULL RETURNING place_id",
            (to_db(at), key.transport, key.workspace, key.place_id),
        ) as cursor:
            marked = await cursor.fetchone() is not None
        if marked:
            await self._changed()
        return marked

    async def move(self, key: PlaceKey, new_id: str) -> bool:
        """The platform gave the place a new id (a Telegram group became a supergroup): its
        claim and the conversations held in it move to the new id. False when it was not
        claimed."""
        await self._db.execute(
            "UPDATE conversations SET place_id = ? WHERE transport = ? AND place_id = ?",
            (new_id, key.transport, key.qualified),
        )
        async with self._db.execute(
            "UPDATE school_places SET place_id = ? WHERE transport = ? AND workspace = ?"
            " AND place_id = ? RETURNING place_id",
            (new_id, key.transport, key.workspace, key.place_id),
        ) as cursor:
            moved = await cursor.fetchone() is not None
        if moved:
            await self._changed()
        return moved

    async def last_report(self, school_id: int) -> datetime | None:
        """When the school's newest case was made; None when it has none."""
        async with self._db.execute(
            "SELECT max(created_at) FROM cases WHERE school_id = ?", (school_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return from_db_or_none(row[0])

    async def version(self) -> int:
        """Changes made so far: a process reloads the hosted schools when this moves on."""
        async with self._db.execute("SELECT version FROM hosted_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def _changed(self) -> None:
        await self._db.execute("UPDATE hosted_version SET version = version + 1")


class SqlInvitations:
    """Lead invitation codes, kept only as hashes, and the wrong guesses that lock a person out."""

    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def add(self, school_id: int, code_hash: str, at: datetime, expires_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO invitations (code_hash, school_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (code_hash, school_id, to_db(at), to_db(expires_at)),
        )

    async def redeem(self, code_hash: str, person_id: int, at: datetime) -> int | None:
        """Use the code up: the school it is for, or None when it is unknown, used or expired."""
        async with self._db.execute(
            "UPDATE invitations SET used_at = ?, used_by = ? WHERE code_hash = ?"
            " AND used_at IS NULL AND expires_at > ? RETURNING school_id",
            (to_db(at), person_id, code_hash, to_db(at)),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def attempt(self, person_id: int, at: datetime, ok: bool) -> None:
        await self._db.execute(
            "INSERT INTO join_attempts (person_id, at, ok) VALUES (?, ?, ?)",
            (person_id, to_db(at), int(ok)),
        )

    async def failures(self, person_id: int, since: datetime) -> int:
        """Wrong codes this person sent after `since`."""
        async with self._db.execute(
            "SELECT count(*) FROM join_attempts WHERE person_id = ? AND ok = 0 AND at > ?",
            (person_id, to_db(since)),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def lock(self, person_id: int, until: datetime) -> None:
        await self._db.execute(
            "INSERT INTO join_lockouts (person_id, locked_until) VALUES (?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET locked_until = excluded.locked_until",
            (person_id, to_db(until)),
        )

    async def locked_until(self, person_id: int) -> datetime | None:
        """The end of this person's latest lockout, past or not."""
        async with self._db.execute(
            "SELECT locked_until FROM join_lockouts WHERE person_id = ?", (person_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else from_db(row[0])


def _place(row: Any) -> HostedPlace:
    return HostedPlace(
        PlaceKey(row[0], row[1], row[2]),
        int(row[3]),
        PlaceRole(row[4]),
        from_db(row[5]),
        from_db_or_none(row[6]),
    )
