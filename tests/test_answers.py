"""Typed answers to the kind-of-abuse question behave the same way, however they are typed."""

from __future__ import annotations

from handlers import messages
from handlers.questions import SKIP, Question, choices, parse_typed
from storage.db import Database
from storage.models import AuthorIsPupil, Case, Category
from tests.chat import Chat, button

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
DONE = "13"  # the number of Done among the kind-of-abuse choices


async def _case(database: Database) -> Case:
    async with database.reading() as unit:
        [case] = await unit.cases.listing()
    return case


async def _at_categories(chat: Chat) -> None:
    await chat.say(TIKTOK)
    assert (await chat.say("2"))[-1].text == messages.Q_CATEGORIES


async def test_one_number_and_several_numbers_both_pick_and_wait_for_done(
    chat: Chat, database: Database
) -> None:
    await _at_categories(chat)
    one = await chat.say("7")
    assert one[-1].text == messages.categories_chosen(["Threat of violence"])
    several = await chat.say("1 9")
    assert several[-1].text == messages.categories_chosen(
        ["Harassment or bullying", "Threat of violence", "False allegation or defamation"]
    )
    assert (await chat.say("done"))[-1].text == messages.Q_THREAT
    case = await _case(database)
    assert case.categories == {Category.HARASSMENT, Category.THREAT, Category.DEFAMATION}


async def test_choices_and_done_typed_together_are_accepted(chat: Chat, database: Database) -> None:
    await _at_categories(chat)
    replies = await chat.say(f"1 9 {DONE}")
    assert replies[-1].text == messages.Q_THREAT
    assert (await _case(database)).categories == {Category.HARASSMENT, Category.DEFAMATION}


async def test_done_typed_as_a_word_after_the_numbers_is_accepted(
    chat: Chat, database: Database
) -> None:
    await _at_categories(chat)
    replies = await chat.say("1, 9, Done.")
    assert replies[-1].text == messages.Q_THREAT
    assert (await _case(database)).categories == {Category.HARASSMENT, Category.DEFAMATION}


async def test_typing_and_pressing_mix(chat: Chat, database: Database) -> None:
    await _at_categories(chat)
    replies = await chat.say("1")
    replies = await chat.press(button(replies, "False allegation or defamation"))
    assert (await chat.say(DONE))[-1].text == messages.Q_THREAT
    assert (await _case(database)).categories == {Category.HARASSMENT, Category.DEFAMATION}


async def test_labels_match_with_phone_punctuation(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    for answer in ("skip", "skip", "skip", "skip"):
        await chat.say(answer)
    replies = await chat.say("Don\u2019t know")
    assert messages.questions_finished([1]) in "\n".join(r.text for r in replies)
    assert (await _case(database)).author_is_pupil is AuthorIsPupil.UNKNOWN


def test_a_pick_typed_with_skip_is_unclear() -> None:
    offered = choices(Question.CATEGORIES)
    skip = next(i for i, option in enumerate(offered, 1) if option.value == SKIP)
    assert parse_typed(Question.CATEGORIES, f"1 {skip}") is None
    assert parse_typed(Question.CATEGORIES, "1 2") is not None
