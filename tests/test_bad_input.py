"""Hostile and broken input gets a clear reply, never a traceback, never a lost earlier case."""

from __future__ import annotations

import pytest

from bot.adapters.console_config import CONSOLE
from handlers import messages
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.report import MAX_LINKS_PER_MESSAGE, MAX_TEXT_LENGTH
from storage.db import Database
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"


async def _count(database: Database) -> int:
    async with database.transaction() as unit:
        return len(await unit.cases.listing())


@pytest.fixture
async def earlier_case(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK, user="first")
    assert await _count(database) == 1


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x00"])
async def test_empty_messages_are_answered_not_logged(
    chat: Chat, database: Database, earlier_case: None, text: str
) -> None:
    replies = await chat.say(text, user="sam")
    assert texts(replies) == messages.EMPTY_MESSAGE
    assert await _count(database) == 1


async def test_a_100_kb_message_is_logged_and_cut_with_a_note(
    chat: Chat, database: Database, earlier_case: None
) -> None:
    replies = await chat.say("Mr Smith " * 12_000 + TIKTOK.replace("/1", "/2"), user="sam")
    assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
    assert await _count(database) == 2
    async with database.transaction() as unit:
        case = (await unit.cases.listing())[-1]
        [reporter] = await unit.cases.reporters(case.id)
    assert len(reporter.description) == MAX_TEXT_LENGTH


async def test_nul_bytes_and_control_characters_are_removed(chat: Chat, database: Database) -> None:
    await chat.say("fake\x00 account\x1b[31m of Mr X", user="sam")
    async with database.transaction() as unit:
        [case] = await unit.cases.listing()
        [reporter] = await unit.cases.reporters(case.id)
    assert reporter.description == "fake account[31m of Mr X"


@pytest.mark.parametrize("text", ["javascript:alert(document.cookie)", "see http:///nothing here"])
async def test_unusable_links_still_log_the_words_and_say_so(
    chat: Chat, database: Database, text: str
) -> None:
    replies = await chat.say(text, user="sam")
    assert messages.case_logged_no_link(1) in texts(replies)
    assert messages.IGNORED_LINKS in texts(replies)
    assert await _count(database) == 1


async def test_fifty_links_log_the_first_ten_and_ask_for_the_rest(
    chat: Chat, database: Database, earlier_case: None
) -> None:
    text = " ".join(f"https://x.com/u/status/{n}" for n in range(50))
    replies = await chat.say(text, user="sam")
    assert messages.too_many_links(MAX_LINKS_PER_MESSAGE, 50 - MAX_LINKS_PER_MESSAGE) in texts(
        replies
    )
    assert await _count(database) == 1 + MAX_LINKS_PER_MESSAGE


@pytest.mark.parametrize("command", ["frobnicate", "DROP", "cases;rm", "x" * 500, "\u202ereversed"])
async def test_unknown_commands_get_a_pointer_to_help(
    chat: Chat, earlier_case: None, command: str
) -> None:
    replies = await chat.command(command)
    assert len(replies) == 1
    assert replies[0].text.startswith("I do not know the command /")
    assert "/help" in replies[0].text
    assert len(replies[0].text) < 200


@pytest.mark.parametrize("text", ["2", "skip", "yes", "Done"])
async def test_an_answer_when_no_question_is_open_is_explained(
    chat: Chat, database: Database, text: str
) -> None:
    assert texts(await chat.say(text)) == messages.NO_OPEN_QUESTION
    assert await _count(database) == 0


async def test_an_unclear_answer_asks_again(chat: Chat, earlier_case: None) -> None:
    replies = await chat.say("hmm, what?", user="first")
    assert replies[0].text == messages.NOT_UNDERSTOOD
    assert replies[1].text == messages.Q_TARGETS and replies[1].buttons
    assert texts(await chat.say("99", user="first")).startswith(messages.NOT_UNDERSTOOD)


async def test_report_command_without_text_explains_itself(chat: Chat, database: Database) -> None:
    assert texts(await chat.command("report")) == messages.REPORT_NEEDS_TEXT
    assert await _count(database) == 0


async def test_someone_of_no_school_is_told_politely(chat: Chat, database: Database) -> None:
    replies = await chat.say(TIKTOK, school=None)
    assert texts(replies) == messages.NOT_A_MEMBER
    replies = await chat.say(TIKTOK, school="Nowhere High")
    assert texts(replies) == messages.NOT_A_MEMBER
    assert await _count(database) == 0


async def test_sql_and_markup_in_reports_are_stored_as_written(
    chat: Chat, database: Database
) -> None:
    hostile = "Robert'); DROP TABLE cases;-- <b>bold</b> <!channel> @everyone"
    replies = await chat.say(hostile, user="sam")
    assert all(hostile not in r.text for r in replies)  # report text is never echoed
    async with database.transaction() as unit:
        [case] = await unit.cases.listing()
        [reporter] = await unit.cases.reporters(case.id)
    assert reporter.description == hostile


async def test_a_repeated_event_id_is_processed_once(chat: Chat, database: Database) -> None:
    incoming = Incoming(
        IncomingKind.MESSAGE,
        Place(CONSOLE, "staff-room", PlaceKind.CHANNEL),
        User(CONSOLE, "alex", "alex"),
        text=TIKTOK,
        school="Northfield",
        event_id="Ev42",
    )
    first = await chat.send(incoming)
    second = await chat.send(incoming)
    assert first and second == []
    assert await _count(database) == 1


@pytest.mark.parametrize("number", ["¹", "2²", "①", "٣", "1" * 5000])
async def test_digits_int_cannot_read_get_an_answer_not_an_error(
    chat: Chat, database: Database, number: str
) -> None:
    """Superscripts and circled digits pass str.isdigit but not int(); int() also refuses more
    than 4 300 digits. Found by the 10 000-example hostile run."""
    await chat.say(TIKTOK, user="sam")  # sam is now being asked "Who is targeted?"
    replies = [
        await chat.say(number, user="sam"),
        await chat.say(number, user="jo"),  # no questions open: a report, or an unclear answer
        await chat.command("cases", f"page {number}", user="lena"),
    ]
    for value in (f"q:{number}:targets:me", f"r:{number}:up"):
        replies.append(
            await chat.send(
                Incoming(
                    IncomingKind.BUTTON,
                    Place(CONSOLE, "sam", PlaceKind.DIRECT),
                    User(CONSOLE, "sam", "sam"),
                    school="Northfield",
                    button_value=value,
                )
            )
        )
    for answer in replies:
        assert answer, "every input gets a reply"
        assert messages.INTERNAL_ERROR not in texts(answer)
