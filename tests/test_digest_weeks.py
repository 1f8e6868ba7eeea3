"""The weekly digest counts what happened in its own week: a post taken down the week before is
not "removed this week" again."""

from __future__ import annotations

from datetime import UTC, timedelta

from handlers import digest
from handlers.settings import Config
from tests.chat import Chat
from tests.test_reminders import TIKTOK, local, scheduler_tick


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


async def test_the_charts_weeks_count_each_report_and_removal_in_its_own_week(
    chat: Chat, config: Config
) -> None:
    term = local(2026, 9, 1, 0, 0)  # the autumn term's first moment, where the chart starts
    end = local(2026, 11, 30, 8, 0).astimezone(UTC)  # the digest of Monday 30 November
    chat.clock.moment = term.astimezone(UTC)
    await chat.say("https://x.com/u/status/1", user="sam")  # at the term's start: before week 1
    chat.clock.moment = (term + timedelta(days=7)).astimezone(UTC)
    await chat.say(TIKTOK, user="jo")  # the last moment of week 1
    chat.clock.advance(days=14)
    await chat.command("cases", "status 2 removed", user="lena")  # week 3
    chat.clock.moment = end - timedelta(days=7)
    await chat.say("https://instagram.com/p/Old", user="kim")  # exactly a week old at the end
    chat.clock.moment = end - timedelta(hours=1)
    await chat.say("https://instagram.com/p/New", user="al")
    chat.clock.moment = end + timedelta(hours=1)
    await chat.command("cases", "status 4 removed", user="lena")  # after this digest's end
    async with chat.database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, config.schools[0], end)
    starts = [term + timedelta(days=7 * n) for n in range(13)]
    assert [w.start for w in built.weeks] == starts
    new = {n: w.new_by_platform for n, w in enumerate(built.weeks) if w.new_by_platform}
    assert new == {0: {"tiktok": 1}, 11: {"instagram": 1}, 12: {"instagram": 1}}
    assert {n: w.removed for n, w in enumerate(built.weeks) if w.removed} == {2: 1}
    assert built.open_by_age == {"1 to 4 weeks": 1, "over 4 weeks": 1}
