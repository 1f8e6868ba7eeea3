"""The weekly digest counts what happened in its own week: a post taken down the week before is
not "removed this week" again."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, time, timedelta

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.patches import Patch

from handlers import digest, messages
from handlers.settings import Config, DigestConfig
from tests.chat import Chat
from tests.test_reminders import TIKTOK, local, scheduler_tick


def _removed_line(chat: Chat) -> str:
    """The one "Removed this week" line of the one weekly summary sent to Northfield."""
    [digest] = [
        r.text
        for r in chat.transport.sent
        if r.text.startswith("Casebook weekly summary for Northfield")
    ]
    [removed] = [line for line in digest.splitlines() if line.startswith("Removed this week")]
    return removed


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
    removed = _removed_line(chat)
    assert removed == "Removed this week: Instagram 1, median 0.0 days to removal."


async def test_a_week_whose_only_news_is_a_removal_is_not_summed_up_as_empty(
    chat: Chat, config: Config
) -> None:
    chat.clock.moment = local(2026, 11, 18, 10, 0).astimezone(UTC)  # the week before
    await chat.say("https://x.com/u/status/5", user="sam")
    chat.clock.moment = local(2026, 11, 24, 10, 0).astimezone(UTC)  # this week
    await chat.command("cases", "status 1 removed", user="lena")
    await chat.command("cases", "close 1", user="lena")  # nothing new and nothing open
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    await scheduler_tick(chat)
    removed = _removed_line(chat)
    assert removed.startswith("Removed this week: X (Twitter) 1,")


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


# What a reader sees in the chart, read back from the figure before it is drawn to a picture.

CHART_START = datetime(2026, 9, 7, 0, 0, tzinfo=UTC)  # a Monday


def chart_of(*weeks: tuple[dict[str, int], int]) -> Axes:
    """The one set of axes of the chart of a digest whose weeks, from `CHART_START`, had these
    new cases by platform and these removals."""
    counts = [
        digest.WeekCounts(CHART_START + timedelta(days=7 * n), new, removed)
        for n, (new, removed) in enumerate(weeks)
    ]
    end = CHART_START + timedelta(days=7 * len(weeks))
    built = digest.Digest("Northfield Academy", CHART_START, end, {}, {}, {}, {}, 0, 0, counts)
    [axes] = digest.chart_figure(built).axes
    return axes


FOUR_WEEKS = (
    ({"tiktok": 2, "instagram": 1, "x": 1}, 1),
    ({"instagram": 3}, 0),
    ({"x": 2, "tiktok": 1}, 2),
    ({}, 1),
)


def test_the_chart_names_the_school_and_each_week_by_its_start_date_in_order() -> None:
    axes = chart_of(*FOUR_WEEKS)
    assert "Northfield Academy" in axes.get_title()
    assert axes.get_ylabel() == messages.CHART_CASES
    labels = axes.get_xticklabels()
    assert [label.get_text() for label in labels] == ["07 Sep", "14 Sep", "21 Sep", "28 Sep"]
    assert list(axes.get_xticks()) == [0, 1, 2, 3]
    # Slanted, so that thirty weeks' dates do not run into each other, and each ending under
    # its own week's tick.
    for label in labels:
        assert 0 < label.get_rotation() <= 90
        assert label.get_horizontalalignment() == "right"


def test_the_charts_bars_stack_each_platforms_cases_on_top_of_the_platforms_before() -> None:
    axes = chart_of(*FOUR_WEEKS)
    bars = {str(c.get_label()): list(c) for c in axes.containers}
    assert {name: [p.get_height() for p in b] for name, b in bars.items()} == {
        "TikTok": [2, 0, 1, 0],
        "Instagram": [1, 3, 0, 0],
        "X (Twitter)": [1, 0, 2, 0],
    }
    below = [0.0] * 4
    for platform in bars.values():
        assert [p.get_x() + p.get_width() / 2 for p in platform] == [0, 1, 2, 3]
        assert [p.get_y() for p in platform] == below
        below = [b + p.get_height() for b, p in zip(below, platform, strict=True)]
    assert below == [4, 3, 3, 0]  # each week's stack is as tall as its new cases


def test_the_charts_legend_names_each_platform_with_cases_once_and_the_removals() -> None:
    axes = chart_of(*FOUR_WEEKS)
    legend = axes.get_legend()
    assert legend is not None
    names = [text.get_text() for text in legend.get_texts()]
    assert sorted(names) == sorted(["TikTok", "Instagram", "X (Twitter)", messages.CHART_REMOVED])
    # Each entry shows its own bars' or line's colour.
    colours = {str(c.get_label()): c.patches[0].get_facecolor() for c in axes.containers}
    [line] = axes.get_lines()
    colours[messages.CHART_REMOVED] = to_rgba(line.get_color())
    for name, handle in zip(names, legend.legend_handles, strict=True):
        assert handle is not None
        shown = handle.get_facecolor() if isinstance(handle, Patch) else handle.get_color()
        assert to_rgba(shown) == colours[name], name


def test_the_removal_line_marks_each_weeks_removals_in_a_colour_no_bar_has() -> None:
    axes = chart_of(*FOUR_WEEKS)
    [line] = axes.get_lines()
    assert list(line.get_xdata()) == [0, 1, 2, 3]
    assert list(line.get_ydata()) == [1, 0, 2, 1]
    bar_colours = {c.patches[0].get_facecolor() for c in axes.containers}
    assert to_rgba(line.get_color()) not in bar_colours


def test_a_chart_of_one_week_and_one_case_counts_in_whole_cases_and_shows_its_removal() -> None:
    axes = chart_of(({"tiktok": 1}, 1))  # the first week of term
    ticks = [float(tick) for tick in axes.get_yticks()]
    assert ticks and all(tick.is_integer() for tick in ticks)
    # A line through one point draws nothing: the week's removal shows only as a marker.
    [line] = axes.get_lines()
    assert line.get_marker() not in (None, "", " ", "None", "none")
    assert list(line.get_ydata()) == [1]
