"""Withdrawing, in the detail a reporter and a lead see: which numbers `/withdraw` takes, what a
forged or stale button gets, the first reply rewritten in place, and what the case, its timeline
and its messages record."""

from __future__ import annotations

import dataclasses

import pytest

from bot.adapters.console_config import CONSOLE
from handlers import messages
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, User
from handlers.settings import Config
from storage.models import Status
from storage.store import Store
from tests.chat import Chat, FakeClock, button, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
ALEX = User(CONSOLE, "alex", "alex")


def _press(value: str, message_ref: str | None = "m1", thread: str | None = None) -> Incoming:
    return Incoming(
        IncomingKind.BUTTON,
        Place(CONSOLE, "alex", PlaceKind.DIRECT),
        ALEX,
        school="Northfield",
        button_value=value,
        message_ref=message_ref,
        thread=thread,
    )


@pytest.mark.parametrize("written", ["1", "#1", " #1 "])
async def test_withdraw_takes_the_case_number_with_or_without_a_hash(
    chat: Chat, written: str
) -> None:
    await chat.say(TIKTOK)
    assert messages.withdrawn(1) in texts(await chat.command("withdraw", written))


async def test_withdraw_takes_numbers_up_to_nine_digits_and_explains_longer_ones(
    chat: Chat,
) -> None:
    await chat.say(TIKTOK)
    assert texts(await chat.command("withdraw", "5")) == messages.no_case_to_withdraw(5)
    nine = "123456789"
    assert texts(await chat.command("withdraw", nine)) == messages.no_case_to_withdraw(int(nine))
    assert texts(await chat.command("withdraw", nine + "0")) == messages.WITHDRAW_USAGE


@pytest.mark.parametrize("value", ["w:", "w:abc", "w:999", "w:1:2", "w:-1"])
async def test_a_forged_or_stale_not_a_report_button_changes_nothing(
    chat: Chat, database: Store, value: str
) -> None:
    await chat.say(TIKTOK)
    await chat.say("https://x.com/u/status/2")
    replies = await chat.send(_press(value))
    assert texts(replies) == messages.STALE_BUTTON
    async with database.reading() as unit:
        cases = await unit.cases.listing()
    assert {c.status for c in cases} == {Status.NEW}


async def test_not_a_report_rewrites_the_first_reply_in_its_thread_for_its_reporter(
    chat: Chat,
) -> None:
    first = await chat.say(TIKTOK)
    pressed = button(first, messages.NOT_A_REPORT)
    replies = await chat.send(_press(pressed.value, message_ref="m7", thread="t7"))
    rewritten = replies[0]
    assert rewritten == Outgoing(
        place=Place(CONSOLE, "alex", PlaceKind.DIRECT),
        text=messages.case_logged_then_withdrawn(1),
        thread="t7",
        to_user=ALEX,
        replace_ref="m7",
        case_id=rewritten.case_id,
    )
    assert rewritten.case_id is not None
    assert all(r.case_id == rewritten.case_id for r in replies)  # every message names the case


async def test_a_refused_withdrawal_leaves_the_first_reply_as_it_was(chat: Chat) -> None:
    first = await chat.say(TIKTOK)
    await chat.say(TIKTOK, user="sam")  # shared: no longer alex's alone to withdraw
    replies = await chat.send(_press(button(first, messages.NOT_A_REPORT).value))
    assert [r.replace_ref for r in replies] == [None]
    assert texts(replies) == messages.withdraw_shared(1)


async def test_a_withdrawn_case_records_when_it_was_closed_and_its_timeline_says_so(
    chat: Chat, database: Store
) -> None:
    await chat.say(TIKTOK)
    chat.clock.advance(minutes=5)
    replies = await chat.command("withdraw", "1")
    async with database.reading() as unit:
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        audit = await unit.audit.for_cases([case.id])
    assert case.status is Status.CLOSED and case.close_reason == "withdrawn"
    assert case.closed_at == case.updated_at == chat.clock.now()
    closed = [e for e in audit if e.action == "closed"]
    assert [(e.from_value, e.to_value, e.reason) for e in closed] == [
        ("new", "closed", "withdrawn")
    ]
    assert {r.case_id for r in replies} == {case.id}


async def test_withdrawal_is_open_for_exactly_a_day(chat: Chat) -> None:
    await chat.say(TIKTOK)
    await chat.say("https://x.com/u/status/2")
    chat.clock.advance(hours=24)
    assert messages.withdrawn(1) in texts(await chat.command("withdraw", "1"))
    chat.clock.advance(seconds=1)
    assert texts(await chat.command("withdraw", "2")) == messages.withdraw_too_late(2)


async def test_withdraw_refuses_a_number_with_letters_before_it(chat: Chat) -> None:
    await chat.say(TIKTOK)
    assert texts(await chat.command("withdraw", "X1")) == messages.WITHDRAW_USAGE


async def test_a_button_for_a_case_of_a_school_no_longer_served_is_stale(
    chat: Chat, database: Store, config: Config, clock: FakeClock
) -> None:
    first = await chat.say(TIKTOK)
    southgate_only = dataclasses.replace(config, schools=config.schools[1:])
    later = Chat(database, southgate_only, clock)
    replies = await later.send(_press(button(first, messages.NOT_A_REPORT).value))
    assert texts(replies) == messages.STALE_BUTTON
