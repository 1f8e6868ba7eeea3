"""Retention and erasure: what is gone afterwards, and what the figures still have."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from storage.models import AuditEntry, ConversationPlace
from storage.protocols import PrivacyRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person

DAY = timedelta(days=1)


@covers(PrivacyRepository.anonymise_case)
async def test_an_anonymised_case_keeps_its_figures_and_loses_every_identity(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    place = ConversationPlace("console", "alex", "direct")
    async with store.transaction() as unit:
        lena = await unit.people.ensure("console:lena", "Lena")
        case = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        kept = await unit.cases.create(new_case(north, alex, "https://tiktok.com/b"))
        await unit.cases.add_reporter(case.id, lena.id, "seen it", T0)
        await unit.cases.save(dataclasses.replace(case, assignee_id=lena.id))
        await unit.notes.add(case.id, lena.id, "called", T0)
        await unit.case_messages.add("slack", "C1|1.0", case.id)
        await unit.audit.append(
            AuditEntry(case.id, north, lena.id, "assigned", T0, None, "person:2")
        )
        await unit.audit.append(AuditEntry(case.id, north, lena.id, "status", T0, "new", "open"))
        finished = await unit.conversations.start(north, alex, place, [case.id], "targets", T0)
        await unit.conversations.finish(finished.id, T0)
        ongoing = await unit.conversations.start(north, alex, place, [case.id, kept.id], None, T0)
        sent = await unit.outbox.add("slack", '{"text": "case 1"}', case.id, T0)
        await unit.outbox.mark_sent(sent, T0, "C1|2.0", "console:lena")
        other = await unit.outbox.add("slack", "{}", kept.id, T0)
        await unit.outbox.mark_sent(other, T0, "C1|3.0")
        await unit.privacy.anonymise_case(case.id, T0 + DAY)
    async with store.reading() as unit:
        after = await unit.cases.get(case.id)
        assert after is not None
        assert (after.purged_at, after.reporter_count, after.assignee_id, after.url) == (
            T0 + DAY,
            2,
            None,
            None,
        )
        assert (after.number, after.platform, after.status) == (
            case.number,
            case.platform,
            case.status,
        )
        assert await unit.cases.links(case.id) == []
        assert await unit.cases.reporters(case.id) == []
        assert await unit.notes.for_cases([case.id]) == []
        assert await unit.case_messages.cases("slack", "C1|1.0") == []
        assert [
            (e.actor_id, e.action, e.from_value, e.to_value)
            for e in await unit.audit.for_cases([case.id])
        ] == [(None, "assigned", None, None), (None, "status", "new", "open")]
        assert await unit.outbox.message_ref(sent) is None
        assert await unit.outbox.message_ref(other) == "C1|3.0"
        assert await unit.conversations.get(finished.id) is None
        assert (await unit.conversations.get(ongoing.id)).case_ids == (kept.id,)  # type: ignore[union-attr]
        assert len(await unit.cases.reporters(kept.id)) == 1
        assert [link.canonical for link in await unit.cases.links(kept.id)] == [
            "https://tiktok.com/b"
        ]


@covers(PrivacyRepository.forget_direct_refs)
async def test_retention_forgets_old_references_to_direct_chats_only(store: Store) -> None:
    await school_and_person(store)
    async with store.transaction() as unit:
        old_direct = await unit.outbox.add("slack", "{}", None, T0)
        old_channel = await unit.outbox.add("slack", "{}", None, T0)
        new_direct = await unit.outbox.add("slack", "{}", None, T0)
        await unit.outbox.mark_sent(old_direct, T0, "D1|1.0", "console:alex")
        await unit.outbox.mark_sent(old_channel, T0, "C1|1.0")
        await unit.outbox.mark_sent(new_direct, T0 + 2 * DAY, "D1|2.0", "console:alex")
        await unit.privacy.forget_direct_refs(T0 + DAY)
        assert await unit.outbox.message_ref(old_direct) is None
        assert await unit.outbox.message_ref(old_channel) == "C1|1.0"
        assert await unit.outbox.message_ref(new_direct) == "D1|2.0"


@covers(PrivacyRepository.erase_person)
async def test_erasing_a_person_forgets_the_message_keys_of_their_private_chat(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a"))
        await unit.case_messages.add("telegram", "501|77", case.id)
        await unit.case_messages.add("telegram", "-100501|78", case.id)
        await unit.inbox.add("telegram", "message:501|77", "{}", T0)
        await unit.inbox.add("telegram", "message:-100501|78", "{}", T0)
        await unit.privacy.erase_person(alex, "501", "Former staff member 1", T0)
        assert await unit.case_messages.cases("telegram", "501|77") == []
        assert await unit.case_messages.cases("telegram", "-100501|78") == [case.id]
        pending = [item.event_id for item in await unit.inbox.pending(T0)]
    assert "message:501|77" not in pending and "message:-100501|78" in pending


@covers(PrivacyRepository.erase_person)
async def test_an_erased_person_keeps_their_cases_under_a_pseudonym(store: Store) -> None:
    north, _ = await school_and_person(store)
    place = ConversationPlace("telegram", "501", "direct")
    async with store.transaction() as unit:
        alex = await unit.people.ensure("telegram:501", "Alex")
        lena = await unit.people.ensure("telegram:900", "Lena")
        case = await unit.cases.create(new_case(north, alex.id, None, description="I am 501"))
        await unit.notes.add(case.id, lena.id, "spoke to 501 today", T0)
        talk = await unit.conversations.start(north, alex.id, place, [case.id], "targets", T0)
        waiting = await unit.outbox.add("telegram", '{"place": {"id": "501"}}', case.id, T0)
        sent = await unit.outbox.add("telegram", "{}", case.id, T0)
        await unit.outbox.mark_sent(sent, T0, "501|80", "telegram:501")
        unrelated = await unit.outbox.add("telegram", '{"place": {"id": "900"}}', None, T0)
        await unit.privacy.erase_person(alex.id, "501", "Former staff member 1", T0)
    async with store.reading() as unit:
        erased = await unit.people.get(alex.id)
        assert erased is not None and erased.name == "Former staff member 1"
        assert erased.key != "telegram:501" and await unit.people.by_key("telegram:501") is None
        [reporter] = await unit.cases.reporters(case.id)
        assert (reporter.person, reporter.description) == (erased, "I am Former staff member 1")
        [note] = await unit.notes.for_cases([case.id])
        assert note.text == "spoke to Former staff member 1 today"
        assert [c.id for c in await unit.cases.reported_by(alex.id)] == [case.id]
        conversation = await unit.conversations.get(talk.id)
        assert conversation is not None and conversation.place.place_id != "501"
        assert await unit.outbox.message_ref(sent) is None
    async with store.transaction() as unit:
        claimable = await unit.outbox.claim_due(["telegram"], T0, T0 + DAY)
    assert [i.id for i in claimable] == [unrelated]
    assert waiting != unrelated
