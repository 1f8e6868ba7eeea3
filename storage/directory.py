"""Schools and people: the names behind the ids every other table refers to."""

from __future__ import annotations

from datetime import datetime

from storage.models import Person, School
from storage.sql import SqlConnection
from storage.times import to_db


class SqlSchools:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def ensure(self, name: str, timezone: str) -> School:
        await self._db.execute(
            "INSERT INTO schools (name, timezone) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET timezone = excluded.timezone",
            (name, timezone),
        )
        school = await self.by_name(name)
        assert school is not None
        return school

    async def by_name(self, name: str) -> School | None:
        async with self._db.execute(
            "SELECT id, name, timezone FROM schools WHERE name = ?", (name,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else School(row["id"], row["name"], row["timezone"])

    async def get(self, school_id: int) -> School | None:
        async with self._db.execute(
            "SELECT id, name, timezone FROM schools WHERE id = ?", (school_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else School(row["id"], row["name"], row["timezone"])

    async def all(self) -> list[School]:
        async with self._db.execute("SELECT id, name, timezone FROM schools ORDER BY id") as cursor:
            rows = await cursor.fetchall()
        return [School(r["id"], r["name"], r["timezone"]) for r in rows]

    async def add_member(self, school_id: int, person_id: int, at: datetime) -> None:
        moment = to_db(at)
        await self._db.execute(
            "INSERT INTO school_members (school_id, person_id, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (school_id, person_id)"
            " DO UPDATE SET last_seen = excluded.last_seen",
            (school_id, person_id, moment, moment),
        )

    async def members(self, school_id: int) -> list[Person]:
        async with self._db.execute(
            "SELECT p.id, p.key, p.name FROM school_members m JOIN people p ON p.id = m.person_id"
            " WHERE m.school_id = ? ORDER BY p.key",
            (school_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [Person(r["id"], r["key"], r["name"]) for r in rows]

    async def of_member(self, person_id: int) -> list[School]:
        """The schools this person has been seen in, most recently seen first."""
        async with self._db.execute(
            "SELECT s.id, s.name, s.timezone FROM school_members m JOIN schools s"
            " ON s.id = m.school_id WHERE m.person_id = ? ORDER BY m.last_seen DESC, s.id",
            (person_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [School(r["id"], r["name"], r["timezone"]) for r in rows]


class SqlPeople:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def ensure(self, key: str, name: str) -> Person:
        """The person with this key, created on first sight; a newer display name wins."""
        async with self._db.execute(
            "INSERT INTO people (key, name) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET name = CASE WHEN excluded.name = '' THEN people.name ELSE excluded.name END"
            " RETURNING id, key, name",
            (key, name),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None  # DO UPDATE without a condition returns the row either way
        return Person(row["id"], row["key"], row["name"])

    async def get(self, person_id: int) -> Person | None:
        async with self._db.execute(
            "SELECT id, key, name FROM people WHERE id = ?", (person_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else Person(row["id"], row["key"], row["name"])

    async def by_key(self, key: str) -> Person | None:
        async with self._db.execute(
            "SELECT id, key, name FROM people WHERE key = ?", (key,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else Person(row["id"], row["key"], row["name"])
