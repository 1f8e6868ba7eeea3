"""Withdrawing a report made by mistake, and a greeting in a direct chat that is not a report."""

from __future__ import annotations

import sqlite3

import pytest

from bot.adapters.console_config import CONSOLE
from handlers import digest, messages
from handlers.events import Place, PlaceKind
from handlers.stats import platform_stats
from storage.db import Database
from storage.models import Platform, Status
from tests.chat import Chat, button, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
INSTA = "https://instagram.com/p/Abc"


def _alex_direct() -> Place:
    return Place(CONSOLE, "alex", PlaceKind.DIRECT)


async def _case(database: Database, number: int):  # type: ignore[no-untyped-def]
    async with database.transaction() as unit:
        return await unit.cases.by_number(1, number)


@pytest.mark.sqlite_only
async def test_not_a_report_on_the_first_reply_withdraws_the_case_and_tells_the_leads(
    chat: Chat, database: Database
) -> None:
    first = await chat.say(TIKTOK)
    assert first[0].text == messages.case_logged(1, Platform.TIKTOK)
    replies = await chat.press(button(first, messages.NOT_A_REPORT), message_ref="m1")
    assert replies[0].replace_ref == "m1" and replies[0].buttons == ()
    assert messages.withdrawn(1) in texts(replies)
    to_leads = [r.text for r in replies if r.place.kind is PlaceKind.LEADS]
    assert to_leads == [messages.withdrawn_alert(1)]
    case = await _case(database, 1)
    assert case.status is Status.CLOSED and case.close_reason == "withdrawn"
    with sqlite3.connect(database.path) as db:
        audited = db.execute(
            "SELECT action, reason FROM audit WHERE case_id = ? ORDER BY id", (case.id,)
        ).fetchall()
    assert audited[-1] == ("closed", "withdrawn")
    assert texts(await chat.say("1")) == messages.NO_OPEN_QUESTION  # its questions ended
    again = await chat.press(button(first, messages.NOT_A_REPORT))
    assert texts(again) == messages.withdraw_closed_already(1)  # no lead-only advice


async def test_withdraw_alone_withdraws_the_latest_report(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    replies = await chat.command("withdraw", "")
    assert messages.withdrawn(2) in texts(replies)
    assert texts(await chat.command("withdraw", "", user="sam")) == messages.NOTHING_TO_WITHDRAW


async def test_withdraw_command_resumes_an_earlier_reports_questions(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)  # case 2 is asked about first
    replies = await chat.command("withdraw", "2")
    assert [r.text for r in replies if r.to_user and r.to_user.id == "alex"] == [
        messages.withdrawn(2),
        messages.question_resumed(1),
        messages.Q_TARGETS,
    ]


@pytest.mark.parametrize("text", ["two", "#", "3 please"])
async def test_withdraw_without_a_number_explains_itself(chat: Chat, text: str) -> None:
    assert texts(await chat.command("withdraw", text)) == messages.WITHDRAW_USAGE


async def test_only_the_reporter_may_withdraw_and_only_their_own_school_case(
    chat: Chat, database: Database
) -> None:
    first = await chat.say(TIKTOK, user="alex")
    assert texts(await chat.command("withdraw", "1", user="sam")) == messages.no_case_to_withdraw(1)
    assert texts(await chat.press(button(first, messages.NOT_A_REPORT), user="sam")) == (
        messages.no_case_to_withdraw(1)
    )
    await chat.say(INSTA, user="sol", school="Southgate")  # Southgate's case #1
    assert texts(
        await chat.command("withdraw", "1", user="sol", school="Southgate")
    ) == messages.withdrawn(1) + "\n" + messages.withdrawn_alert(1)
    assert (await _case(database, 1)).status is Status.NEW  # Northfield's #1 is untouched


async def test_a_case_someone_else_reported_too_cannot_be_withdrawn(chat: Chat) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say(TIKTOK, user="sam")
    assert texts(await chat.command("withdraw", "1")) == messages.withdraw_shared(1)


async def test_withdrawal_ends_after_a_day_or_once_a_lead_acts(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    await chat.command("cases", "note 2 called the parent", user="lena")
    assert texts(await chat.command("withdraw", "2")) == messages.withdraw_too_late(2)
    chat.clock.advance(hours=24, seconds=1)
    assert texts(await chat.command("withdraw", "1")) == messages.withdraw_too_late(1)


async def test_a_withdrawn_case_is_left_out_of_stats_and_the_digest(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.say(INSTA)
    await chat.command("withdraw", "2")
    async with database.transaction() as unit:
        stats = platform_stats(await unit.cases.listing(), chat.clock.now())
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        built = await digest.build(unit, school, chat.config.schools[0], chat.clock.now())
    assert [(row.platform, row.cases) for row in stats] == [("tiktok", 1), ("all", 1)]
    assert built.new_by_platform == {"tiktok": 1}
    assert built.new_total == 1 and built.open_total == 1


@pytest.mark.parametrize("text", ["hello", "Hi there", "good morning all"])
@pytest.mark.sqlite_only
async def test_a_greeting_in_a_direct_chat_is_asked_about_not_logged(
    chat: Chat, database: Database, text: str
) -> None:
    replies = await chat.say(text, place=_alex_direct())
    assert texts(replies) == messages.DIRECT_HELLO
    with sqlite3.connect(database.path) as db:
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (0,)


async def test_a_description_in_a_direct_chat_and_anything_in_a_channel_is_a_report(
    chat: Chat,
) -> None:
    described = await chat.say("a pupil posted a video of me", place=_alex_direct())
    assert described[0].text == messages.case_logged_no_link(1)
    assert (await chat.say("hello", user="sam"))[0].text == messages.case_logged_no_link(2)
    direct = await chat.command("report", "hello", user="kim")
    assert direct[0].text == messages.case_logged_no_link(3)
