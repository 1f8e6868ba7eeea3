"""When staff are told to go to the police: a threat of violence, or hate (which can be a crime).

The guidance at the end of the questions and the escalation reminder ask the same rule.
"""

from __future__ import annotations

import pytest

from bot.adapters.console_config import CONSOLE
from bot.scheduler import send_due_reminders
from handlers import messages
from storage.models import Category, EscalationRoute, Platform, police_matter
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
FOR_THE_POLICE = {
    Category.THREAT,
    Category.HATE_HOMOPHOBIC,
    Category.HATE_TRANSPHOBIC,
    Category.HATE_RACIST,
    Category.HATE_SEXIST,
    Category.HATE_DISABILITY,
}


@pytest.mark.parametrize("category", list(Category))
def test_threats_and_hate_are_for_the_police_and_nothing_else(category: Category) -> None:
    assert police_matter({category}) is (category in FOR_THE_POLICE)


def test_one_police_category_among_others_is_enough_and_none_is_not() -> None:
    assert police_matter([Category.HARASSMENT, Category.HATE_SEXIST, Category.OTHER])
    assert not police_matter([Category.HARASSMENT, Category.DOXXING, Category.SEXUALISED_IMAGE])
    assert not police_matter([])


async def _report(chat: Chat, kind: str) -> str:
    """A TikTok report answered in full, already reported to the platform; the last replies."""
    await chat.say(TIKTOK)
    replies = []
    for answer in ("1", kind, "done", "neither", "yes", "3"):
        replies = await chat.say(answer)
    return texts(replies)


async def _escalation(chat: Chat) -> list[str]:
    """The escalation reminders sent a week after the platform report (a still-up check due
    meanwhile goes out in the same round)."""
    chat.clock.advance(days=7)
    before = len(chat.transport.sent)
    await send_due_reminders(chat.database, chat.config, chat.clock.now(), frozenset({CONSOLE}))
    await chat.delivery.flush()
    sent = chat.transport.sent[before:]
    return [
        r.text
        for r in sent
        if r.buttons and r.buttons[0].label == messages.ESCALATED_BUTTONS[EscalationRoute.POSH]
    ]


@pytest.mark.parametrize(("kind", "police"), [("2", True), ("7", True), ("1", False)])
async def test_guidance_and_escalation_name_the_police_for_threats_and_hate_only(
    chat: Chat, kind: str, police: bool
) -> None:
    guidance = await _report(chat, kind)  # 1 harassment, 2 homophobic hate, 7 threat
    assert (messages.POLICE in guidance) is police
    escalation = await _escalation(chat)
    assert escalation == [messages.reminder_escalate(1, Platform.TIKTOK, 7, police)]
