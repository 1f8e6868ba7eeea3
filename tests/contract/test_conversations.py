"""Follow-up conversations: which question a reporter is on, about which cases."""

from __future__ import annotations

from datetime import timedelta

from storage.models import ConversationPlace, PlaceKind
from storage.protocols import ConversationRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person

PLACE = ConversationPlace("console", "alex", "direct")


@covers(
    ConversationRepository.start,
    ConversationRepository.current,
    ConversationRepository.set_question,
    ConversationRepository.finish,
)
async def test_current_conversation_is_the_newest_unfinished(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        a = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        b = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        first = await unit.conversations.start(north, alex, PLACE, [a.id], "targets", T0)
        second = await unit.conversations.start(north, alex, PLACE, [b.id, a.id], "platform", T0)
        assert (await unit.conversations.current(alex)) == second
        assert second.case_ids == tuple(sorted((a.id, b.id)))
        await unit.conversations.set_question(second.id, "author", T0)
        assert (await unit.conversations.current(alex)).question == "author"  # type: ignore[union-attr]
        await unit.conversations.finish(second.id, T0)
        assert (await unit.conversations.current(alex)) == first
        await unit.conversations.finish(first.id, T0)
        assert await unit.conversations.current(alex) is None


@covers(ConversationRepository.latest)
async def test_latest_conversation_is_the_newest_finished_or_not(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        assert await unit.conversations.latest(alex) is None
        a = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        b = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        first = await unit.conversations.start(north, alex, PLACE, [a.id], "targets", T0)
        second = await unit.conversations.start(north, alex, PLACE, [b.id], "targets", T0)
        assert await unit.conversations.latest(alex) == second
        await unit.conversations.finish(second.id, T0)
        finished = await unit.conversations.latest(alex)
        assert finished is not None and finished.id == second.id and finished.finished_at == T0
        assert (await unit.conversations.current(alex)) == first


@covers(ConversationRepository.get, ConversationRepository.finish)
async def test_a_conversation_reads_back_as_started_and_finishes_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    threaded = ConversationPlace("slack", "C1", "channel", "1.0001")
    later = T0 + timedelta(minutes=5)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        started = await unit.conversations.start(north, alex, threaded, [case.id], None, T0)
        assert await unit.conversations.get(started.id) == started
        assert (started.place, started.question, started.case_ids) == (threaded, None, (case.id,))
        assert started.place.place_kind is PlaceKind.CHANNEL  # the enum, as read back
        assert (started.created_at, started.updated_at, started.finished_at) == (T0, T0, None)
        await unit.conversations.set_question(started.id, "targets", later)
        await unit.conversations.finish(started.id, later)
        await unit.conversations.finish(started.id, later + timedelta(hours=1))
        done = await unit.conversations.get(started.id)
        assert await unit.conversations.get(started.id + 100) is None
    assert done is not None
    assert (done.question, done.updated_at, done.finished_at) == (None, later, later)


@covers(ConversationRepository.active_for_case, ConversationRepository.drop_case)
async def test_conversations_about_a_case_are_the_unfinished_ones_oldest_first(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        sam = await unit.people.ensure("console:sam", "Sam")
        a = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        b = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        alexs = await unit.conversations.start(north, alex, PLACE, [a.id, b.id], "targets", T0)
        sams = await unit.conversations.start(north, sam.id, PLACE, [a.id], "targets", T0)
        finished = await unit.conversations.start(north, alex, PLACE, [a.id], "targets", T0)
        await unit.conversations.finish(finished.id, T0)
        assert [c.id for c in await unit.conversations.active_for_case(a.id)] == [
            alexs.id,
            sams.id,
        ]
        await unit.conversations.drop_case(alexs.id, a.id)
        assert [c.id for c in await unit.conversations.active_for_case(a.id)] == [sams.id]
        assert [c.id for c in await unit.conversations.active_for_case(b.id)] == [alexs.id]
        assert (await unit.conversations.get(alexs.id)).case_ids == (b.id,)  # type: ignore[union-attr]
