"""Cases with their reporters, links and categories."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from storage.models import (
    AuthorIsPupil,
    Case,
    CaseLink,
    CaseTiming,
    Category,
    CloseReason,
    EscalationRoute,
    NewCase,
    Person,
    Platform,
    ReportedToPlatform,
    Reporter,
    Status,
    Target,
    Transport,
)
from storage.sql import Dialect, SqlConnection
from storage.times import from_db, from_db_or_none, to_db, to_db_or_none

E = TypeVar("E", bound=Enum)

# A case's `url`: its first link on the case's own platform (else its first link), so `url` and
# `platform` always describe the same post, even after a merge brought in links of another site.
FIRST_LINK = (
    "COALESCE((SELECT canonical_url FROM case_links l WHERE l.case_id = c.id"
    " AND l.platform = c.platform ORDER BY l.id LIMIT 1),"
    " (SELECT canonical_url FROM case_links l WHERE l.case_id = c.id ORDER BY l.id LIMIT 1))"
)

_COLUMNS = (
    "c.id, c.school_id, c.number, c.status, c.urgent, c.platform, c.source, c.targets,"
    " c.reported_to_platform, c.reported_to_platform_at, c.author_is_pupil, c.removed_at,"
    " c.assignee_id, c.created_at, c.updated_at, c.closed_at, c.close_reason, c.merged_into,"
    " c.checked_at, c.legal_hold, c.purged_at, c.reporter_count, c.escalated_to, c.escalated_at,"
    f" {FIRST_LINK} AS url,"
    " (SELECT {concat} FROM case_categories k WHERE k.case_id = c.id) AS categories"
)
_CASE_COLUMNS = {
    Dialect.SQLITE: _COLUMNS.format(concat="group_concat(category, ',')"),
    Dialect.POSTGRES: _COLUMNS.format(concat="string_agg(category, ',')"),
}


def _add_words(newline: str) -> str:
    return (
        "UPDATE case_reporters SET description = CASE WHEN description = '' THEN ?"
        f" ELSE description || {newline} || ? END WHERE case_id = ? AND person_id = ?"
    )


def _move_reporters(newline: str, least: str) -> str:
    return (
        "INSERT INTO case_reporters (case_id, person_id, description, reported_at)"
        " SELECT CAST(? AS INTEGER), person_id, description, reported_at FROM case_reporters"
        " WHERE case_id = ? ORDER BY reported_at, person_id"
        " ON CONFLICT (case_id, person_id) DO UPDATE SET"
        " description = CASE"
        "  WHEN excluded.description = ''"
        "   OR excluded.description = case_reporters.description"
        "   THEN case_reporters.description"
        "  WHEN case_reporters.description = '' THEN excluded.description"
        "  WHEN excluded.reported_at < case_reporters.reported_at"
        f"   THEN excluded.description || {newline} || {newline}"
        "   || case_reporters.description"
        f"  ELSE case_reporters.description || {newline} || {newline}"
        "   || excluded.description END,"
        f" reported_at = {least}(case_reporters.reported_at, excluded.reported_at)"
    )


# The engines name a newline character and the smaller of two values differently.
_ADD_WORDS = {Dialect.SQLITE: _add_words("char(10)"), Dialect.POSTGRES: _add_words("chr(10)")}
_MOVE_REPORTERS = {
    Dialect.SQLITE: _move_reporters("char(10)", "min"),
    Dialect.POSTGRES: _move_reporters("chr(10)", "least"),
}
# Two processes on one PostgreSQL numbering or looking up one school's cases take turns.
SCHOOL_TURN = 0x0CA5E


class SqlCases:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection
        dialect = connection.dialect
        self._postgres = dialect is Dialect.POSTGRES
        self._columns = _CASE_COLUMNS[dialect]
        self._add_words = _ADD_WORDS[dialect]
        self._move_reporters = _MOVE_REPORTERS[dialect]

    async def create(self, new: NewCase) -> Case:
        """A new case numbered next in its school, with its first reporter and link."""
        at = to_db(new.at)
        await self._take_school(new.school_id)
        async with self._db.execute(
            "INSERT INTO cases (school_id, number, status, platform, source, created_at,"
            " updated_at)"
            " VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM cases WHERE school_id = ?),"
            " 'new', ?, ?, ?, ?) RETURNING id, number",
            (new.school_id, new.school_id, new.platform, new.source, at, at),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        case_id, number = int(row[0]), int(row[1])
        await self.add_reporter(case_id, new.reporter_id, new.description, new.at)
        if new.link is not None:
            await self.add_link(case_id, new.school_id, new.link, new.at)
        # Built here rather than read back: every other field of a new case is its default,
        # and its one link is its url whatever the platform (see FIRST_LINK).
        created = from_db(at)
        return Case(
            id=case_id,
            school_id=new.school_id,
            number=number,
            status=Status.NEW,
            platform=_PLATFORM[new.platform],
            source=Transport(new.source),
            created_at=created,
            updated_at=created,
            url=None if new.link is None else new.link.canonical,
        )

    async def get(self, case_id: int) -> Case | None:
        return await self._one(f"SELECT {self._columns} FROM cases c WHERE c.id = ?", (case_id,))

    async def by_number(self, school_id: int, number: int) -> Case | None:
        return await self._one(
            f"SELECT {self._columns} FROM cases c WHERE c.school_id = ? AND c.number = ?",
            (school_id, number),
        )

    async def find_active_by_link(self, school_id: int, canonical: str) -> Case | None:
        """The newest case of this school, not closed, that holds this link.

        On PostgreSQL this takes the school's turn (as `create` does) until the transaction
        ends, so two processes given the same link at once make one case, not two."""
        await self._take_school(school_id)
        return await self._one(
            f"SELECT {self._columns} FROM cases c JOIN case_links l ON l.case_id = c.id"
            " WHERE l.school_id = ? AND l.canonical_url = ? AND c.status != 'closed'"
            " ORDER BY c.id DESC LIMIT 1",
            (school_id, canonical),
        )

    async def save(self, case: Case) -> None:
        await self._db.execute(
            "UPDATE cases SET status = ?, urgent = ?, platform = ?, targets = ?,"
            " reported_to_platform = ?, reported_to_platform_at = ?, author_is_pupil = ?,"
            " removed_at = ?, assignee_id = ?, updated_at = ?, closed_at = ?, close_reason = ?,"
            " merged_into = ?, checked_at = ?, legal_hold = ?, escalated_to = ?, escalated_at = ?"
            " WHERE id = ?",
            (
                case.status,
                int(case.urgent),
                case.platform,
                case.targets,
                case.reported_to_platform,
                to_db_or_none(case.reported_to_platform_at),
                case.author_is_pupil,
                to_db_or_none(case.removed_at),
                case.assignee_id,
                to_db(case.updated_at),
                to_db_or_none(case.closed_at),
                case.close_reason,
                case.merged_into,
                to_db_or_none(case.checked_at),
                case.legal_hold,
                case.escalated_to,
                to_db_or_none(case.escalated_at),
                case.id,
            ),
        )
        await self._db.execute("DELETE FROM case_categories WHERE case_id = ?", (case.id,))
        await self._db.executemany(
            "INSERT INTO case_categories (case_id, category) VALUES (?, ?)",
            [(case.id, category.value) for category in sorted(case.categories)],
        )

    async def add_reporter(
        self, case_id: int, person_id: int, description: str, at: datetime
    ) -> bool:
        """Add a reporter; False when this person already reported this case."""
        async with self._db.execute(
            "INSERT INTO case_reporters (case_id, person_id, description, reported_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING case_id",
            (case_id, person_id, description, to_db(at)),
        ) as cursor:
            added = await cursor.fetchone() is not None
        return added

    async def add_words(self, case_id: int, person_id: int, text: str) -> None:
        """More of a reporter's own words on a case (a thread reply under their report)."""
        await self._db.execute(self._add_words, (text, text, case_id, person_id))

    async def reporters(self, case_id: int) -> list[Reporter]:
        async with self._db.execute(
            "SELECT p.id, p.key, p.name, r.description, r.reported_at FROM case_reporters r"
            " JOIN people p ON p.id = r.person_id WHERE r.case_id = ?"
            " ORDER BY r.reported_at, r.person_id",
            (case_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            Reporter(
                Person(r["id"], r["key"], r["name"]), r["description"], from_db(r["reported_at"])
            )
            for r in rows
        ]

    async def add_link(self, case_id: int, school_id: int, link: CaseLink, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO case_links (case_id, school_id, canonical_url, original_url, platform,"
            " added_at) VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, school_id, link.canonical, link.original, link.platform, to_db(at)),
        )

    async def links(self, case_id: int) -> list[CaseLink]:
        async with self._db.execute(
            "SELECT canonical_url, original_url, platform FROM case_links WHERE case_id = ?"
            " ORDER BY id",
            (case_id,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [CaseLink(r[0], r[1], Platform(r[2])) for r in rows]

    async def reported_by(self, person_id: int) -> list[Case]:
        return await self._many(
            f"SELECT {self._columns} FROM cases c JOIN case_reporters r ON r.case_id = c.id"
            " WHERE r.person_id = ? ORDER BY c.created_at DESC, c.id DESC",
            (person_id,),
        )

    async def listing(
        self, school_id: int | None = None, since: datetime | None = None
    ) -> list[Case]:
        """Cases oldest first, optionally of one school and created at or after `since`."""
        where, parameters = case_filters(school_id, since)
        return await self._many(
            f"SELECT {self._columns} FROM cases c{where} ORDER BY c.created_at, c.id", parameters
        )

    async def timings(
        self, school_id: int | None = None, since: datetime | None = None
    ) -> list[CaseTiming]:
        """What the evidence figures need of each case, optionally of one school and since."""
        where, parameters = case_filters(school_id, since)
        async with self._db.execute(
            "SELECT c.platform, c.status, c.close_reason, c.created_at,"
            f" c.reported_to_platform_at, c.removed_at FROM cases c{where}",
            parameters,
        ) as cursor:
            cursor.row_factory = None  # plain tuples: sqlite3.Row costs more than it gives here
            rows = await cursor.fetchall()
        return [
            CaseTiming(
                _PLATFORM[platform],
                _STATUS[status],
                None if close_reason is None else _CLOSE_REASON[close_reason],
                from_db(created_at),
                from_db_or_none(reported_at),
                from_db_or_none(removed_at),
            )
            for platform, status, close_reason, created_at, reported_at, removed_at in rows
        ]

    async def for_digest(self, school_id: int, since: datetime) -> list[Case]:
        """What a digest counts: cases still open, and cases created or removed since `since`."""
        moment = to_db(since)
        return await self._many(
            f"SELECT {self._columns} FROM cases c WHERE c.school_id = ? AND"
            " (c.status NOT IN ('closed', 'removed') OR c.created_at >= ? OR c.removed_at >= ?)"
            " ORDER BY c.created_at, c.id",
            (school_id, moment, moment),
        )

    async def open_for_school(self, school_id: int) -> list[Case]:
        """Open cases (neither closed nor removed, as `Status.is_open`), urgent first, then
        newest first."""
        return await self._many(
            f"SELECT {self._columns} FROM cases c WHERE c.school_id = ?"
            " AND c.status NOT IN ('closed', 'removed')"
            " ORDER BY c.urgent DESC, c.created_at DESC, c.id DESC",
            (school_id,),
        )

    async def move_into(self, from_id: int, to_id: int) -> None:
        """Move the links and reporters of one case onto another (a merge).

        The links are added after the surviving case's own, so its first link stays first. A
        person who reported both cases keeps both their descriptions, the earlier one first:
        only retention and erasure ever remove what a reporter wrote.
        """
        await self._db.execute(
            "INSERT INTO case_links (case_id, school_id, canonical_url, original_url, platform,"
            " added_at) SELECT CAST(? AS INTEGER), school_id, canonical_url, original_url,"
            " platform, added_at FROM case_links WHERE case_id = ? ORDER BY id",
            (to_id, from_id),
        )
        await self._db.execute("DELETE FROM case_links WHERE case_id = ?", (from_id,))
        await self._db.execute(self._move_reporters, (to_id, from_id))
        await self._db.execute("DELETE FROM case_reporters WHERE case_id = ?", (from_id,))

    async def merged_from(self, case_id: int) -> list[int]:
        """Ids of every case merged into this one, directly or through another merged case."""
        async with self._db.execute(
            "WITH RECURSIVE m(id) AS (SELECT id FROM cases WHERE merged_into = ?"
            " UNION SELECT c.id FROM cases c JOIN m ON c.merged_into = m.id) SELECT id FROM m"
            " ORDER BY id",
            (case_id,),
        ) as cursor:
            return [int(r[0]) for r in await cursor.fetchall()]

    async def _take_school(self, school_id: int) -> None:
        """PostgreSQL: one transaction at a time looks up and numbers a school's cases (an
        advisory lock held to the end of the transaction). SQLite's write lock does this already."""
        if self._postgres:
            await self._db.execute(
                "SELECT pg_advisory_xact_lock(?, CAST(? AS INTEGER))", (SCHOOL_TURN, school_id)
            )

    async def _one(self, sql: str, parameters: tuple[Any, ...]) -> Case | None:
        async with self._db.execute(sql, parameters) as cursor:
            cursor.row_factory = None  # plain tuples: _case unpacks by position
            row = await cursor.fetchone()
        return None if row is None else _case(row)

    async def _many(self, sql: str, parameters: Any) -> list[Case]:
        async with self._db.execute(sql, parameters) as cursor:
            cursor.row_factory = None
            rows = await cursor.fetchall()
        return [_case(r) for r in rows]


def case_filters(school_id: int | None, since: datetime | None) -> tuple[str, list[Any]]:
    """A WHERE clause over `cases c` for one school and/or cases created since a moment."""
    clauses: list[str] = []
    parameters: list[Any] = []
    if school_id is not None:
        clauses.append("c.school_id = ?")
        parameters.append(school_id)
    if since is not None:
        clauses.append("c.created_at >= ?")
        parameters.append(to_db(since))
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), parameters


def _lookup(kind: type[E]) -> dict[str, E]:
    return {member.value: member for member in kind}


# Plain dict lookups: calling an Enum class is slow enough to matter over 100 000 rows.
_STATUS = _lookup(Status)
_PLATFORM = _lookup(Platform)
_TARGET = _lookup(Target)
_CATEGORY = _lookup(Category)
_REPORTED = _lookup(ReportedToPlatform)
_AUTHOR = _lookup(AuthorIsPupil)
_CLOSE_REASON = _lookup(CloseReason)
_ESCALATION = _lookup(EscalationRoute)
_CATEGORY_SETS: dict[str, frozenset[Category]] = {}


def _categories(text: str | None) -> frozenset[Category]:
    if not text:
        return frozenset()
    found = _CATEGORY_SETS.get(text)
    if found is None:
        found = _CATEGORY_SETS[text] = frozenset(_CATEGORY[c] for c in text.split(","))
    return found


def _case(row: Iterable[Any]) -> Case:
    (
        case_id,
        school_id,
        number,
        status,
        urgent,
        platform,
        source,
        targets,
        reported,
        reported_at,
        author,
        removed_at,
        assignee_id,
        created_at,
        updated_at,
        closed_at,
        close_reason,
        merged_into,
        checked_at,
        legal_hold,
        purged_at,
        reporter_count,
        escalated_to,
        escalated_at,
        url,
        categories,
    ) = row
    return Case(
        id=case_id,
        school_id=school_id,
        number=number,
        status=_STATUS[status],
        urgent=bool(urgent),
        platform=_PLATFORM[platform],
        source=Transport(source),
        url=url,
        targets=None if targets is None else _TARGET[targets],
        categories=_categories(categories),
        reported_to_platform=None if reported is None else _REPORTED[reported],
        reported_to_platform_at=from_db_or_none(reported_at),
        author_is_pupil=None if author is None else _AUTHOR[author],
        removed_at=from_db_or_none(removed_at),
        assignee_id=assignee_id,
        created_at=from_db(created_at),
        updated_at=from_db(updated_at),
        closed_at=from_db_or_none(closed_at),
        close_reason=None if close_reason is None else _CLOSE_REASON[close_reason],
        merged_into=merged_into,
        checked_at=from_db_or_none(checked_at),
        legal_hold=legal_hold,
        purged_at=from_db_or_none(purged_at),
        reporter_count=reporter_count,
        escalated_to=None if escalated_to is None else _ESCALATION[escalated_to],
        escalated_at=from_db_or_none(escalated_at),
    )
