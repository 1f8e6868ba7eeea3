"""Cases: numbering, links, reporters, listings, merges, and the notes and messages on them."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta

import asyncpg
import pytest

from storage.models import CaseLink, Category, EscalationRoute, Platform, Status, Transport
from storage.protocols import CaseMessageRepository, CaseRepository, NoteRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person


@covers(CaseRepository.create)
async def test_case_numbers_count_per_school(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        a = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        b = await unit.cases.create(new_case(north, alex, "https://tiktok.com/b"))
        c = await unit.cases.create(new_case(south, alex, "https://tiktok.com/a"))
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert c.id not in (a.id, b.id)
    assert a.status is Status.NEW and a.url == "https://tiktok.com/a"


@covers(CaseRepository.create, CaseRepository.get)
async def test_a_new_case_reads_back_as_created(store: Store) -> None:
    """`create` builds the case it returns rather than reading it back: it must be the case
    stored, whatever the link, its platform, and the instant's fraction of a second."""
    north, alex = await school_and_person(store)
    odd_instant = T0 + timedelta(microseconds=654_321)
    async with store.transaction() as unit:
        made = [
            await unit.cases.create(new_case(north, alex, "https://tiktok.com/a", odd_instant)),
            await unit.cases.create(new_case(north, alex, None)),
            await unit.cases.create(
                dataclasses.replace(
                    new_case(north, alex, "https://x.com/u/status/1"), platform=Platform.OTHER
                )
            ),
        ]
    async with store.reading() as unit:
        assert [await unit.cases.get(case.id) for case in made] == made
    assert made[0].created_at == made[0].updated_at == odd_instant  # kept to the microsecond


@covers(CaseRepository.create, CaseRepository.get)
async def test_a_case_may_come_through_any_named_transport(store: Store) -> None:
    """A new chat platform names its own transport; the store keeps the name, and needs no
    migration for it. A nameless one is still refused."""
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(
            dataclasses.replace(new_case(north, alex, None), source=Transport("matrix"))
        )
    async with store.reading() as unit:
        assert await unit.cases.get(case.id) == case
    assert case.source == "matrix"
    with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError), match="source"):
        async with store.transaction() as unit:
            await unit.cases.create(
                dataclasses.replace(new_case(north, alex, None), source=Transport(""))
            )


@covers(CaseRepository.find_active_by_link)
async def test_find_by_link_is_per_school_and_ignores_closed_cases(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        assert (await unit.cases.find_active_by_link(north, "https://tiktok.com/a")) == case
        assert await unit.cases.find_active_by_link(south, "https://tiktok.com/a") is None
        await unit.cases.save(dataclasses.replace(case, status=Status.CLOSED, closed_at=T0))
        assert await unit.cases.find_active_by_link(north, "https://tiktok.com/a") is None


@covers(CaseRepository.add_reporter, CaseRepository.reporters)
async def test_a_person_reports_a_case_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        sam = await unit.people.ensure("console:sam", "Sam")
        case = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        assert await unit.cases.add_reporter(case.id, sam.id, "me too", T0) is True
        assert await unit.cases.add_reporter(case.id, sam.id, "again", T0) is False
        reporters = await unit.cases.reporters(case.id)
    assert [r.person.key for r in reporters] == ["console:alex", "console:sam"]
    assert [r.description for r in reporters] == ["words", "me too"]


@covers(CaseRepository.save, CaseRepository.get, CaseRepository.by_number)
async def test_saved_fields_and_categories_round_trip(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
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
        assert await unit.cases.by_number(north, case.number + 1) is None
        assert await unit.cases.get(case.id + 100) is None
        await unit.cases.save(dataclasses.replace(changed, categories=frozenset()))
        assert (await unit.cases.get(case.id)).categories == frozenset()  # type: ignore[union-attr]


@covers(CaseRepository.save, CaseRepository.get, CaseRepository.by_number)
async def test_where_and_when_a_case_was_escalated_round_trips(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        escalated = dataclasses.replace(
            case,
            status=Status.ESCALATED,
            escalated_to=EscalationRoute.REPORT_HARMFUL_CONTENT,
            escalated_at=T0 + timedelta(days=9, hours=3),
            updated_at=T0 + timedelta(days=9, hours=3),
        )
        await unit.cases.save(escalated)
    async with store.reading() as unit:
        assert await unit.cases.get(case.id) == escalated
        assert await unit.cases.by_number(north, case.number) == escalated
        [listed] = await unit.cases.listing(school_id=north)
        assert (listed.escalated_to, listed.escalated_at) == (
            EscalationRoute.REPORT_HARMFUL_CONTENT,
            T0 + timedelta(days=9, hours=3),
        )


@covers(CaseRepository.listing)
async def test_listing_filters_by_school_and_date(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        old = await unit.cases.create(
            new_case(north, alex, "https://a.org/1", T0 - timedelta(days=10))
        )
        new = await unit.cases.create(new_case(north, alex, "https://a.org/2", T0))
        other = await unit.cases.create(new_case(south, alex, "https://a.org/3", T0))
        assert [c.id for c in await unit.cases.listing()] == [old.id, new.id, other.id]
        assert [c.id for c in await unit.cases.listing(school_id=north)] == [old.id, new.id]
        assert [c.id for c in await unit.cases.listing(since=T0 - timedelta(days=1))] == [
            new.id,
            other.id,
        ]


@covers(CaseRepository.timings)
async def test_timings_match_the_cases_they_come_from(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        old = await unit.cases.create(
            new_case(north, alex, "https://a.org/1", T0 - timedelta(days=10))
        )
        removed = dataclasses.replace(
            await unit.cases.create(new_case(north, alex, "https://a.org/2", T0)),
            status=Status.CLOSED,
            close_reason="resolved",
            reported_to_platform_at=T0 + timedelta(hours=3),
            removed_at=T0 + timedelta(days=2),
        )
        await unit.cases.save(removed)
        await unit.cases.create(new_case(south, alex, "https://a.org/3", T0))
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


@covers(CaseRepository.add_link, CaseRepository.links)
async def test_links_keep_their_order_and_the_url_is_the_first_on_the_case_platform(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    youtube = CaseLink("https://youtube.com/watch?v=1", "https://youtu.be/1", Platform.YOUTUBE)
    second = CaseLink("https://tiktok.com/b", "https://vm.tiktok.com/b", Platform.TIKTOK)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        assert await unit.cases.links(case.id) == []
        await unit.cases.add_link(case.id, north, youtube, T0)
        assert (await unit.cases.get(case.id)).url == youtube.canonical  # type: ignore[union-attr]
        await unit.cases.add_link(case.id, north, second, T0)
        assert await unit.cases.links(case.id) == [youtube, second]
        assert (await unit.cases.get(case.id)).url == second.canonical  # type: ignore[union-attr]
        assert await unit.cases.find_active_by_link(
            north, second.canonical
        ) == await unit.cases.get(case.id)
        assert await unit.cases.find_active_by_link(south, second.canonical) is None


@covers(CaseRepository.reported_by)
async def test_a_reporter_sees_the_cases_they_reported_newest_first(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        sam = await unit.people.ensure("console:sam", "Sam")
        older = await unit.cases.create(new_case(north, alex, "https://a.org/1", T0))
        newer = await unit.cases.create(
            new_case(north, alex, "https://a.org/2", T0 + timedelta(hours=1))
        )
        same_time = await unit.cases.create(
            new_case(north, sam.id, "https://a.org/3", T0 + timedelta(hours=1))
        )
        await unit.cases.add_reporter(same_time.id, alex, "me too", T0 + timedelta(hours=2))
        assert [c.id for c in await unit.cases.reported_by(alex)] == [
            same_time.id,
            newer.id,
            older.id,
        ]
        assert [c.id for c in await unit.cases.reported_by(sam.id)] == [same_time.id]


@covers(CaseRepository.open_for_school)
async def test_open_cases_are_urgent_first_then_newest_and_never_closed_or_removed(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        urgent_old = await unit.cases.create(new_case(north, alex, "https://a.org/1", T0))
        await unit.cases.save(dataclasses.replace(urgent_old, urgent=True))
        plain_old = await unit.cases.create(new_case(north, alex, "https://a.org/2", T0))
        plain_new = await unit.cases.create(
            new_case(north, alex, "https://a.org/3", T0 + timedelta(hours=1))
        )
        closed = await unit.cases.create(new_case(north, alex, "https://a.org/4", T0))
        await unit.cases.save(dataclasses.replace(closed, status=Status.CLOSED, closed_at=T0))
        removed = await unit.cases.create(new_case(north, alex, "https://a.org/5", T0))
        await unit.cases.save(dataclasses.replace(removed, status=Status.REMOVED, removed_at=T0))
        reported = await unit.cases.create(new_case(north, alex, "https://a.org/6", T0))
        await unit.cases.save(dataclasses.replace(reported, status=Status.REPORTED))
        await unit.cases.create(new_case(south, alex, "https://a.org/7", T0))
        found = await unit.cases.open_for_school(north)
    assert [c.id for c in found] == [urgent_old.id, plain_new.id, reported.id, plain_old.id]


@covers(CaseRepository.for_digest)
async def test_the_digest_reads_open_cases_and_those_created_or_removed_since(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    week_ago = T0 - timedelta(days=7)
    async with store.transaction() as unit:
        old_open = await unit.cases.create(
            new_case(north, alex, "https://a.org/1", T0 - timedelta(days=30))
        )
        old_closed = await unit.cases.create(
            new_case(north, alex, "https://a.org/2", T0 - timedelta(days=30))
        )
        await unit.cases.save(dataclasses.replace(old_closed, status=Status.CLOSED))
        old_removed_lately = await unit.cases.create(
            new_case(north, alex, "https://a.org/3", T0 - timedelta(days=20))
        )
        await unit.cases.save(
            dataclasses.replace(
                old_removed_lately, status=Status.REMOVED, removed_at=T0 - timedelta(days=1)
            )
        )
        old_removed_long_ago = await unit.cases.create(
            new_case(north, alex, "https://a.org/4", T0 - timedelta(days=20))
        )
        await unit.cases.save(
            dataclasses.replace(
                old_removed_long_ago, status=Status.REMOVED, removed_at=T0 - timedelta(days=10)
            )
        )
        new_closed = await unit.cases.create(
            new_case(north, alex, "https://a.org/5", T0 - timedelta(days=2))
        )
        await unit.cases.save(dataclasses.replace(new_closed, status=Status.CLOSED))
        await unit.cases.create(new_case(south, alex, "https://a.org/6", T0))
        found = await unit.cases.for_digest(north, week_ago)
    assert [c.id for c in found] == [old_open.id, old_removed_lately.id, new_closed.id]


@covers(CaseRepository.move_into, CaseRepository.merged_from)
async def test_a_merge_moves_links_and_reporters_and_keeps_both_descriptions(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        sam = await unit.people.ensure("console:sam", "Sam")
        kept = await unit.cases.create(
            new_case(north, alex, "https://tiktok.com/a", T0, description="first")
        )
        gone = await unit.cases.create(
            new_case(
                north, alex, "https://tiktok.com/b", T0 + timedelta(hours=1), description="second"
            )
        )
        await unit.cases.add_reporter(gone.id, sam.id, "sam's", T0 + timedelta(hours=2))
        await unit.cases.move_into(gone.id, kept.id)
        await unit.cases.save(dataclasses.replace(gone, status=Status.CLOSED, merged_into=kept.id))
        assert [link.canonical for link in await unit.cases.links(kept.id)] == [
            "https://tiktok.com/a",
            "https://tiktok.com/b",
        ]
        assert await unit.cases.links(gone.id) == []
        assert await unit.cases.reporters(gone.id) == []
        reporters = await unit.cases.reporters(kept.id)
        assert [(r.person.id, r.description, r.reported_at) for r in reporters] == [
            (alex, "first\n\nsecond", T0),
            (sam.id, "sam's", T0 + timedelta(hours=2)),
        ]
        assert await unit.cases.merged_from(kept.id) == [gone.id]
        assert await unit.cases.merged_from(gone.id) == []


@covers(CaseRepository.merged_from)
async def test_merged_from_follows_merges_of_merged_cases(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        a, b, c, d = [
            await unit.cases.create(new_case(north, alex, f"https://a.org/{n}")) for n in range(4)
        ]
        await unit.cases.save(dataclasses.replace(c, merged_into=b.id))
        await unit.cases.save(dataclasses.replace(b, merged_into=a.id))
        assert await unit.cases.merged_from(a.id) == [b.id, c.id]
        assert await unit.cases.merged_from(b.id) == [c.id]
        assert await unit.cases.merged_from(d.id) == []


@covers(
    CaseMessageRepository.add,
    CaseMessageRepository.cases,
    CaseRepository.add_words,
)
async def test_a_message_finds_the_cases_it_made_and_more_words_are_appended(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        a = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        b = await unit.cases.create(new_case(north, alex, "https://tiktok.com/b"))
        for case in (b, a, a):
            await unit.case_messages.add("slack", "C1|1.0001", case.id)
        assert await unit.case_messages.cases("slack", "C1|1.0001") == [a.id, b.id]
        assert await unit.case_messages.cases("telegram", "C1|1.0001") == []
        await unit.cases.add_words(a.id, alex, "and it was shared again")
        [reporter] = await unit.cases.reporters(a.id)
        blank = await unit.cases.create(
            new_case(north, alex, "https://tiktok.com/c", description="")
        )
        await unit.cases.add_words(blank.id, alex, "only this")
        [blank_reporter] = await unit.cases.reporters(blank.id)
    assert reporter.description == "words\nand it was shared again"
    assert blank_reporter.description == "only this"


@covers(NoteRepository.add, NoteRepository.for_cases, NoteRepository.move)
async def test_notes_come_in_writing_order_with_their_author_and_follow_a_merge(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        lena = await unit.people.ensure("console:lena", "Lena")
        a = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        b = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        c = await unit.cases.create(new_case(north, alex, "https://a.org/3"))
        await unit.notes.add(b.id, lena.id, "called the parent", T0 + timedelta(hours=1))
        await unit.notes.add(a.id, alex, "still up", T0)
        await unit.notes.add(c.id, lena.id, "elsewhere", T0)
        notes = await unit.notes.for_cases([a.id, b.id])
        assert [(n.case_id, n.author, n.text, n.at) for n in notes] == [
            (b.id, lena, "called the parent", T0 + timedelta(hours=1)),
            (a.id, await unit.people.get(alex), "still up", T0),
        ]
        await unit.notes.move(b.id, a.id)
        assert [n.text for n in await unit.notes.for_cases([a.id])] == [
            "called the parent",
            "still up",
        ]
        assert await unit.notes.for_cases([b.id]) == []
