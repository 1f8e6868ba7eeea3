"""What the chat says means what it does: usage, pages, assignment, times, links and figures."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import app
from bot.adapters.console_config import CONSOLE, console_places
from bot.router import Router
from handlers import digest, messages, stats
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config, SchoolConfig, StorageConfig
from storage.db import Database
from storage.models import Platform, Status
from tests.chat import Chat, FakeClock, button, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
INSTA = "https://instagram.com/p/Abc"
X_POST = "https://x.com/someone/status/5"


async def test_lead_in_the_terminal_without_console_leads_says_how_to_configure(
    tmp_path: Path,
) -> None:
    config = Config(
        schools=(SchoolConfig(name="Hillside"),), storage=StorageConfig(tmp_path / "c.db")
    )
    out = io.StringIO()
    await app.run_console(config, io.BytesIO(b"/lead\n/cases\n"), out, FakeClock())
    shown = out.getvalue()
    assert messages.console_no_leads("Hillside") in shown
    assert "console_leads" in messages.console_no_leads("Hillside")
    assert "You are now" not in shown and messages.NOT_A_LEAD in shown


@pytest.mark.parametrize(
    ("command", "usage"),
    [("status 1", "status"), ("merge 2", "merge"), ("merge", "merge"), ("status", "status")],
)
async def test_a_command_missing_its_arguments_shows_its_own_usage(
    chat: Chat, command: str, usage: str
) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    replies = await chat.command("cases", command, user="lena")
    assert texts(replies) == messages.LEAD_USAGE[usage]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "3"])
async def test_a_page_that_does_not_exist_says_which_do(chat: Chat, page: str) -> None:
    for n in range(12):
        await chat.say(f"https://x.com/someone/status/{n + 1}")
    replies = await chat.command("cases", f"page {page}", user="lena")
    assert texts(replies) == f"Northfield: {messages.pages_exist(2)}"
    assert "Pages 1 to 2" in messages.pages_exist(2)
    listed = await chat.command("cases", "page 2", user="lena")
    assert texts(listed).startswith(messages.cases_header("Northfield", 2, 12, 2, 2))


def _two_leads(config: Config) -> Config:
    north = dataclasses.replace(
        config.schools[0], places={CONSOLE: console_places(("lena", "lou"))}
    )
    return dataclasses.replace(config, schools=(north, *config.schools[1:]))


async def test_a_lead_assigns_to_themselves_and_to_another_lead_not_yet_seen(
    database: Database, config: Config, clock: FakeClock
) -> None:
    chat = Chat(database, _two_leads(config), clock)
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    mine = await chat.command("cases", "assign 1 me", user="lena")
    # One line to the lead, about themselves: not "a safeguarding lead has assigned" it to them.
    assert texts(mine) == messages.assigned_to_yourself(1)
    assert "safeguarding lead" not in texts(mine).lower()
    theirs = await chat.command("cases", "assign 2 @lou", user="lena")
    assert messages.assigned(2, "lou") in texts(theirs)
    assert any(r.place.id == "lou" for r in theirs)  # told privately
    # Someone who leads another school is still nobody here.
    other = await chat.command("cases", "assign 2 sol", user="lena")
    assert texts(other) == messages.no_such_person("sol")


async def test_removed_says_the_platform_took_the_post_down(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    replies = await chat.command("cases", "status 1 removed", user="lena")
    assert "the platform has taken the post down" in texts(replies)


async def test_a_merged_case_timeline_labels_what_came_from_the_other_case(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA, user="sam")
    await chat.command("cases", "note 2 called Instagram", user="lena")
    await chat.command("cases", "merge 1 2", user="lena")
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    timeline = shown.split(messages.TIMELINE)[1].splitlines()
    from_two = [line for line in timeline if "from #2: " in line]
    assert any("from #2: case logged" in line for line in from_two)
    assert not any("from #" in line for line in timeline if "case #2 merged in" in line)


@pytest.mark.parametrize("link", ["ftp://files.example.com/clip.mp4", "gopher://old.example/1"])
async def test_non_web_links_get_the_could_not_use_notice(chat: Chat, link: str) -> None:
    replies = await chat.say(f"this one {link} about Mr Khan")
    assert messages.IGNORED_LINKS in texts(replies)


async def test_a_plain_message_gets_no_notice(chat: Chat) -> None:
    replies = await chat.say("she said https://x.com/a/status/1 was posted at 10:30")
    assert messages.IGNORED_LINKS not in texts(replies)


async def test_times_in_chat_carry_the_schools_zone(
    database: Database, config: Config, clock: FakeClock
) -> None:
    york = dataclasses.replace(config.schools[0], timezone="America/New_York")
    chat = Chat(database, dataclasses.replace(config, schools=(york, *config.schools[1:])), clock)
    clock.moment = datetime(2026, 11, 23, 12, 42, tzinfo=UTC)
    await chat.say(TIKTOK)
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "Logged: 23 Nov 2026 07:42 EST" in shown


def test_stats_table_names_platforms_as_the_chat_does() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    row = stats.PlatformStats("x", 1, 0, 0, None, None, 0)
    table = stats.to_table([row, dataclasses.replace(row, platform="all")])
    assert table.splitlines()[1].startswith(messages.PLATFORM_NAMES[Platform.X] + "  ")
    assert now  # the table needs no clock


async def test_open_means_the_same_in_cases_the_digest_and_stats(
    chat: Chat, database: Database, config: Config
) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    await chat.say(X_POST)
    await chat.command("cases", "status 2 removed", user="lena")
    await chat.command("cases", "close 3", user="lena")
    listed = texts(await chat.command("cases", "", user="lena"))
    assert listed.startswith(messages.cases_header("Northfield", 1, 1, 1, 1))
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, config.schools[0], chat.clock.now())
        cases = await unit.cases.listing(school_id=school.id)
    assert built.open_total == 1
    assert [c.number for c in cases if c.status.is_open] == [1]
    assert Status.REMOVED.is_open is False and Status.REPORTED.is_open


async def test_duplicates_count_the_same_in_the_digest_and_stats(
    chat: Chat, database: Database, config: Config
) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    await chat.say(X_POST)
    await chat.command("cases", "merge 1 2", user="lena")
    await chat.command("cases", "close 3 not-abuse", user="lena")
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, config.schools[0], chat.clock.now())
        timings = await unit.cases.timings(school_id=school.id)
    [*_, total] = stats.platform_stats(timings, chat.clock.now())
    assert built.new_total == total.cases == 1


async def test_the_digest_covers_exactly_seven_days_of_the_schools_clock_and_says_which(
    chat: Chat, database: Database, config: Config
) -> None:
    # UK clocks went back on Sunday 25 October 2026. The digest of Monday 26 October 08:00 GMT
    # starts at Monday 19 October 08:00 BST (07:00 UTC), where the previous one ended.
    chat.clock.moment = datetime(2026, 10, 19, 7, 30, tzinfo=UTC)
    await chat.say(TIKTOK)
    end = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, config.schools[0], end)
    assert built.start == datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
    assert built.new_total == 1
    shown = digest.text(built, config.schools[0])
    assert "the 7 days from Mon 19 Oct 08:00 BST to Mon 26 Oct 2026 08:00 GMT" in shown


def _demo(tmp_path: Path) -> Config:
    return Config(
        schools=(
            SchoolConfig(name="Demo School", places={CONSOLE: console_places(("demo-lead",))}),
        ),
        storage=StorageConfig(tmp_path / "demo.db"),
    )


async def test_after_a_restart_the_terminal_asks_the_waiting_question_again(
    tmp_path: Path,
) -> None:
    config = _demo(tmp_path)
    await app.run_console(config, io.BytesIO(f"{TIKTOK}\n".encode()), io.StringIO(), FakeClock())
    out = io.StringIO()
    await app.run_console(config, io.BytesIO(b""), out, FakeClock())
    shown = out.getvalue()
    assert messages.question_resumed(1) in shown
    assert shown.count(messages.Q_TARGETS) == 1


async def test_a_report_stored_before_a_crash_is_handled_at_start_and_asked_once(
    tmp_path: Path,
) -> None:
    config = _demo(tmp_path)
    database = await Database.open(config.storage.database)
    try:
        await app.sync_schools(database, config)
        router = Router(database, config, FakeClock(), frozenset({CONSOLE}))
        user = User(CONSOLE, "demo-staff", "demo-staff")
        place = Place(CONSOLE, "staff-room", PlaceKind.CHANNEL)
        stored = Incoming(IncomingKind.MESSAGE, place, user, text=TIKTOK, school="Demo School")
        assert await router.receive(stored, "console", "crashed-1")
    finally:
        await database.close()
    out = io.StringIO()
    await app.run_console(config, io.BytesIO(b""), out, FakeClock())
    shown = out.getvalue()
    assert messages.case_logged(1, Platform.TIKTOK) in shown
    assert shown.count(messages.Q_TARGETS) == 1


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("show", "/cases show 14"),
        ("note 1", "/cases note 14 "),
        ("assign 1", "/cases assign 14 @sam"),
        ("status 1", "/cases status 14 reported"),
        ("merge 1", "/cases merge 14 15"),
        ("hold 1", "/cases hold 14 "),
    ],
)
async def test_a_lead_commands_usage_example_is_the_whole_command(
    chat: Chat, command: str, example: str
) -> None:
    await chat.say(TIKTOK)
    replies = await chat.command("cases", command, user="lena")
    said = texts(replies)
    assert f"for example: {example}" in said, said


async def test_my_cases_shows_a_withdrawn_case_as_withdrawn_not_closed(chat: Chat) -> None:
    first = await chat.say(TIKTOK)
    await chat.press(button(first, messages.NOT_A_REPORT))
    await chat.say(INSTA)
    listed = texts(await chat.command("mycases"))
    [withdrawn] = [line for line in listed.splitlines() if line.startswith("#1 ")]
    assert "· withdrawn ·" in withdrawn and "closed" not in withdrawn
    [kept] = [line for line in listed.splitlines() if line.startswith("#2 ")]
    assert "withdrawn" not in kept


@pytest.mark.parametrize(
    ("records", "files", "cases", "said"),
    [
        (1, 1, 1, "read 1 record from 1 file, 1 distinct case"),
        (30, 2, 29, "read 30 records from 2 files, 29 distinct cases"),
    ],
)
def test_evidence_counts_what_it_read_in_the_singular_for_one(
    records: int, files: int, cases: int, said: str
) -> None:
    assert messages.cli_evidence_read_exports(records, files, cases) == said
