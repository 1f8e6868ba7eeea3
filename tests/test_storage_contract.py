"""The repository contract. Every storage backend must pass these; today that is SQLite."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from storage.db import Database, SchemaTooNewError, migrations
from storage.models import (
    AuditEntry,
    CaseLink,
    Category,
    ConversationPlace,
    NewCase,
    Platform,
    Source,
    Status,
)
from storage.store import Store, open_store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store under test lives: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "contract.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    db = await open_store(store_target)
    yield db
    await db.close()


async def _school_and_person(store: Store, school: str = "Northfield") -> tuple[int, int]:
    async with store.transaction() as unit:
        s = await unit.schools.ensure(school, "Europe/London")
        p = await unit.people.ensure("console:alex", "Alex")
    return s.id, p.id


def _new(school_id: int, person_id: int, url: str | None, at: datetime = T0) -> NewCase:
    link = None if url is None else CaseLink(url, url + "?x=1", Platform.TIKTOK)
    return NewCase(school_id, Platform.TIKTOK, Source.CONSOLE, person_id, "words", at, link)


async def test_case_numbers_count_per_school(store: Store) -> None:
    north, alex = await _school_and_person(store)
    south, _ = await _school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        a = await unit.cases.create(_new(north, alex, "https://tiktok.com/a"))
        b = await unit.cases.create(_new(north, alex, "https://tiktok.com/b"))
        c = await unit.cases.create(_new(south, alex, "https://tiktok.com/a"))
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert c.id not in (a.id, b.id)
    assert a.status is Status.NEW and a.url == "https://tiktok.com/a"


async def test_find_by_link_is_per_school_and_ignores_closed_cases(store: Store) -> None:
    north, alex = await _school_and_person(store)
    south, _ = await _school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex, "https://tiktok.com/a"))
        assert (await unit.cases.find_active_by_link(north, "https://tiktok.com/a")) == case
        assert await unit.cases.find_active_by_link(south, "https://tiktok.com/a") is None
        await unit.cases.save(dataclasses.replace(case, status=Status.CLOSED, closed_at=T0))
        assert await unit.cases.find_active_by_link(north, "https://tiktok.com/a") is None


async def test_a_person_reports_a_case_once(store: Store) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        sam = await unit.people.ensure("console:sam", "Sam")
        case = await unit.cases.create(_new(north, alex, "https://tiktok.com/a"))
        assert await unit.cases.add_reporter(case.id, sam.id, "me too", T0) is True
        assert await unit.cases.add_reporter(case.id, sam.id, "again", T0) is False
        reporters = await unit.cases.reporters(case.id)
    assert [r.person.key for r in reporters] == ["console:alex", "console:sam"]


async def test_saved_fields_and_categories_round_trip(store: Store) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex, None))
        changed = dataclasses.replace(
            case,
            categories=frozenset({Category.THREAT, Category.HARASSMENT}),
            urgent=True,
            removed_at=T0 + timedelta(days=2),
            updated_at=T0 + timedelta(days=2),
        )
        await unit.cases.save(changed)
        assert await unit.cases.get(case.id) == changed
        assert await unit.cases.by_number(north, case.number) == changed


async def test_listing_filters_by_school_and_date(store: Store) -> None:
    north, alex = await _school_and_person(store)
    south, _ = await _school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        old = await unit.cases.create(_new(north, alex, "https://a.org/1", T0 - timedelta(days=10)))
        new = await unit.cases.create(_new(north, alex, "https://a.org/2", T0))
        other = await unit.cases.create(_new(south, alex, "https://a.org/3", T0))
        assert [c.id for c in await unit.cases.listing()] == [old.id, new.id, other.id]
        assert [c.id for c in await unit.cases.listing(school_id=north)] == [old.id, new.id]
        assert [c.id for c in await unit.cases.listing(since=T0 - timedelta(days=1))] == [
            new.id,
            other.id,
        ]


async def test_timings_match_the_cases_they_come_from(store: Store) -> None:
    north, alex = await _school_and_person(store)
    south, _ = await _school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        old = await unit.cases.create(_new(north, alex, "https://a.org/1", T0 - timedelta(days=10)))
        removed = dataclasses.replace(
            await unit.cases.create(_new(north, alex, "https://a.org/2", T0)),
            status=Status.CLOSED,
            close_reason="resolved",
            reported_to_platform_at=T0 + timedelta(hours=3),
            removed_at=T0 + timedelta(days=2),
        )
        await unit.cases.save(removed)
        await unit.cases.create(_new(south, alex, "https://a.org/3", T0))
        timings = await unit.cases.timings(school_id=north)
        recent = await unit.cases.timings(since=T0 - timedelta(days=1))
    by_creation = sorted(timings, key=lambda t: t.created_at)
    assert [(t.created_at, t.status, t.removed_at) for t in by_creation] == [
        (old.created_at, Status.NEW, None),
        (T0, Status.CLOSED, T0 + timedelta(days=2)),
    ]
    assert by_creation[1].close_reason == "resolved"
    assert by_creation[1].reported_to_platform_at == T0 + timedelta(hours=3)
    assert by_creation[1].platform is Platform.TIKTOK
    assert len(recent) == 2


async def test_current_conversation_is_the_newest_unfinished(store: Store) -> None:
    north, alex = await _school_and_person(store)
    place = ConversationPlace("console", "alex", "direct")
    async with store.transaction() as unit:
        a = await unit.cases.create(_new(north, alex, "https://a.org/1"))
        b = await unit.cases.create(_new(north, alex, "https://a.org/2"))
        first = await unit.conversations.start(north, alex, place, [a.id], "targets", T0)
        second = await unit.conversations.start(north, alex, place, [b.id, a.id], "platform", T0)
        assert (await unit.conversations.current(alex)) == second
        assert second.case_ids == tuple(sorted((a.id, b.id)))
        await unit.conversations.set_question(second.id, "author", T0)
        assert (await unit.conversations.current(alex)).question == "author"  # type: ignore[union-attr]
        await unit.conversations.finish(second.id, T0)
        assert (await unit.conversations.current(alex)) == first


async def test_audit_rows_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    store = await Database.open(tmp_path / "audit.db")
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex, None))
        await unit.audit.append(AuditEntry(case.id, north, alex, "created", T0, to_value="new"))
    for statement in ("UPDATE audit SET action = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with aiosqlite.connect(store.path) as raw:
                await raw.execute(statement)
    async with store.transaction() as unit:
        assert [e.action for e in await unit.audit.for_cases([case.id])] == ["created"]
    await store.close()


async def test_inbox_refuses_a_repeated_event_id(store: Store) -> None:
    async with store.transaction() as unit:
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is True
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is False
        assert await unit.inbox.add("telegram", "Ev1", "{}", T0) is True
        pending = await unit.inbox.pending(T0)
        await unit.inbox.mark_processed(pending[0].id, T0)
        assert [i.source for i in await unit.inbox.pending(T0)] == ["telegram"]


async def test_outbox_rows_are_claimed_by_one_sender_only(store: Store) -> None:
    async with store.transaction() as unit:
        for n in range(20):
            await unit.outbox.add("console", f'{{"n": {n}}}', None, T0)

    async def claim() -> list[int]:
        async with store.transaction() as unit:
            items = await unit.outbox.claim_due(["console"], T0, T0 + timedelta(minutes=1), limit=7)
        return [i.id for i in items]

    results = await asyncio.gather(*(claim() for _ in range(5)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 20 and len(set(claimed)) == 20


async def test_outbox_lease_expiry_and_retry(store: Store) -> None:
    async with store.transaction() as unit:
        row = await unit.outbox.add("slack", "{}", None, T0)
        assert [
            i.id for i in await unit.outbox.claim_due(["slack"], T0, T0 + timedelta(seconds=60))
        ] == [row]
        assert await unit.outbox.claim_due(["slack"], T0 + timedelta(seconds=30), T0) == []
        again = await unit.outbox.claim_due(
            ["slack"], T0 + timedelta(seconds=61), T0 + timedelta(seconds=121)
        )
        assert [i.attempts for i in again] == [2]
        await unit.outbox.mark_retry(row, "429", T0 + timedelta(minutes=5))
        assert await unit.outbox.claim_due(["slack"], T0 + timedelta(minutes=4), T0) == []
        assert len(await unit.outbox.claim_due(["slack"], T0 + timedelta(minutes=5), T0)) == 1
        await unit.outbox.mark_sent(row, T0, "ts1")
        assert await unit.outbox.message_ref(row) == "ts1"
        assert await unit.outbox.claim_due(["slack"], T0 + timedelta(days=1), T0) == []


async def test_a_long_read_does_not_hold_up_another_process_writing(
    store: Store, store_target: str
) -> None:
    north, alex = await _school_and_person(store)
    other = await open_store(store_target)  # a second connection, as another process has
    try:
        async with store.reading() as unit:
            before = await unit.cases.listing()
            async with other.transaction() as writer:  # would wait for the lock if reads took it
                await writer.cases.create(_new(north, alex, "https://a.org/late"))
            assert await unit.cases.listing() == before  # a snapshot: the new row is not seen
    finally:
        await other.close()
    async with store.reading() as unit:
        assert len(await unit.cases.listing()) == len(before) + 1


async def test_a_write_that_raises_is_rolled_back(store: Store) -> None:
    north, alex = await _school_and_person(store)
    with pytest.raises(RuntimeError):
        async with store.transaction() as unit:
            await unit.cases.create(_new(north, alex, None))
            raise RuntimeError("boom")
    async with store.transaction() as unit:
        assert await unit.cases.listing() == []


# --- SQLite specifics: migrations and file settings -------------------------------------------


async def test_migrations_are_recorded_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = await Database.open(path)
    assert await db.schema_version() == len(migrations())
    await db.close()
    with sqlite3.connect(path) as raw:
        raw.execute("INSERT INTO schema_version VALUES (999, '999_future.sql', 'now')")
    with pytest.raises(SchemaTooNewError, match="999"):
        await Database.open(path)


async def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        raw.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
    db = await Database.open(path)
    try:
        assert await db.schema_version() == len(migrations())
        async with db.transaction() as unit:
            assert (await unit.schools.ensure("A", "Europe/London")).name == "A"
    finally:
        await db.close()


async def test_file_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "w.db")
    await db.close()
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = await Database.open(tmp_path / "w.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as unit:
                await unit.cases.create(_new(999, 999, None))
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()


async def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    from storage.db import DatabaseError

    with pytest.raises(DatabaseError, match="not a Casebook database"):
        await Database.open(path)


async def test_a_message_finds_the_cases_it_made_and_more_words_are_appended(
    store: Store,
) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        a = await unit.cases.create(_new(north, alex, "https://tiktok.com/a"))
        b = await unit.cases.create(_new(north, alex, "https://tiktok.com/b"))
        for case in (b, a, a):
            await unit.case_messages.add("slack", "C1|1.0001", case.id)
        assert await unit.case_messages.cases("slack", "C1|1.0001") == [a.id, b.id]
        assert await unit.case_messages.cases("telegram", "C1|1.0001") == []
        await unit.cases.add_words(a.id, alex, "and it was shared again")
        [reporter] = await unit.cases.reporters(a.id)
    assert reporter.description == "words\nand it was shared again"


async def test_erasing_a_person_forgets_the_message_keys_of_their_private_chat(
    store: Store,
) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex, "https://tiktok.com/a"))
        await unit.case_messages.add("telegram", "501|77", case.id)
        await unit.case_messages.add("telegram", "-100501|78", case.id)
        await unit.inbox.add("telegram", "message:501|77", "{}", T0)
        await unit.inbox.add("telegram", "message:-100501|78", "{}", T0)
        await unit.privacy.erase_person(alex, "501", "Former staff member 1", T0)
        assert await unit.case_messages.cases("telegram", "501|77") == []
        assert await unit.case_messages.cases("telegram", "-100501|78") == [case.id]
        pending = [item.event_id for item in await unit.inbox.pending(T0)]
    assert "message:501|77" not in pending and "message:-100501|78" in pending
