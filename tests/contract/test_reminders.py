"""Reminders (the escalation ladder) and digest claims: each is sent once."""

from __future__ import annotations

from datetime import timedelta

from storage.models import ConversationPlace, ReminderAnswer, ReminderKind
from storage.protocols import ReminderRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person

HOUR = timedelta(hours=1)


@covers(ReminderRepository.add, ReminderRepository.pending_for_case, ReminderRepository.get)
async def test_a_reminder_is_added_once_and_listed_by_due_time(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        other = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        assert await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0 + 48 * HOUR, T0)
        assert await unit.reminders.add(case.id, ReminderKind.NOT_REPORTED, T0 + 24 * HOUR, T0)
        assert not await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0 + 48 * HOUR, T0)
        assert await unit.reminders.add(other.id, ReminderKind.ESCALATE, T0, T0)
        pending = await unit.reminders.pending_for_case(case.id)
        assert [(r.kind, r.due_at) for r in pending] == [
            (ReminderKind.NOT_REPORTED, T0 + 24 * HOUR),
            (ReminderKind.STILL_UP, T0 + 48 * HOUR),
        ]
        assert all(r.case_id == case.id and r.sent_at is None for r in pending)
        assert await unit.reminders.get(pending[0].id) == pending[0]
        assert await unit.reminders.get(pending[-1].id + 100) is None


@covers(ReminderRepository.due, ReminderRepository.mark_sent)
async def test_due_reminders_come_oldest_first_and_are_sent_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0 + 2 * HOUR, T0)
        await unit.reminders.add(case.id, ReminderKind.NOT_REPORTED, T0 + HOUR, T0)
        await unit.reminders.add(case.id, ReminderKind.ESCALATE, T0 + 3 * HOUR, T0)
        assert await unit.reminders.due(T0) == []
        due = await unit.reminders.due(T0 + 2 * HOUR)
        assert [r.kind for r in due] == [ReminderKind.NOT_REPORTED, ReminderKind.STILL_UP]
        assert [r.kind for r in await unit.reminders.due(T0 + 3 * HOUR, limit=1)] == [
            ReminderKind.NOT_REPORTED
        ]
        assert await unit.reminders.mark_sent(due[0].id, T0 + 2 * HOUR) is True
        assert await unit.reminders.mark_sent(due[0].id, T0 + 2 * HOUR) is False
        assert (await unit.reminders.get(due[0].id)).sent_at == T0 + 2 * HOUR  # type: ignore[union-attr]
        assert [r.id for r in await unit.reminders.due(T0 + 2 * HOUR)] == [due[1].id]
        assert [r.id for r in await unit.reminders.pending_for_case(case.id)] == [
            due[1].id,
            (await unit.reminders.due(T0 + 3 * HOUR))[1].id,
        ]
        # a sent reminder is not added again
        assert not await unit.reminders.add(case.id, ReminderKind.NOT_REPORTED, T0 + HOUR, T0)


@covers(ReminderRepository.cancel, ReminderRepository.add)
async def test_a_cancelled_reminder_is_not_due_or_sent_but_can_be_revived(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0, T0)
        [reminder] = await unit.reminders.due(T0)
        await unit.reminders.cancel(reminder.id, T0 + HOUR)
        assert await unit.reminders.due(T0 + HOUR) == []
        assert await unit.reminders.pending_for_case(case.id) == []
        assert await unit.reminders.mark_sent(reminder.id, T0 + HOUR) is False
        assert (await unit.reminders.get(reminder.id)).cancelled_at == T0 + HOUR  # type: ignore[union-attr]
        assert await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0, T0 + 2 * HOUR)
        assert [r.id for r in await unit.reminders.due(T0 + 2 * HOUR)] == [reminder.id]


@covers(ReminderRepository.cancel_conversation)
async def test_cancelling_a_conversation_cancels_only_its_unsent_reminders(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    place = ConversationPlace("console", "alex", "direct")
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        talk = await unit.conversations.start(north, alex, place, [case.id], "targets", T0)
        other = await unit.conversations.start(north, alex, place, [case.id], "targets", T0)
        await unit.reminders.add(case.id, ReminderKind.UNANSWERED, T0, T0, talk.id)
        await unit.reminders.add(case.id, ReminderKind.UNANSWERED, T0 + HOUR, T0, talk.id)
        await unit.reminders.add(case.id, ReminderKind.UNANSWERED, T0 + 2 * HOUR, T0, other.id)
        await unit.reminders.add(case.id, ReminderKind.NOT_REPORTED, T0 + 3 * HOUR, T0)
        sent, cancelled, *_ = await unit.reminders.due(T0 + 9 * HOUR)
        assert sent.conversation_id == talk.id
        await unit.reminders.mark_sent(sent.id, T0)
        await unit.reminders.cancel_conversation(talk.id, T0 + HOUR)
        left = await unit.reminders.pending_for_case(case.id)
        assert [(r.conversation_id, r.kind) for r in left] == [
            (other.id, ReminderKind.UNANSWERED),
            (None, ReminderKind.NOT_REPORTED),
        ]
        assert (await unit.reminders.get(sent.id)).cancelled_at is None  # type: ignore[union-attr]
        assert (await unit.reminders.get(cancelled.id)).cancelled_at == T0 + HOUR  # type: ignore[union-attr]


@covers(ReminderRepository.answer)
async def test_only_a_sent_reminder_is_answered_and_only_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        await unit.reminders.add(case.id, ReminderKind.STILL_UP, T0, T0)
        [reminder] = await unit.reminders.due(T0)
        up, removed = ReminderAnswer.STILL_UP, ReminderAnswer.REMOVED
        assert await unit.reminders.answer(reminder.id, removed, T0) is False  # not sent yet
        await unit.reminders.mark_sent(reminder.id, T0)
        assert await unit.reminders.answer(reminder.id, up, T0 + HOUR) is True
        assert await unit.reminders.answer(reminder.id, removed, T0 + 2 * HOUR) is False
        answered = await unit.reminders.get(reminder.id)
    assert answered is not None
    assert (answered.answer, answered.answered_at) == (ReminderAnswer.STILL_UP, T0 + HOUR)
    assert answered.answer is ReminderAnswer.STILL_UP


@covers(ReminderRepository.claim_digest)
async def test_a_digest_is_claimed_once_per_school_and_iso_week(store: Store) -> None:
    north, _ = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        assert await unit.reminders.claim_digest(north, 2026, 48, T0) is True
        assert await unit.reminders.claim_digest(north, 2026, 48, T0 + HOUR) is False
        assert await unit.reminders.claim_digest(south, 2026, 48, T0) is True
        assert await unit.reminders.claim_digest(north, 2026, 49, T0) is True
        assert await unit.reminders.claim_digest(north, 2027, 48, T0) is True
