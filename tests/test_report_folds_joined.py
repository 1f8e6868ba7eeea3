"""A fold whose reports all joined cases already logged tells the reporter, but gives the leads
no alert: no new case was made for them to look at."""

from __future__ import annotations

from bot.adapters.console_config import CONSOLE
from bot.scheduler import send_due_reminders
from handlers import messages
from handlers.events import Outgoing
from handlers.report_folds import FOLD_AFTER
from tests.chat import Chat, FakeClock

LEADS = "leads"  # the console's leads' place


def _link(n: int) -> str:
    return f"https://www.tiktok.com/@someone/video/{7301234567890000000 + n}"


async def _tick(chat: Chat) -> list[Outgoing]:
    before = len(chat.transport.sent)
    await send_due_reminders(chat.database, chat.config, chat.clock.now(), frozenset({CONSOLE}))
    await chat.delivery.flush()
    return chat.transport.sent[before:]


async def test_a_fold_of_reports_joining_known_cases_sends_the_leads_no_alert(
    chat: Chat, clock: FakeClock
) -> None:
    await chat.say(_link(0), user="sam")  # case #1, someone else's
    for n in range(1, FOLD_AFTER + 1):
        await chat.say(_link(n))  # alex's ten: #2 to #11
    assert await chat.say(_link(0)) == []  # folded: alex joins case #1
    clock.advance(seconds=61)
    sent = await _tick(chat)
    assert [m.text for m in sent if m.place.id == "alex"] == [messages.reports_folded([1])]
    assert [m.text for m in sent if m.place.id == LEADS] == []
