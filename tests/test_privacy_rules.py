"""What a purge leaves of a case, as the leads would read its timeline afterwards: who did what
is gone, what was done stays."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from bot.adapters.slack_config import SLACK
from handlers import privacy
from handlers.events import Outgoing, Place, PlaceKind
from handlers.settings import Config
from storage.db import Database
from storage.models import AuditAction
from storage.times import to_db
from tests.chat import Chat
from tests.test_privacy import LONDON, _closed_case, _number, _slack


async def test_a_purged_cases_timeline_names_no_one_it_was_assigned_to(
    chat: Chat, config: Config
) -> None:
    """The timeline keeps that the case was assigned (and unassigned), not to whom: on every
    store, whatever the case of the letters its database compares with."""
    chat.clock.moment = datetime(2025, 1, 10, 12, 0, tzinfo=LONDON).astimezone(UTC)
    await chat.say("https://x.com/u/status/1 about Mr Khan", user="alex")
    number = await _number(chat, 1)
    await chat.command("cases", f"assign {number} @alex", user="lena")
    await chat.command("cases", f"assign {number} @lena", user="lena")
    await chat.command("cases", f"status {number} removed", user="lena")
    await chat.command("cases", f"close {number} resolved", user="lena")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with chat.database.transaction() as unit:
        case = await unit.cases.by_number(1, number)
        assert case is not None
        before = await unit.audit.for_cases([case.id])
        assert [e.action for e in before].count(AuditAction.ASSIGNED) == 2
        assert any((e.to_value or "").startswith("person:") for e in before)
        assert any((e.from_value or "").startswith("person:") for e in before)
        await privacy.purge(unit, await privacy.purge_plan(unit, config, now), now)
        after = await unit.audit.for_cases([case.id])
    assert [e.action for e in after] == [e.action for e in before]
    assert [(e.from_value, e.to_value) for e in after if e.action is AuditAction.ASSIGNED] == [
        (None, None),
        (None, None),
    ]
    assert not any("person:" in f"{e.from_value}{e.to_value}" for e in after)


async def _erase_u123(chat: Chat) -> tuple[int, str]:
    """Uma (Slack U123) reports, a lead notes her id; she is erased in the bot's own process.
    Returns her case's id and her pseudonym."""
    await chat.send(_slack("U123", "https://tiktok.com/@a/video/1 <@U123> is me", "e1"))
    await chat.command("cases", "note 1 U123 called back", user="lena")
    async with chat.database.transaction() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        pseudonym = await privacy.erase_person(unit, "slack:U123", chat.clock.now())
    return case.id, pseudonym


async def test_an_erased_persons_id_is_replaced_in_their_report_and_in_leads_notes(
    chat: Chat,
) -> None:
    case_id, pseudonym = await _erase_u123(chat)
    async with chat.database.reading() as unit:
        reporters = await unit.cases.reporters(case_id)
        notes = await unit.notes.for_cases([case_id])
        assert await unit.people.by_key("slack:U123") is None
    assert [r.person.name for r in reporters] == [pseudonym]
    assert [n.text for n in notes] == [f"{pseudonym} called back"]
    assert "U123" not in reporters[0].description and pseudonym in reporters[0].description


@pytest.mark.sqlite_only  # reads the rows themselves
async def test_erasure_leaves_no_message_event_or_chat_that_names_the_person(
    chat: Chat, database: Database
) -> None:
    """Unsent messages to the person are given up (and say why), sent ones forget the direct
    chat they went to, handled events lose their text, and the chat's message keys go."""
    now = chat.clock.now()
    async with chat.database.transaction() as unit:
        await unit.inbox.add("telegram", "tg:U123|7", json.dumps({"text": "x"}), now)
        to_her = Outgoing(Place(SLACK, "U123", PlaceKind.DIRECT), "Case 1 needs you")
        unsent = await unit.outbox.add("slack", to_her.to_json(), None, now)
        elsewhere = await unit.outbox.add("slack", json.dumps({"text": "other"}), None, now)
    with sqlite3.connect(database.path) as db:
        db.execute(
            "UPDATE outbox SET message_ref = 'U123|1.5', sent_at = ? WHERE id = ?",
            (to_db(now), elsewhere),
        )
        db.execute("UPDATE inbox SET processed_at = received_at")
    await _erase_u123(chat)
    with sqlite3.connect(database.path) as db:
        rows = {
            row[0]: row[1:]
            for row in db.execute(
                "SELECT id, payload, failed_at IS NOT NULL, last_error, message_ref FROM outbox"
            )
        }
        event_ids = [row[0] for row in db.execute("SELECT event_id FROM inbox")]
        payloads = [row[0] for row in db.execute("SELECT payload FROM inbox")]
        keys = [row[0] for row in db.execute("SELECT message_key FROM case_messages")]
        places = [row[0] for row in db.execute("SELECT place_id FROM conversations")]
    assert rows[unsent] == ("", 1, "recipient erased", None)
    assert rows[elsewhere][0] != "" and rows[elsewhere][3] is None
    assert not any("U123" in e for e in event_ids) and any(
        e.startswith("erased:") for e in event_ids
    )
    assert not any("U123" in p for p in payloads)
    assert not any(k.startswith("U123|") for k in keys)
    assert "erased" in places and "U123" not in "".join(places)


async def test_a_persons_export_lists_each_case_they_reported_were_given_or_wrote_about(
    chat: Chat,
) -> None:
    """The export a person receives, field by field: their report, the case assigned to them,
    and what was done about them; a lead's export holds the notes she wrote."""
    await chat.say("https://x.com/u/status/1 about Mr Khan", user="alex")
    await chat.command("cases", "assign 1 @alex", user="lena")
    await chat.command("cases", "note 1 spoke to Jo", user="lena")
    at = chat.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    async with chat.database.reading() as unit:
        alex = await privacy.person_export(unit, "console:alex")
        lena = await privacy.person_export(unit, "console:lena")
    case = {"school": "Northfield", "case": 1}
    assert alex == {
        "person": {"id": "console:alex", "name": "alex"},
        "schools": ["Northfield"],
        "cases_reported": [
            {
                **case,
                "platform": "x",
                "status": "new",
                "links": ["https://x.com/u/status/1"],
                "your_words": "https://x.com/u/status/1 about Mr Khan",
                "reported_at": at,
            }
        ],
        "cases_assigned": [case],
        "notes_written": [],
        "audit": [
            {**case, "action": "created", "by_you": True, "at": at},
            {**case, "action": "assigned", "by_you": False, "at": at},
        ],
    }
    assert lena["notes_written"] == [{**case, "text": "spoke to Jo", "at": at}]
    assert lena["audit"] == [
        {**case, "action": "assigned", "by_you": True, "at": at},
        {**case, "action": "note", "by_you": True, "at": at},
    ]


async def test_a_persons_export_keeps_a_case_assigned_away_from_them(chat: Chat) -> None:
    await chat.say("https://x.com/u/status/1 about Mr Khan", user="alex")
    await chat.say("https://x.com/u/status/2", user="sam")  # sam is staff of Northfield too
    await chat.command("cases", "assign 1 @alex", user="lena")
    await chat.command("cases", "assign 1 @sam", user="lena")
    async with chat.database.reading() as unit:
        alex = await privacy.person_export(unit, "console:alex")
    assert alex["cases_assigned"] == []
    assert [(a["case"], a["action"]) for a in alex["audit"]] == [
        (1, "created"),
        (1, "assigned"),  # to alex
        (1, "assigned"),  # from alex to sam: it is about alex as well
    ]


async def test_just_after_local_midnight_the_purge_counts_the_new_local_day(
    chat: Chat, config: Config
) -> None:
    """At 00:30 BST it is already the next day at the school, though not yet in UTC; an open
    case reported first does not stop the plan from reaching the closed one."""
    chat.clock.moment = datetime(2025, 6, 1, 12, 0, tzinfo=LONDON).astimezone(UTC)
    await chat.say("https://x.com/u/status/9 still open", user="sam")
    await _closed_case(chat, 1, datetime(2025, 7, 1, 12, 0, tzinfo=LONDON))
    now = datetime(2026, 7, 2, 0, 30, tzinfo=LONDON).astimezone(UTC)
    async with chat.database.transaction() as unit:
        plan = await privacy.purge_plan(unit, config, now)
    assert [(i.school, i.number, i.closed_days_ago) for i in plan] == [
        ("Northfield", await _number(chat, 1), 366)
    ]
