"""The weekly digest counts what happened in its own week: a post taken down the week before is
not "removed this week" again."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, time, timedelta

from handlers import digest
from handlers.settings import Config, DigestConfig
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


async def test_a_case_at_either_edge_of_the_week_counts_in_one_week_only(
    chat: Chat, config: Config
) -> None:
    end = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 30 November 08:00 GMT
    start = end - timedelta(days=7)

    async def at(moment: datetime, *lines: tuple[str, str]) -> None:
        chat.clock.moment = moment
        for user, line in lines:
            if line.startswith("/"):
                await chat.command("cases", line[1:], user=user)
            else:
                await chat.say(line, user=user)

    await at(start - timedelta(days=7), ("u1", "https://x.com/u/status/1"))  # 1
    await at(start - timedelta(days=3), ("u2", "https://youtu.be/two"))  # 2
    await at(start - timedelta(minutes=1), ("lena", "/status 1 reported"))  # waiting 7 days 1 min
    await at(
        start,
        ("u3", "https://www.tiktok.com/@a/video/3"),  # 3: created as last week ended
        ("lena", "/status 3 reported"),  # waiting exactly 7 days: not over 7
        ("lena", "/status 2 removed"),  # last week's removal
    )
    await at(
        start + timedelta(days=1),
        ("u4", "https://www.instagram.com/p/Four"),
        ("u5", "https://www.instagram.com/p/Five"),
        ("lena", "/status 4 reported"),
        ("lena", "/status 5 reported"),
    )
    await at(start + timedelta(days=2), ("lena", "/status 4 removed"))  # a day after its report
    await at(start + timedelta(days=3), ("u6", "https://youtu.be/six"))
    await at(start + timedelta(days=4), ("lena", "/status 5 removed"))  # three days after
    await at(
        end,
        ("lena", "/status 6 removed"),  # as this week ends; removal counts as its report too
        ("u7", "https://www.tiktok.com/@a/video/7"),  # 7: created as this week ends
        ("lena", "/assign 1 @lena"),
    )
    chat.clock.moment = end + timedelta(days=1)
    async with chat.database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, config.schools[0], end)
    assert built.new_by_platform == {"tiktok": 1, "instagram": 2, "youtube": 1}
    assert list(built.new_by_platform) == ["tiktok", "instagram", "youtube"]
    assert built.removed_by_platform == {"instagram": (2, 2.0), "youtube": (1, 0.0)}
    assert built.open_by_age == {"under a week": 1, "1 to 4 weeks": 2}
    assert (built.waiting_over_7_days, built.unassigned) == (1, 2)
    last = built.weeks[-1]  # the chart's week from Tuesday 24 November
    assert (last.new_by_platform, last.removed) == ({"instagram": 2, "youtube": 1, "tiktok": 1}, 3)
    shown = digest.text(built, config.schools[0])
    assert (
        "Removed this week: Instagram 2, median 2.0 days to removal; YouTube 1, median 0.0" in shown
    )
    assert "Waiting on the platform for more than 7 days: 1.\nOpen and unassigned: 2." in shown


async def test_a_week_with_reports_but_no_removals_or_only_open_cases_is_not_empty(
    chat: Chat, config: Config
) -> None:
    await chat.say(TIKTOK)  # Monday 23 November, 09:00
    school = config.schools[0]
    for end, new in ((local(2026, 11, 30, 8, 0), 1), (local(2026, 12, 7, 8, 0), 0)):
        async with chat.database.reading() as unit:
            found = await unit.schools.by_name("Northfield")
            assert found is not None
            shown = digest.text(
                await digest.build(unit, found, school, end.astimezone(UTC)), school
            )
        assert f"New cases: {new}" in shown and "Open cases: 1 (age: " in shown


def test_the_digest_moment_is_the_configured_weekday_and_time_on_the_schools_clock(
    config: Config,
) -> None:
    wednesdays = dataclasses.replace(config, digest=DigestConfig(day=2, time=time(8, 0)))
    auckland = dataclasses.replace(config.schools[0], timezone="Pacific/Auckland")
    wednesday = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # Wednesday 2 December 08:00 NZDT
    for now in (
        datetime(2026, 11, 29, 12, 0, tzinfo=UTC),  # Monday 30 November 01:00 in Auckland
        datetime(2026, 12, 3, 0, 0, tzinfo=UTC),  # Thursday 3 December 13:00 in Auckland
    ):
        assert digest.digest_time(now, auckland, wednesdays) == wednesday
        assert digest.week_key(now, auckland) == (2026, 49)
    assert digest.week_before(wednesday, auckland) == wednesday - timedelta(days=7)


async def test_a_digest_ending_as_the_term_starts_has_no_weeks_to_chart(
    chat: Chat, config: Config
) -> None:
    async with chat.database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        term = local(2026, 9, 1, 0, 0).astimezone(UTC)
        assert (await digest.build(unit, school, config.schools[0], term)).weeks == []


async def test_the_chart_draws_a_bar_for_the_weeks_reports_and_none_for_platforms_without(
    chat: Chat, config: Config
) -> None:
    from matplotlib.image import imread

    await chat.say(TIKTOK)  # Monday 23 November: the only report of the term
    async with chat.database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        end = local(2026, 11, 30, 8, 0).astimezone(UTC)
        built = await digest.build(unit, school, config.schools[0], end)
    rgb = (imread(io.BytesIO(digest.chart_png(built)))[:, :, :3] * 255).round()

    def drawn(colour: tuple[int, int, int]) -> bool:
        return bool((rgb == colour).all(axis=-1).any())

    # The colours of the first and second bar series: TikTok's bar, and no other platform's.
    assert drawn((31, 119, 180)) and not drawn((255, 127, 14))
