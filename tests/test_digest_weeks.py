"""The weekly digest counts what happened in its own week: a post taken down the week before is
not "removed this week" again."""

from __future__ import annotations

from datetime import UTC

from handlers.settings import Config
from tests.chat import Chat
from tests.test_reminders import local, scheduler_tick


async def test_the_weekly_digest_does_not_count_a_removal_from_an_earlier_week(
    chat: Chat, config: Config
) -> None:
    chat.clock.moment = local(2026, 11, 18, 10, 0).astimezone(UTC)  # the week before
    await chat.say("https://x.com/u/status/5", user="sam")
    await chat.command("cases", "status 1 removed", user="lena")
    chat.clock.moment = local(2026, 11, 24, 10, 0).astimezone(UTC)  # this week
    await chat.say("https://instagram.com/p/Abc", user="jo")
    await chat.command("cases", "status 2 removed", user="lena")
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    await scheduler_tick(chat)
    [digest] = [
        r.text
        for r in chat.transport.sent
        if r.text.startswith("Casebook weekly summary for Northfield")
    ]
    [removed] = [line for line in digest.splitlines() if line.startswith("Removed this week")]
    assert removed == "Removed this week: Instagram 1, median 0.0 days to removal."
