"""The escalation ladder and the weekly digest, driven by a fake clock over a real database."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.console_config import CONSOLE, console_places
from bot.app import sync_schools
from bot.scheduler import Scheduler, send_due_reminders, send_weekly_digest
from handlers import messages, reminders
from handlers.events import Button, Incoming, IncomingKind, Outgoing, PlaceKind, Transport, User
from handlers.reminders import in_working_hours
from handlers.settings import Config, FollowUp, RemindersConfig
from storage.db import Database
from storage.models import (
    AuditAction,
    AuditEntry,
    Case,
    EscalationRoute,
    Platform,
    ReminderAnswer,
    ReminderKind,
    Status,
)
from tests.chat import STAFF_ROOM, Chat, FakeClock, button, texts

LONDON = ZoneInfo("Europe/London")
HOURS = RemindersConfig()
TIKTOK = "https://www.tiktok.com/@someone/video/1"
CONSOLE_TRANSPORT = CONSOLE
CONSOLE = frozenset({CONSOLE})
TO_POSH = messages.ESCALATED_BUTTONS[EscalationRoute.POSH]


def scheduler(chat: Chat) -> Scheduler:
    return Scheduler(chat.database, chat.config, chat.clock, CONSOLE, wake=lambda: None)


async def tick(chat: Chat) -> list[Outgoing]:
    """One reminder round at the clock's time, then whatever it queued, as delivered."""
    before = len(chat.transport.sent)
    await send_due_reminders(chat.database, chat.config, chat.clock.now(), CONSOLE)
    await chat.delivery.flush()
    return chat.transport.sent[before:]


async def scheduler_tick(chat: Chat) -> list[Outgoing]:
    """A whole scheduler round (reminders and any digest due), as a fresh scheduler runs it."""
    before = len(chat.transport.sent)
    await scheduler(chat).tick()
    await chat.delivery.flush()
    return chat.transport.sent[before:]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_working_hours_start_at_8am_local_on_both_sides_of_the_clock_changes() -> None:
    for monday in (local(2026, 10, 26, 8, 0), local(2027, 3, 29, 8, 0)):  # after each change
        assert in_working_hours(monday.astimezone(UTC), LONDON, HOURS)
        assert not in_working_hours((monday - timedelta(minutes=1)).astimezone(UTC), LONDON, HOURS)
    assert not in_working_hours(local(2026, 11, 28, 10, 0).astimezone(UTC), LONDON, HOURS)


async def test_unanswered_questions_remind_the_reporter_once_after_two_hours(chat: Chat) -> None:
    asked = await chat.say(TIKTOK)
    chat.clock.advance(hours=2, seconds=-1)
    assert await tick(chat) == []
    chat.clock.advance(seconds=1)
    replies = await tick(chat)
    assert [r.text for r in replies] == [messages.reminder_unanswered(1), messages.Q_TARGETS]
    assert replies[0].place.kind is PlaceKind.DIRECT and replies[0].place.id == "alex"
    assert [r.to_user for r in replies] == [User(CONSOLE_TRANSPORT, "alex", "alex")] * 2
    assert replies[1].buttons == next(
        r.buttons for r in asked if r.buttons and r.buttons[0].value[:2] == "q:"
    )
    async with chat.database.reading() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        audit = await unit.audit.for_cases([case.id])
    assert [r.case_id for r in replies] == [case.id, case.id]
    assert [(e.school_id, e.to_value) for e in audit if e.action is AuditAction.REMINDER] == [
        (case.school_id, "unanswered")
    ]
    chat.clock.advance(hours=1)
    assert [r for r in await tick(chat) if r.text == messages.reminder_unanswered(1)] == []


async def test_an_unanswered_reminder_goes_to_the_thread_the_questions_were_asked_in(
    database: Database, config: Config, clock: FakeClock
) -> None:
    in_threads = dataclasses.replace(
        config.schools[0],
        places={
            CONSOLE_TRANSPORT: dataclasses.replace(
                console_places(("lena",)), follow_up=FollowUp.THREAD
            )
        },
    )
    chat = Chat(
        database, dataclasses.replace(config, schools=(in_threads, *config.schools[1:])), clock
    )
    report = Incoming(
        IncomingKind.MESSAGE,
        STAFF_ROOM,
        User(CONSOLE_TRANSPORT, "alex", "alex"),
        text=TIKTOK,
        school="Northfield",
        thread="t1",
    )
    asked = await chat.send(report)
    assert [r.thread for r in asked if r.buttons and r.buttons[0].value[:2] == "q:"] == ["t1"]
    chat.clock.advance(hours=2)
    replies = [r for r in await tick(chat) if r.place == STAFF_ROOM]
    assert [(r.text, r.thread) for r in replies] == [
        (messages.reminder_unanswered(1), "t1"),
        (messages.Q_TARGETS, "t1"),
    ]


async def test_finishing_the_questions_cancels_the_unanswered_reminder(chat: Chat) -> None:
    await chat.say(TIKTOK)
    for answer in ("1", "1", "done", "neither", "no", "3"):
        await chat.say(answer)
    chat.clock.advance(hours=3)
    assert all(r.text != messages.reminder_unanswered(1) for r in await tick(chat))
    async with chat.database.reading() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        audit = await unit.audit.for_cases([case.id])
    assert [e.to_value for e in audit if e.action is AuditAction.REMINDER] == []


async def test_not_reported_after_24_hours_reminds_the_leads_not_before(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say("skip")
    chat.clock.advance(hours=23, minutes=59)
    assert not [r for r in await tick(chat) if r.place.kind is PlaceKind.LEADS]
    chat.clock.advance(minutes=1)
    replies = await tick(chat)
    assert [r.text for r in replies] == [messages.reminder_not_reported(1, Platform.TIKTOK, 24)]
    assert replies[0].place.kind is PlaceKind.LEADS


async def test_an_assigned_case_reminds_the_assignee_directly(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "assign 1 @alex", user="lena")
    chat.clock.advance(hours=24)
    replies = [r for r in await tick(chat) if r.case_id and "not yet reported" in r.text]
    assert [(r.place.kind, r.place.id) for r in replies] == [(PlaceKind.DIRECT, "alex")]


async def test_reporting_starts_still_up_and_escalation_and_ends_not_reported(chat: Chat) -> None:
    await chat.say(TIKTOK)
    chat.clock.advance(hours=1)
    await chat.command("cases", "status 1 reported", user="lena")
    reported_at = chat.clock.now()
    chat.clock.advance(hours=47, minutes=59)  # Wednesday 09:59
    replies = await tick(chat)
    assert not [r for r in replies if "not yet reported" in r.text or "still up?" in r.text]
    chat.clock.advance(minutes=1)
    replies = [r for r in await tick(chat) if r.place.kind is PlaceKind.LEADS]
    assert [r.text for r in replies] == [messages.reminder_still_up(1, Platform.TIKTOK, 2)]
    assert [b.label for b in replies[0].buttons] == [messages.STILL_UP, messages.REMOVED]
    chat.clock.moment = reported_at + timedelta(days=7)
    replies = [r for r in await tick(chat) if r.place.kind is PlaceKind.LEADS]
    assert [r.text for r in replies] == [messages.reminder_escalate(1, Platform.TIKTOK, 7, False)]
    assert [b.label for b in replies[0].buttons] == [
        messages.ESCALATED_BUTTONS[EscalationRoute.POSH],
        messages.ESCALATED_BUTTONS[EscalationRoute.REPORT_HARMFUL_CONTENT],
        messages.ESCALATED_BUTTONS[EscalationRoute.POLICE],
        messages.REMOVED,
    ]


async def test_still_up_schedules_the_next_check_and_removed_stops_the_ladder(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=48)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    replies = await chat.press(button([question], messages.STILL_UP), user="lena", message_ref="m9")
    assert replies[0].replace_ref == "m9" and replies[0].buttons == ()
    assert (
        texts(await chat.press(button([question], messages.STILL_UP), user="lena"))
        == messages.STALE_BUTTON
    )
    chat.clock.advance(hours=47)
    assert not [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    chat.clock.advance(hours=1)
    [again] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    removed_at = chat.clock.now()
    await chat.press(button([again], messages.REMOVED), user="lena")
    async with database.transaction() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None and case.status is Status.REMOVED and case.removed_at == removed_at
        assert await unit.reminders.pending_for_case(case.id) == []
    chat.clock.advance(days=30)
    assert await tick(chat) == []


async def test_only_leads_or_the_assignee_may_answer_a_reminder(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=48)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    assert (
        texts(await chat.press(button([question], messages.REMOVED), user="alex"))
        == messages.REMINDER_NOT_YOURS
    )
    assert (
        texts(await chat.press(button([question], messages.REMOVED), user="sol"))
        == messages.REMINDER_NOT_YOURS
    )


async def test_the_escalation_reminder_records_where_and_when_the_case_was_escalated(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(days=7)
    escalation = [r for r in await tick(chat) if TO_POSH in [b.label for b in r.buttons]]
    assert "/cases escalated 1 posh" in escalation[0].text
    chat.clock.advance(hours=2)
    pressed_at = chat.clock.now()
    label = messages.ESCALATED_BUTTONS[EscalationRoute.REPORT_HARMFUL_CONTENT]
    replies = await chat.press(button(escalation, label), user="lena")
    assert messages.escalation_recorded(1, EscalationRoute.REPORT_HARMFUL_CONTENT) in texts(replies)
    async with database.transaction() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None and case.status is Status.ESCALATED
        assert case.escalated_to is EscalationRoute.REPORT_HARMFUL_CONTENT
        assert case.escalated_at == pressed_at
        audit = await unit.audit.for_cases([case.id])
    assert [(e.from_value, e.to_value) for e in audit if e.action is AuditAction.ESCALATED] == [
        ("reported", "report-harmful-content")
    ]


async def test_a_case_escalated_by_hand_gets_no_escalation_reminder_but_still_up_checks(
    chat: Chat,
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    await chat.command("cases", "status 1 escalated", user="lena")
    chat.clock.advance(days=7, hours=1)
    labels = [[b.label for b in r.buttons] for r in await tick(chat)]
    assert not [found for found in labels if TO_POSH in found]
    assert [found for found in labels if messages.STILL_UP in found]


@pytest.mark.sqlite_only
async def test_closing_a_case_cancels_its_reminders(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "close 1 not-abuse", user="lena")
    chat.clock.advance(days=10)
    assert await tick(chat) == []
    with sqlite3.connect(database.path) as db:
        states = db.execute(
            "SELECT kind, sent_at IS NULL, cancelled_at IS NOT NULL FROM reminders"
        ).fetchall()
    assert sorted(states) == [("not_reported", 1, 1), ("unanswered", 1, 1)]


async def test_a_reminder_due_on_friday_evening_waits_for_monday_8am(chat: Chat) -> None:
    chat.clock.moment = local(2026, 11, 26, 22, 0).astimezone(UTC)  # Thursday 22:00
    await chat.say(TIKTOK)
    await chat.say("skip")
    # not_reported falls due on Friday 22:00: out of hours all weekend.
    for moment in (local(2026, 11, 27, 22, 0), local(2026, 11, 28, 12), local(2026, 11, 30, 7, 59)):
        chat.clock.moment = moment.astimezone(UTC)
        assert not [r for r in await tick(chat) if "not yet reported" in r.text]
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    assert [r for r in await tick(chat) if "not yet reported" in r.text]


async def test_three_days_of_downtime_send_each_overdue_reminder_once(
    config: Config, clock: FakeClock
) -> None:
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    chat = Chat(database, config, clock)
    await chat.say(TIKTOK)  # unanswered +2h, not reported +24h
    await chat.say("https://instagram.com/p/Two", user="sam")
    await chat.command("cases", "status 2 reported", user="lena")  # still up +48h
    await database.close()

    clock.advance(days=3)  # Thursday 09:00: everything above is overdue
    database = await Database.open(config.storage.database)
    chat = Chat(database, config, clock)
    first = await scheduler_tick(chat)  # a new scheduler, as after a restart
    second = await scheduler_tick(chat)
    clock.advance(minutes=1)
    third = await scheduler_tick(chat)
    await database.close()
    reminders = [r for r in first if not r.text.startswith("Casebook weekly summary")]
    assert [r.text for r in reminders if r.text.startswith("A gentle")] == [
        messages.reminder_unanswered(1),
        messages.reminder_unanswered(2),
    ]
    assert len([r for r in reminders if "not yet reported" in r.text]) == 1  # case 2 was reported
    assert len([r for r in reminders if "still up?" in r.text]) == 1
    assert second == [] and third == []


async def test_two_send_loops_on_one_file_send_each_reminder_once(
    config: Config, clock: FakeClock
) -> None:
    first = await Database.open(config.storage.database)
    await sync_schools(first, config)
    chat = Chat(first, config, clock)
    for n in range(12):
        await chat.say(f"https://x.com/u/status/{n}", user=f"user{n}")
    second = await Database.open(config.storage.database)  # another process's connection
    clock.advance(days=1, hours=1)
    results = await asyncio.gather(
        *(
            send_due_reminders(db, config, clock.now(), CONSOLE)
            for db in (first, second, first, second)
        )
    )
    with sqlite3.connect(config.storage.database) as db:
        sent = db.execute("SELECT count(*) FROM reminders WHERE sent_at IS NOT NULL").fetchone()[0]
        queued = db.execute(
            "SELECT count(*) FROM outbox WHERE payload LIKE '%not yet reported%'"
        ).fetchone()[0]
    await first.close()
    await second.close()
    assert sent == 24  # 12 unanswered + 12 not reported
    assert queued == 12
    assert sum(results) == 36  # 12 reminders and 12 questions to reporters, 12 to the leads


async def test_the_weekly_digest_counts_a_known_week_and_is_sent_once(
    chat: Chat, config: Config
) -> None:
    # Monday 23 Nov 09:00: two reports this week; the digest runs Monday 30 Nov 08:00.
    await chat.say(TIKTOK)
    await chat.say("1")
    await chat.say("2 7")
    await chat.say("https://x.com/u/status/5", user="sam")
    await chat.command("cases", "status 2 removed", user="lena")
    await chat.say("https://youtu.be/old", user="kim", school="Southgate")
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    school = config.schools[0]
    assert await send_weekly_digest(chat.database, config, school, chat.clock.now(), CONSOLE)
    assert not await send_weekly_digest(chat.database, config, school, chat.clock.now(), CONSOLE)
    replies = await scheduler_tick(chat)  # the catch-up path finds Northfield's already sent
    await chat.delivery.flush()
    digests = [
        r
        for r in chat.transport.sent
        if r.text.startswith("Casebook weekly summary for Northfield")
    ]
    assert len(digests) == 1
    text = digests[0].text
    assert "New cases: 2 (TikTok 1, X (Twitter) 1)." in text
    assert "Hate: homophobic or biphobic 1" in text and "Threat of violence 1" in text
    assert "Removed this week: X (Twitter) 1, median 0.0 days to removal." in text
    assert "Open cases: 1 (age: under a week 1)." in text
    assert "Open and unassigned: 1." in text
    assert "tiktok.com" not in text and "alex" not in text and "sam" not in text
    assert digests[0].place.kind is PlaceKind.LEADS
    picture = digests[0].attachment
    assert picture is not None and picture.data.startswith(b"\x89PNG")
    assert (picture.name, picture.mime) == ("casebook-week-2026-11-30.png", "image/png")
    assert struct.unpack(">II", picture.data[16:24]) == (800, 360)  # width, height
    assert [r for r in replies if r.text.startswith("Casebook weekly summary for Southgate")]


async def test_an_empty_week_says_so_in_one_line(chat: Chat, config: Config) -> None:
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    replies = await scheduler_tick(chat)
    [north] = [r for r in replies if "Northfield" in r.text]
    assert north.text == messages.digest_empty(
        "Northfield",
        messages.digest_period("Mon 23 Nov 08:00 GMT", "Mon 30 Nov 2026 08:00 GMT"),
    )
    assert "\n" not in north.text


async def test_with_the_chart_turned_off_the_digest_goes_without_a_picture(
    database: Database, config: Config, clock: FakeClock
) -> None:
    no_chart = dataclasses.replace(config, digest=dataclasses.replace(config.digest, chart=False))
    chat = Chat(database, no_chart, clock)
    await chat.say(TIKTOK)
    chat.clock.moment = local(2026, 11, 30, 8, 0).astimezone(UTC)
    [north] = [r for r in await scheduler_tick(chat) if "for Northfield" in r.text]
    assert north.attachment is None


def test_working_hours_check() -> None:
    assert in_working_hours(local(2026, 11, 25, 8, 0).astimezone(UTC), LONDON, HOURS)
    assert not in_working_hours(local(2026, 11, 25, 17, 0).astimezone(UTC), LONDON, HOURS)
    assert not in_working_hours(local(2026, 11, 29, 12, 0).astimezone(UTC), LONDON, HOURS)


def test_digest_command_matches_the_export(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    db = str(tmp_path / "d.db")
    session = (
        "https://www.tiktok.com/@a/video/1\n2\n1 7\n/as sam\nhttps://instagram.com/p/X\n3\n9\n"
    )
    subprocess.run(
        [sys.executable, "-m", "bot", "run", "--db", db],
        input=session.encode(),
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--db", db, "--chart", str(tmp_path / "c.png")],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    exported = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bot", "export", "--db", db],
            env=env,
            cwd=root,
            check=True,
            capture_output=True,
        ).stdout
    )
    platforms = {"tiktok": "TikTok", "instagram": "Instagram"}
    counts = {platforms[p]: sum(1 for c in exported if c["platform"] == p) for p in platforms}
    assert (
        f"New cases: {len(exported)} (TikTok {counts['TikTok']}, Instagram {counts['Instagram']})."
        in printed
    )
    categories = [k for c in exported for k in c["categories"]]
    assert f"Harassment or bullying {categories.count('harassment')}" in printed
    assert f"False allegation or defamation {categories.count('false-allegation')}" in printed
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")


async def _reminder_ids(database: Database) -> dict[str, int]:
    with sqlite3.connect(database.path) as db:
        return {
            kind: rid
            for rid, kind in db.execute(
                "SELECT id, kind FROM reminders WHERE cancelled_at IS NULL ORDER BY id"
            )
        }


@pytest.mark.parametrize(
    ("kind", "answer", "send_first"),
    [
        ("still_up", "removed", False),  # not sent yet
        ("escalate", "escalated", False),  # not sent yet
        ("still_up", "escalated", True),  # sent, but still-up offers no "escalated"
        ("not_reported", "removed", True),  # sent, but it has no buttons at all
    ],
)
@pytest.mark.sqlite_only
async def test_a_forged_reminder_button_changes_nothing(
    chat: Chat, database: Database, kind: str, answer: str, send_first: bool
) -> None:
    if kind != "not_reported":
        await chat.say(TIKTOK)
        await chat.command("cases", "status 1 reported", user="lena")
    else:
        await chat.say(TIKTOK)
    if send_first:
        chat.clock.advance(hours=48)
        await tick(chat)
    reminder_id = (await _reminder_ids(database))[kind]
    forged = Button("forged", f"r:{reminder_id}:{answer}")
    replies = await chat.press(forged, user="lena")
    assert texts(replies) == messages.REMINDER_NOT_CURRENT
    async with database.transaction() as unit:
        case = await unit.cases.by_number(1, 1)
    assert case is not None and case.status in (Status.REPORTED, Status.NEW)
    with sqlite3.connect(database.path) as db:
        assert db.execute("SELECT count(*) FROM reminders WHERE answer IS NOT NULL").fetchone() == (
            0,
        )


@pytest.mark.sqlite_only
async def test_a_cancelled_reminder_button_is_no_longer_current(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=48)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    with sqlite3.connect(database.path) as db:
        db.execute("UPDATE reminders SET cancelled_at = sent_at WHERE kind = 'still_up'")
    replies = await chat.press(button([question], messages.REMOVED), user="lena")
    assert texts(replies) == messages.REMINDER_NOT_CURRENT


async def _still_up_question(chat: Chat) -> Outgoing:
    """Case 1 reported, and its first still-up check sent to the leads two days later."""
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=48)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    return question


async def _case_and_audit(database: Database) -> tuple[Case, list[AuditEntry]]:
    async with database.reading() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        return case, await unit.audit.for_cases([case.id])


@pytest.mark.parametrize(
    "value",
    [
        "r:{id}",
        "r:{id}:still_up:posh",
        "r:{id}:removed:posh",
        "r:{id}:escalated:nowhere",
        "r:{id}:escalated:posh:again",
        "r:{id}:maybe",
        "r:x:still_up",
        "r:x",
        "r:999999:still_up",
    ],
)
async def test_a_malformed_or_unknown_reminder_button_is_stale_and_changes_nothing(
    chat: Chat, database: Database, value: str
) -> None:
    question = await _still_up_question(chat)
    reminder_id = button([question], messages.STILL_UP).value.split(":")[1]
    before = await _case_and_audit(database)
    forged = Button("forged", value.format(id=reminder_id))
    assert texts(await chat.press(forged, user="lena")) == messages.STALE_BUTTON
    assert await _case_and_audit(database) == before


async def test_a_reminder_button_of_a_school_no_longer_configured_is_stale(
    chat: Chat, database: Database, config: Config
) -> None:
    question = await _still_up_question(chat)
    southgate_only = dataclasses.replace(config, schools=config.schools[1:])
    later = Chat(database, southgate_only, chat.clock)
    replies = await later.press(button([question], messages.STILL_UP), user="lena")
    assert texts(replies) == messages.STALE_BUTTON


async def test_still_up_is_recorded_on_the_case_the_reminder_and_the_timeline(
    chat: Chat, database: Database
) -> None:
    question = await _still_up_question(chat)
    pressed = button([question], messages.STILL_UP)
    chat.clock.advance(minutes=5)
    replies = await chat.press(pressed, user="lena", message_ref="m9")
    said = messages.still_up_recorded(1, 48)
    assert [(r.text, r.replace_ref, r.case_id is not None) for r in replies] == [
        (said, "m9", True),
        (said, None, False),
    ]
    case, audit = await _case_and_audit(database)
    assert replies[0].case_id == case.id
    assert case.checked_at == case.updated_at == chat.clock.now()
    assert [(e.action, e.to_value) for e in audit if e.action is AuditAction.CHECKED] == [
        (AuditAction.CHECKED, "still up")
    ]
    async with database.reading() as unit:
        reminder = await unit.reminders.get(int(pressed.value.split(":")[1]))
    assert reminder is not None and reminder.answer is ReminderAnswer.STILL_UP


async def test_still_up_says_when_the_next_check_is_never_under_an_hour(
    database: Database, config: Config, clock: FakeClock
) -> None:
    hourly = dataclasses.replace(
        config, reminders=dataclasses.replace(config.reminders, still_up=timedelta(hours=1))
    )
    chat = Chat(database, hourly, clock)
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=1)
    [question] = [r for r in await tick(chat) if r.buttons and r.place.kind is PlaceKind.LEADS]
    replies = await chat.press(button([question], messages.STILL_UP), user="lena")
    assert texts(replies) == messages.still_up_recorded(1, 1)


async def test_removed_from_a_reminder_keeps_the_report_time_and_shows_in_the_timeline(
    chat: Chat, database: Database
) -> None:
    question = await _still_up_question(chat)
    reported, _ = await _case_and_audit(database)
    chat.clock.advance(minutes=5)
    replies = await chat.press(button([question], messages.REMOVED), user="lena")
    assert texts(replies) == messages.status_set(1, Status.REMOVED)
    case, audit = await _case_and_audit(database)
    assert case.status is Status.REMOVED and case.removed_at == case.updated_at == chat.clock.now()
    assert case.reported_to_platform_at == reported.reported_to_platform_at is not None
    assert [(e.from_value, e.to_value) for e in audit if e.action is AuditAction.STATUS][-1] == (
        "reported",
        "removed",
    )


async def test_an_escalation_button_from_before_routes_marks_the_case_escalated(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(days=7)
    escalation = [r for r in await tick(chat) if TO_POSH in [b.label for b in r.buttons]]
    reminder_id = button(escalation, TO_POSH).value.split(":")[1]
    chat.clock.advance(minutes=5)
    replies = await chat.press(Button("Escalated", f"r:{reminder_id}:escalated"), user="lena")
    assert texts(replies) == messages.status_set(1, Status.ESCALATED)
    case, audit = await _case_and_audit(database)
    assert case.status is Status.ESCALATED and case.updated_at == chat.clock.now()
    assert case.escalated_to is None
    assert [(e.from_value, e.to_value) for e in audit if e.action is AuditAction.STATUS][-1] == (
        "reported",
        "escalated",
    )
    async with database.reading() as unit:
        pending = {r.kind for r in await unit.reminders.pending_for_case(case.id)}
    assert ReminderKind.ESCALATE not in pending


async def test_a_refused_reminder_answer_is_in_the_timeline_with_why(
    chat: Chat, database: Database
) -> None:
    question = await _still_up_question(chat)
    await chat.press(button([question], messages.REMOVED), user="alex")
    case, audit = await _case_and_audit(database)
    assert case.status is Status.REPORTED
    assert [
        (e.case_id, e.to_value, e.reason) for e in audit if e.action is AuditAction.REFUSED
    ] == [(case.id, "removed", "not a lead or assignee")]


async def test_an_assignee_is_not_reminded_on_a_transport_that_is_not_running(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "assign 1 @alex", user="lena")
    chat.clock.advance(hours=24)
    async with chat.database.transaction() as unit:
        sent = await reminders.send_due(
            unit, chat.clock.now(), chat.config, frozenset({Transport("slack")})
        )
    assert [r.text for r in sent if "not yet reported" in r.text] == []
    assert [r for r in sent if r.text == messages.reminder_unanswered(1)]  # where it was asked


async def test_a_case_removed_while_its_reporter_answers_sends_them_no_reminder(
    chat: Chat,
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 removed", user="lena")
    chat.clock.advance(hours=3)
    assert [r for r in await tick(chat) if r.text == messages.reminder_unanswered(1)] == []


async def test_still_up_and_escalation_count_days_from_the_platform_report(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    chat.clock.advance(days=1)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(hours=48)
    still_up = [r.text for r in await tick(chat) if r.place.kind is PlaceKind.LEADS]
    assert still_up == [messages.reminder_still_up(1, Platform.TIKTOK, 2)]
    chat.clock.advance(days=5)
    escalation = [r for r in await tick(chat) if TO_POSH in [b.label for b in r.buttons]]
    assert [r.text for r in escalation] == [
        messages.reminder_escalate(1, Platform.TIKTOK, 7, False)
    ]
    await chat.press(button(escalation, messages.REMOVED), user="lena")
    case, _ = await _case_and_audit(database)
    assert case.status is Status.REMOVED


async def test_a_school_that_left_the_config_has_its_reminders_cancelled_not_the_others(
    chat: Chat, config: Config
) -> None:
    await chat.say(TIKTOK)
    chat.clock.advance(minutes=1)
    await chat.say("https://youtu.be/south", user="kim", school="Southgate")
    chat.clock.advance(hours=2)
    southgate_only = Chat(
        chat.database, dataclasses.replace(config, schools=config.schools[1:]), chat.clock
    )
    sent = await tick(southgate_only)
    assert [r.text for r in sent if r.text.startswith("A gentle")] == [
        messages.reminder_unanswered(1)
    ]
    assert [r.place.id for r in sent if r.text.startswith("A gentle")] == ["kim"]
    chat.clock.advance(hours=1)
    assert [r for r in await tick(chat) if r.text.startswith("A gentle")] == []


async def test_a_school_out_of_hours_does_not_hold_up_another_schools_reminders(
    database: Database, config: Config, clock: FakeClock
) -> None:
    auckland = dataclasses.replace(config.schools[0], timezone="Pacific/Auckland")
    chat = Chat(
        database, dataclasses.replace(config, schools=(auckland, *config.schools[1:])), clock
    )
    await chat.say(TIKTOK)  # Monday 09:00 in London is 22:00 in Auckland
    chat.clock.advance(minutes=1)
    await chat.say("https://youtu.be/south", user="kim", school="Southgate")
    chat.clock.advance(hours=2)
    sent = [r.place.id for r in await tick(chat) if r.text.startswith("A gentle")]
    assert sent == ["kim"]
