"""A link sent after a report without one: the link the reporter was asked for joins that case.

Only the same person, where their questions go, within LINK_WINDOW of the report, and only while
that case has no link of its own; anything else is a report of its own, as before.
"""

from __future__ import annotations

import dataclasses

from bot.adapters.console_config import CONSOLE, console_places
from handlers import messages
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, User
from handlers.report import LINK_WINDOW
from handlers.settings import Config, FollowUp
from storage.db import Database
from storage.models import Case, Platform
from tests.chat import STAFF_ROOM, Chat, FakeClock, button, texts

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
CANONICAL = "https://tiktok.com/@someone/video/7301234567890123456"
OTHER = "https://x.com/someone/status/123"


async def _cases(database: Database) -> list[Case]:
    async with database.transaction() as unit:
        return list(await unit.cases.listing())


async def _links(database: Database, case: Case) -> list[str]:
    async with database.transaction() as unit:
        return [link.canonical for link in await unit.cases.links(case.id)]


async def test_a_link_after_a_report_without_one_is_added_to_that_case(
    chat: Chat, database: Database
) -> None:
    first = await chat.say("There is a video about Ms Osei going round")
    assert first[0].text == messages.case_logged_no_link(1)
    assert first[-1].text.endswith(messages.Q_PLATFORM)
    replies = await chat.say(f"here it is {TIKTOK}")
    [case] = await _cases(database)
    assert await _links(database, case) == [CANONICAL]
    assert case.platform is Platform.TIKTOK
    assert replies[0].text == messages.late_link_added(1, Platform.TIKTOK)
    # The link answered the platform question; the next one is asked.
    assert replies[-1].text == messages.Q_TARGETS
    assert messages.new_case_alert(2, Platform.TIKTOK) not in texts(replies)


async def _linkless_report_answered(chat: Chat) -> list[Outgoing]:
    """A report without a link, its platform answered and every other question skipped: the
    replies to the last skip."""
    replies = await chat.say("A video about Ms Osei is going round on snap")
    replies = await chat.press(button(replies, "Snapchat"))
    for _ in range(5):
        replies = await chat.press(button(replies, "Skip"))
    return replies


async def test_the_link_joins_after_a_restart_and_after_the_questions_are_done(
    chat: Chat, database: Database
) -> None:
    assert messages.questions_finished([1]) in texts(await _linkless_report_answered(chat))
    restarted = Chat(database, chat.config, chat.clock)  # nothing kept in memory
    chat.clock.advance(seconds=LINK_WINDOW.total_seconds() - 60)
    replies = await restarted.say(TIKTOK)
    [case] = await _cases(database)
    assert await _links(database, case) == [CANONICAL]
    assert case.platform is Platform.SNAPCHAT  # an answer already given is kept
    assert [r.text for r in replies] == [messages.late_link_added(1, Platform.SNAPCHAT)]


async def test_a_link_later_than_the_window_is_a_new_report(chat: Chat, database: Database) -> None:
    await chat.say("There is a video about Ms Osei going round")
    chat.clock.advance(seconds=LINK_WINDOW.total_seconds() + 60)
    replies = await chat.say(TIKTOK)
    assert replies[0].text == messages.case_logged(2, Platform.TIKTOK)
    by_number = {case.number: case for case in await _cases(database)}
    assert await _links(database, by_number[1]) == []
    assert await _links(database, by_number[2]) == [CANONICAL]


async def test_a_link_at_the_very_end_of_the_window_is_added_to_the_case(
    chat: Chat, database: Database
) -> None:
    await chat.say("There is a video about Ms Osei going round")
    chat.clock.advance(seconds=LINK_WINDOW.total_seconds())
    replies = await chat.say(TIKTOK)
    assert replies[0].text == messages.late_link_added(1, Platform.TIKTOK)


async def test_someone_elses_link_and_a_second_link_are_reports_of_their_own(
    chat: Chat, database: Database
) -> None:
    await chat.say("There is a video about Ms Osei going round")
    replies = await chat.say(TIKTOK, user="sam")
    assert replies[0].text == messages.case_logged(2, Platform.TIKTOK)
    replies = await chat.say(OTHER)
    assert replies[0].text == messages.late_link_added(1, Platform.X)
    replies = await chat.say(f"and another one {TIKTOK.replace('456', '999')}")
    assert replies[0].text == messages.case_logged(3, Platform.TIKTOK)
    assert len(await _cases(database)) == 3


async def test_a_link_already_logged_joins_its_own_case_not_the_linkless_one(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK, user="sam")
    await chat.say("There is a video about Ms Osei going round")
    replies = await chat.say(TIKTOK)
    assert replies[0].text == messages.already_logged(1)
    linkless = [c for c in await _cases(database) if c.number == 2]
    assert await _links(database, linkless[0]) == []


async def test_a_link_after_the_linkless_case_was_closed_is_a_new_report(
    chat: Chat, database: Database
) -> None:
    await _linkless_report_answered(chat)
    await chat.command("cases", "close 1", user="lena")  # after the questions were done
    replies = await chat.say(TIKTOK)
    assert replies[0].text == messages.case_logged(2, Platform.TIKTOK)
    by_number = {case.number: case for case in await _cases(database)}
    assert await _links(database, by_number[1]) == []


async def test_the_words_beside_the_late_link_join_the_reporters_own(
    chat: Chat, database: Database
) -> None:
    await chat.say("There is a video about Ms Osei going round")
    await chat.say(f"here it is {TIKTOK} from year 9")
    [case] = await _cases(database)
    async with database.transaction() as unit:
        [reporter] = await unit.cases.reporters(case.id)
    assert reporter.description == (
        "There is a video about Ms Osei going round\nhere it is from year 9"
    )


async def test_a_reply_under_the_late_link_joins_its_case(chat: Chat, database: Database) -> None:
    await chat.say("There is a video about Ms Osei going round")
    user = User(CONSOLE, "alex", "alex")
    await chat.send(
        Incoming(IncomingKind.MESSAGE, STAFF_ROOM, user, TIKTOK, "Northfield", message_key="k2")
    )
    sam = User(CONSOLE, "sam", "sam")
    replies = await chat.send(
        Incoming(
            IncomingKind.MESSAGE,
            STAFF_ROOM,
            sam,
            "I saw it too",
            "Northfield",
            message_key="k3",
            reply_to="k2",
        )
    )
    assert texts(replies) == messages.reply_added([1])


async def test_a_link_sent_outside_the_thread_the_questions_are_in_is_a_report_of_its_own(
    database: Database, config: Config, clock: FakeClock
) -> None:
    in_threads = dataclasses.replace(
        config.schools[0],
        places={CONSOLE: dataclasses.replace(console_places(("lena",)), follow_up=FollowUp.THREAD)},
    )
    chat = Chat(database, dataclasses.replace(config, schools=(in_threads,)), clock)
    alex = User(CONSOLE, "alex", "alex")
    report = "There is a video about Ms Osei going round"
    await chat.send(Incoming(IncomingKind.MESSAGE, STAFF_ROOM, alex, report, "Northfield"))
    elsewhere = Place(CONSOLE, "corridor", PlaceKind.CHANNEL)
    replies = await chat.send(Incoming(IncomingKind.MESSAGE, elsewhere, alex, TIKTOK, "Northfield"))
    assert replies[0].text == messages.case_logged(2, Platform.TIKTOK)
