"""The escalation reminder counts from the platform report, whatever the still-up checks say:
answering "still up" schedules the next check, and never puts escalation off."""

from __future__ import annotations

from datetime import timedelta

from handlers import messages
from handlers.events import PlaceKind
from storage.models import Platform, ReminderKind
from storage.store import Store
from tests.chat import Chat, button
from tests.test_reminders import TIKTOK, tick


async def test_answering_still_up_does_not_move_the_escalation_reminder(
    chat: Chat, database: Store
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    reported_at = chat.clock.now()
    async with database.reading() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        before = {r.kind: r.due_at for r in await unit.reminders.pending_for_case(case.id)}
    chat.clock.advance(hours=48)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    await chat.press(button([question], messages.STILL_UP), user="lena")
    async with database.reading() as unit:
        after = {r.kind: r.due_at for r in await unit.reminders.pending_for_case(case.id)}
    due = reported_at + timedelta(days=7)
    assert before[ReminderKind.ESCALATE] == after[ReminderKind.ESCALATE] == due
    chat.clock.moment = reported_at + timedelta(days=7)
    sent = [r.text for r in await tick(chat) if r.place.kind is PlaceKind.LEADS]
    assert messages.reminder_escalate(1, Platform.TIKTOK, 7, False) in sent
