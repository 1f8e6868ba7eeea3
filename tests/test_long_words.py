"""Every path that stores a person's words keeps the 20 000-character cap and says so: a new
report, the link sent after a report without one, a thread reply, and an edit that joins a case."""

from __future__ import annotations

from handlers import messages
from handlers.events import Incoming, IncomingKind, User
from handlers.text import MAX_TEXT_LENGTH, MAX_WORDS_PER_CASE
from storage.db import Database
from storage.models import Platform
from tests.chat import STAFF_ROOM, Chat, texts

INSTAGRAM = "https://www.instagram.com/p/ABC123/"
TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
HUGE = "a" * (MAX_TEXT_LENGTH * 2 + 10_000)


async def _words(database: Database, number: int) -> dict[str, str]:
    async with database.transaction() as unit:
        case = next(c for c in await unit.cases.listing() if c.number == number)
        return {r.person.name: r.description for r in await unit.cases.reporters(case.id)}


def _message(text: str, user: str, key: str, reply_to: str | None = None) -> Incoming:
    return Incoming(
        IncomingKind.MESSAGE,
        STAFF_ROOM,
        User(STAFF_ROOM.transport, user, user),
        text=text,
        school="Northfield",
        message_key=key,
        reply_to=reply_to,
    )


async def test_a_huge_message_with_the_link_for_an_earlier_report_is_cut_and_says_so(
    chat: Chat, database: Database
) -> None:
    await chat.say("hello")
    replies = await chat.say(f"{HUGE} {INSTAGRAM}")
    assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
    assert "#1" in texts(replies)
    assert len(await _words(database, 1)) == 1
    assert (await _words(database, 1))["alex"] == "hello\n" + "a" * MAX_TEXT_LENGTH


async def test_a_huge_thread_reply_is_cut_when_it_joins_and_when_it_adds_words(
    chat: Chat, database: Database
) -> None:
    await chat.send(_message(TIKTOK, "alex", "m1"))
    joined = await chat.send(_message(HUGE, "sam", "m2", reply_to="m1"))
    more = await chat.send(_message(HUGE, "sam", "m3", reply_to="m1"))
    for replies in (joined, more):
        assert messages.reply_added([1]) in texts(replies)
        assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
    kept = "a" * MAX_TEXT_LENGTH
    assert (await _words(database, 1))["sam"] == f"{kept}\n{kept}"


async def test_a_short_thread_reply_is_not_said_to_be_cut(chat: Chat, database: Database) -> None:
    await chat.send(_message(TIKTOK, "alex", "m1"))
    replies = await chat.send(_message("a" * MAX_TEXT_LENGTH, "sam", "m2", reply_to="m1"))
    assert messages.text_truncated(MAX_TEXT_LENGTH) not in texts(replies)
    assert (await _words(database, 1))["sam"] == "a" * MAX_TEXT_LENGTH


async def test_a_huge_edit_that_joins_another_case_is_cut_and_says_so(
    chat: Chat, database: Database
) -> None:
    await chat.send(_message(INSTAGRAM, "alex", "m1"))
    await chat.send(_message(TIKTOK, "sam", "m2"))
    edit = _message(f"{INSTAGRAM} {TIKTOK} {HUGE}", "alex", "m1")
    replies = await chat.send(
        Incoming(IncomingKind.EDIT, edit.place, edit.user, edit.text, edit.school, message_key="m1")
    )
    assert messages.already_logged(2) in texts(replies)
    assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
    assert len((await _words(database, 2))["alex"]) == MAX_TEXT_LENGTH


async def test_a_huge_edit_that_joins_no_other_case_is_not_said_to_be_cut(
    chat: Chat, database: Database
) -> None:
    """Its words are stored nowhere, so nothing of them was cut."""
    await chat.send(_message(f"{INSTAGRAM} hello", "alex", "m1"))
    for text in (f"{INSTAGRAM} {HUGE}", f"{INSTAGRAM} {TIKTOK} {HUGE}"):
        edit = _message(text, "alex", "m1")
        replies = await chat.send(
            Incoming(
                IncomingKind.EDIT, edit.place, edit.user, edit.text, edit.school, message_key="m1"
            )
        )
        assert messages.text_truncated(MAX_TEXT_LENGTH) not in texts(replies)
    assert texts(replies) == messages.link_added(1, Platform.TIKTOK)
    assert await _words(database, 1) == {"alex": f"{INSTAGRAM} hello"}


async def _notes(database: Database, number: int) -> list[str]:
    async with database.transaction() as unit:
        case = next(c for c in await unit.cases.listing() if c.number == number)
        return [note.text for note in await unit.notes.for_cases([case.id])]


async def test_a_huge_cases_note_keeps_as_much_as_a_reply_note_and_says_it_was_cut(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    replies = await chat.command("cases", f"note 1 {HUGE}", user="lena")
    assert messages.note_added(1) in texts(replies)
    assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
    assert await _notes(database, 1) == ["a" * MAX_TEXT_LENGTH]


async def test_a_cases_note_of_the_whole_cap_is_not_said_to_be_cut(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    replies = await chat.command("cases", "note 1 " + "a" * MAX_TEXT_LENGTH, user="lena")
    assert texts(replies) == messages.note_added(1)
    assert await _notes(database, 1) == ["a" * MAX_TEXT_LENGTH]


async def test_many_huge_replies_add_up_to_at_most_the_cases_cap_and_say_when_they_stop(
    chat: Chat, database: Database
) -> None:
    await chat.send(_message(TIKTOK, "alex", "m1"))
    said = [await chat.send(_message(HUGE, "sam", f"r{n}", reply_to="m1")) for n in range(6)]
    for replies in said[:4]:
        assert messages.reply_added([1]) in texts(replies)
        assert messages.words_full([1], MAX_WORDS_PER_CASE) not in texts(replies)
    # The fifth fits in part and the sixth not at all; each writer is told, none silently.
    assert messages.reply_added([1]) in texts(said[4])
    assert messages.words_full([1], MAX_WORDS_PER_CASE) in texts(said[4])
    assert messages.reply_added([1]) not in texts(said[5])
    assert messages.words_full([1], MAX_WORDS_PER_CASE) in texts(said[5])
    assert len((await _words(database, 1))["sam"]) == MAX_WORDS_PER_CASE
    # Another reporter's words on the same case have a cap of their own.
    replies = await chat.send(_message("and another thing", "kim", "k1", reply_to="m1"))
    assert messages.reply_added([1]) in texts(replies)
