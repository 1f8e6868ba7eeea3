"""Merging and closing cases: nothing a reporter wrote is lost, and nobody is asked about a
closed case."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from handlers import messages, privacy
from handlers.export import export_rows
from handlers.settings import Config
from storage.db import Database
from storage.models import Platform, Target
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
TIKTOK_CANONICAL = "https://tiktok.com/@someone/video/1"
SHORT = "https://vm.tiktok.com/ZMshort/"
INSTA = "https://instagram.com/p/Abc"


def _words(database: Database) -> set[tuple[int, str, str]]:
    with sqlite3.connect(database.path) as db:
        return set(
            db.execute(
                "SELECT c.number, p.key, r.description FROM case_reporters r"
                " JOIN cases c ON c.id = r.case_id JOIN people p ON p.id = r.person_id"
            ).fetchall()
        )


@pytest.mark.sqlite_only
async def test_merge_keeps_every_reporters_words_and_answers(
    chat: Chat, database: Database
) -> None:
    await chat.say(f"alex first: {TIKTOK}", user="alex")
    await chat.say("skip", user="alex")  # alex leaves case 1's questions open
    await chat.say(f"alex again, short link: {SHORT}", user="alex")
    await chat.say("2", user="alex")  # alex answers case 2: a colleague is targeted
    await chat.say(f"sam: {SHORT}", user="sam")  # sam joins case 2
    await chat.command("cases", "merge 1 2", user="lena")
    words = {text for _, _, text in _words(database)}
    assert any("alex first" in w and "alex again, short link" in w for w in words)
    assert f"sam: {SHORT}" in words
    async with database.transaction() as unit:
        exported = await privacy.person_export(unit, "console:alex")
        case = await unit.cases.by_number(1, 1)
    mine = " ".join(c["your_words"] for c in exported["cases_reported"])
    assert "alex first" in mine and "alex again, short link" in mine
    assert case is not None and case.targets is Target.COLLEAGUE  # case 2's answer moved too


async def test_the_export_of_a_merged_case_lists_its_links_and_keeps_url_on_its_platform(
    chat: Chat, database: Database
) -> None:
    await chat.say(INSTA, user="alex")
    await chat.say(TIKTOK, user="sam")
    await chat.command("cases", "merge 2 1", user="lena")
    async with database.transaction() as unit:
        rows = {row.id: row for row in await export_rows(unit)}
        anonymised = await export_rows(unit, anonymised=True)
    assert rows[2].platform == Platform.TIKTOK and rows[2].url == TIKTOK_CANONICAL
    assert rows[2].links == [TIKTOK_CANONICAL, INSTA]
    assert rows[1].links == [] and rows[1].url is None
    assert all(row.links is None and row.url is None for row in anonymised)


async def test_merging_ends_the_duplicates_questions_and_says_so(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say(SHORT, user="sam")  # sam is asked who is targeted, about case 2
    replies = await chat.command("cases", "merge 1 2", user="lena")
    to_sam = [r for r in replies if r.to_user and r.to_user.id == "sam"]
    assert texts(to_sam) == messages.questions_ended(2, 1)
    assert texts(await chat.say("4", user="sam")) == messages.NO_OPEN_QUESTION
    async with database.transaction() as unit:
        one, two = await unit.cases.by_number(1, 1), await unit.cases.by_number(1, 2)
    assert one is not None and one.targets is None
    assert two is not None and two.targets is None


async def test_a_merge_keeps_the_surviving_cases_own_answer_over_the_duplicates(
    chat: Chat,
) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say("1", user="alex")  # alex: I am targeted
    await chat.say(SHORT, user="sam")
    await chat.say("2", user="sam")  # sam: a colleague is
    await chat.command("cases", "merge 1 2", user="lena")
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "Targeted: Me" in shown and "Targeted: A colleague" not in shown


async def test_a_note_on_the_duplicate_stays_on_the_surviving_case_when_the_duplicate_is_purged(
    chat: Chat, config: Config
) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say(SHORT, user="sam")
    await chat.command("cases", "note 2 same video, short link", user="lena")
    await chat.command("cases", "merge 1 2", user="lena")
    later = chat.clock.now() + timedelta(days=config.retention.closed_case_days + 1)
    async with chat.database.transaction() as unit:
        plan = await privacy.purge_plan(unit, config, later)
        await privacy.purge(unit, plan, later)
    assert [item.number for item in plan] == [2]  # case 1 is open: kept whole
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "same video, short link" in shown


async def test_closing_a_case_resumes_the_reporters_earlier_questions(chat: Chat) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say(INSTA, user="alex")  # case 2 is asked about first
    replies = await chat.command("cases", "close 2 not-abuse", user="lena")
    to_alex = [r.text for r in replies if r.to_user and r.to_user.id == "alex"]
    assert to_alex == [
        messages.questions_ended(2, None),
        messages.question_resumed(1),
        messages.Q_TARGETS,
    ]
    replies = await chat.say("1", user="alex")
    assert messages.question_resumed(2) not in texts(replies)
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "Targeted: Me" in shown


@pytest.mark.sqlite_only
async def test_an_answer_never_changes_a_case_closed_while_its_question_was_open(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK, user="alex")
    with sqlite3.connect(database.path) as db:  # closed as an older version did: questions open
        db.execute("UPDATE cases SET status = 'closed', close_reason = 'duplicate'")
    assert texts(await chat.say("2", user="alex")) == messages.NO_OPEN_QUESTION
    async with database.transaction() as unit:
        case = await unit.cases.by_number(1, 1)
        alex = await unit.people.by_key("console:alex")
        assert alex is not None and await unit.conversations.current(alex.id) is None
    assert case is not None and case.targets is None
