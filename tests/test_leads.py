"""Lead commands through the real router: every command, every refusal, and no cross-school leak."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta

import pytest

from bot.adapters.console_config import CONSOLE, console_places
from handlers import messages
from handlers.settings import Config
from storage.db import Database
from storage.models import Platform, Status
from tests.chat import Chat, FakeClock, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
INSTA = "https://instagram.com/p/Abc"


async def _report(chat: Chat, link: str, user: str = "alex", school: str = "Northfield") -> None:
    await chat.say(link, user=user, school=school)


async def _case(database: Database, school: str, number: int):  # type: ignore[no-untyped-def]
    async with database.transaction() as unit:
        found = await unit.schools.by_name(school)
        assert found is not None
        return await unit.cases.by_number(found.id, number)


@pytest.mark.sqlite_only
async def test_a_non_lead_is_refused_politely_and_audited(chat: Chat, database: Database) -> None:
    await _report(chat, TIKTOK)
    for command in ("", "show 1", "close 1", "export"):
        replies = await chat.command("cases", command, user="alex")
        assert texts(replies) == messages.NOT_A_LEAD
        assert all(r.private and r.to_user and r.to_user.id == "alex" for r in replies)
    case = await _case(database, "Northfield", 1)
    assert case.status is Status.NEW
    async with database.transaction() as unit:
        raw = await unit.audit.for_cases([case.id])
    assert [e.action for e in raw] == ["created"]
    with sqlite3.connect(database.path) as db:
        refused = db.execute("SELECT count(*) FROM audit WHERE action = 'refused'").fetchone()[0]
    assert refused == 4


async def test_list_shows_open_cases_urgent_first_then_newest(chat: Chat) -> None:
    await _report(chat, TIKTOK)
    chat.clock.advance(hours=3)
    await _report(chat, INSTA, user="sam")
    chat.clock.advance(hours=1)
    await chat.say("1", user="alex")  # targets
    await chat.say("7", user="alex")  # threat: case 1 urgent
    replies = await chat.command("cases", "", user="lena")
    lines = texts(replies).splitlines()
    assert lines[0] == messages.cases_header("Northfield", 2, 2, 1, 1)
    assert lines[1].startswith(
        "#1 URGENT · TikTok · Threat of violence · 4h old · new · unassigned"
    )
    assert lines[2].startswith("#2 · Instagram · kind not given · 1h old · new")


async def test_list_pages_ten_at_a_time(chat: Chat) -> None:
    for n in range(23):
        await _report(chat, f"https://x.com/u/status/{n}", user=f"user{n}")
        chat.clock.advance(minutes=1)
    first = texts(await chat.command("cases", "", user="lena"))
    assert "page 1 of 3" in first and "#14 " in first and "#13 " not in first
    assert messages.more_cases(2) in first
    third = texts(await chat.command("cases", "page 3", user="lena"))
    assert "#1 " in third and "#3 " in third and "#4 " not in third


async def test_the_acceptance_flow_gives_a_six_entry_timeline(
    chat: Chat, database: Database
) -> None:
    await _report(chat, TIKTOK, user="demo-staff")
    for answer in ("2", "1", "done", "neither", "no", "3"):
        await chat.say(answer, user="demo-staff")
    steps = [
        ("assign 1 @demo-staff", messages.assigned(1, "demo-staff")),
        ("status 1 reported", messages.status_set(1, Status.REPORTED)),
        ("status 1 removed", messages.status_set(1, Status.REMOVED)),
        ("close 1 resolved", messages.closed(1, "resolved")),
    ]
    for command, expected in steps:
        chat.clock.advance(hours=6)
        replies = await chat.command("cases", command, user="lena")
        assert replies[0].text == expected
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    timeline = shown.split(messages.TIMELINE)[1].strip().splitlines()
    assert len(timeline) == 6
    assert [line.split(" · ")[-1] for line in timeline] == [
        "case logged",
        "status new → open",
        "assigned to demo-staff",
        "status open → reported",
        "status reported → removed",
        "closed (resolved)",
    ]
    case = await _case(database, "Northfield", 1)
    assert case.status is Status.CLOSED and case.close_reason == "resolved"
    assert (case.removed_at - case.reported_to_platform_at).total_seconds() == 6 * 3600


async def test_assign_tells_the_assignee_privately(chat: Chat) -> None:
    await _report(chat, TIKTOK)
    await chat.say("hello", user="sam")  # sam is now known staff of Northfield
    replies = await chat.command("cases", "assign 1 @Sam", user="lena")
    told = [r for r in replies if r.place.id == "sam"]
    assert told and told[0].text == messages.you_were_assigned(1, "Northfield", Platform.TIKTOK)
    assert texts(
        await chat.command("cases", "assign 1 @nobody", user="lena")
    ) == messages.no_such_person("@nobody")
    assert (
        texts(await chat.command("cases", "assign 1", user="lena")) == messages.ASSIGN_NEEDS_PERSON
    )


async def test_staff_of_another_school_cannot_be_assigned(chat: Chat) -> None:
    await _report(chat, TIKTOK)
    await _report(chat, INSTA, user="tom", school="Southgate")
    replies = await chat.command("cases", "assign 1 @tom", user="lena")
    assert texts(replies) == messages.no_such_person("@tom")


async def test_note_status_close_reopen_and_bad_arguments(chat: Chat, database: Database) -> None:
    await _report(chat, TIKTOK)
    assert texts(
        await chat.command("cases", "note 1 rang POSH <b>today</b>", user="lena")
    ) == messages.note_added(1)
    assert texts(await chat.command("cases", "note 1", user="lena")) == messages.NOTE_NEEDS_TEXT
    assert texts(
        await chat.command("cases", "status 1 vanished", user="lena")
    ) == messages.bad_status("vanished")
    assert texts(
        await chat.command("cases", "status 1 escalated", user="lena")
    ) == messages.status_set(1, Status.ESCALATED)
    assert texts(
        await chat.command("cases", "status 1 escalated", user="lena")
    ) == messages.status_unchanged(1, Status.ESCALATED)
    assert texts(
        await chat.command("cases", "close 1 bored", user="lena")
    ) == messages.bad_close_reason("bored")
    closing = await chat.command("cases", "close #1 not-abuse", user="lena")
    assert [r.text for r in closing] == [  # alex was still being asked about it
        messages.closed(1, "not-abuse"),
        messages.questions_ended(1, None),
    ]
    assert texts(
        await chat.command("cases", "status 1 removed", user="lena")
    ) == messages.case_closed_already(1)
    assert texts(await chat.command("cases", "reopen 1", user="lena")) == messages.reopened(1)
    assert texts(await chat.command("cases", "reopen 1", user="lena")) == messages.case_not_closed(
        1
    )
    assert (
        texts(await chat.command("cases", "show one", user="lena")) == messages.CASE_NUMBER_NEEDED
    )
    assert (
        texts(await chat.command("cases", 'note 1 "unclosed', user="lena")) == messages.BAD_QUOTES
    )
    assert texts(
        await chat.command("cases", "dance", user="lena")
    ) == messages.unknown_lead_command("dance")
    shown = texts(await chat.command("cases", "1", user="lena"))
    assert "rang POSH <b>today</b>" in shown  # stored and shown as written; adapters escape markup
    assert (await _case(database, "Northfield", 1)).status is Status.OPEN


async def test_a_case_marked_reported_again_keeps_when_it_was_first_reported(
    chat: Chat, database: Database
) -> None:
    await _report(chat, TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    first = chat.clock.now()
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 escalated", user="lena")
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 removed", user="lena")
    case = await _case(database, "Northfield", 1)
    # Time to removal counts from the first report to the platform, not the last status change.
    assert case.reported_to_platform_at == first
    assert case.removed_at - case.reported_to_platform_at == timedelta(days=3)


async def test_a_case_marked_removed_again_keeps_when_it_was_first_removed(
    chat: Chat, database: Database
) -> None:
    await _report(chat, TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 removed", user="lena")
    first = chat.clock.now()
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 open", user="lena")
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 removed", user="lena")
    case = await _case(database, "Northfield", 1)
    assert case.removed_at == first
    assert case.removed_at - case.reported_to_platform_at == timedelta(days=1)


async def test_merge_moves_reporters_links_and_notes_and_closes_the_duplicate(
    chat: Chat, database: Database
) -> None:
    await _report(chat, TIKTOK, user="alex")
    await _report(chat, "https://vm.tiktok.com/ZMshort/", user="sam")
    await chat.command("cases", "note 2 same video, short link", user="lena")
    merging = await chat.command("cases", "merge 1 2", user="lena")
    assert merging[0].text == messages.merged(1, 2)
    assert [r.text for r in merging[1:]] == [messages.questions_ended(2, 1)]  # sam was being asked
    assert texts(
        await chat.command("cases", "merge 1 2", user="lena")
    ) == messages.case_closed_already(2)
    merged = await _case(database, "Northfield", 2)
    assert merged.status is Status.CLOSED and merged.close_reason == "duplicate"
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "Reporters: 2" in shown and "vm.tiktok.com/ZMshort" in shown
    assert "same video, short link" in shown and "case #2 merged in" in shown
    # The short link now finds case 1 for a third reporter.
    replies = await chat.say("https://vm.tiktok.com/ZMshort", user="kim")
    assert texts(replies) == messages.already_logged(1)


async def test_merge_into_itself_is_refused(chat: Chat) -> None:
    await _report(chat, TIKTOK)
    assert texts(await chat.command("cases", "merge 1 1", user="lena")) == messages.MERGE_SAME_CASE


@pytest.mark.parametrize(
    "command",
    [
        "show {n}",
        "assign {n} @alex",
        "status {n} removed",
        "note {n} hi",
        "close {n}",
        "reopen {n}",
        "merge 1 {n}",
        "merge {n} 1",
    ],
)
async def test_a_lead_cannot_reach_another_schools_case(
    chat: Chat, database: Database, command: str
) -> None:
    await _report(chat, TIKTOK, user="alex", school="Northfield")
    await _report(chat, INSTA, user="bea", school="Northfield")
    await _report(chat, "https://x.com/u/status/5", user="tom", school="Southgate")
    # Southgate has only case #1; #2 exists only in Northfield, #77 nowhere.
    other_school = texts(await chat.command("cases", command.format(n=2), user="sol"))
    nowhere = texts(await chat.command("cases", command.format(n=77), user="sol"))
    assert other_school == nowhere.replace("77", "2")
    assert "Northfield" not in other_school and "Instagram" not in other_school
    north = await _case(database, "Northfield", 2)
    assert north.status is Status.NEW and north.assignee_id is None
    async with database.transaction() as unit:
        assert await unit.notes.for_cases([north.id]) == []


async def test_a_lead_of_two_schools_sees_both_labelled_and_must_choose(
    database: Database, config: Config, clock: FakeClock
) -> None:
    both = dataclasses.replace(
        config,
        schools=tuple(
            dataclasses.replace(s, places={CONSOLE: console_places((*s.on(CONSOLE).leads, "max"))})
            for s in config.schools
        ),
    )
    chat = Chat(database, both, clock)
    await _report(chat, TIKTOK, school="Northfield")
    await _report(chat, INSTA, user="tom", school="Southgate")
    listing = texts(await chat.command("cases", "", user="max"))
    assert "Open cases of Northfield" in listing and "Open cases of Southgate" in listing
    assert texts(await chat.command("cases", "show 1", user="max")) == messages.which_school(
        ["Northfield", "Southgate"]
    )
    shown = texts(await chat.command("cases", "--school southgate show 1", user="max"))
    assert "Southgate" in shown and "Instagram" in shown
    refused = texts(await chat.command("cases", "--school Eastfield show 1", user="lena"))
    assert refused == messages.not_your_school("Eastfield")


async def test_export_sends_the_lead_a_csv_of_their_school_only(chat: Chat) -> None:
    await _report(chat, TIKTOK, school="Northfield")
    await _report(chat, INSTA, user="tom", school="Southgate")
    [reply] = await chat.command("cases", "export", user="lena")
    assert reply.private and reply.to_user is not None and reply.to_user.id == "lena"
    assert reply.attachment is not None and reply.attachment.name.endswith(".csv")
    content = reply.attachment.data.decode("utf-8-sig")
    rows = content.strip().splitlines()
    assert len(rows) == 2 and "Northfield" in rows[1] and "Southgate" not in content


async def test_summary_counts_this_term(chat: Chat) -> None:
    await _report(chat, TIKTOK)
    await _report(chat, INSTA, user="sam")
    await chat.command("cases", "close 2 duplicate", user="lena")
    summary = texts(await chat.command("cases", "summary", user="lena"))
    assert summary.startswith("Northfield: 2 cases since 01 Sep 2026.")
    assert "new 1" in summary and "closed 1" in summary and "TikTok 1" in summary


async def test_help_lists_the_commands(chat: Chat) -> None:
    assert texts(await chat.command("cases", "help", user="lena")) == messages.LEAD_HELP


async def test_help_tells_a_lead_where_the_lead_commands_are_and_staff_not(chat: Chat) -> None:
    assert messages.HELP_FOR_LEADS in texts(await chat.command("help", "", user="lena"))
    assert messages.HELP_FOR_LEADS not in texts(await chat.command("help", "", user="sam"))
