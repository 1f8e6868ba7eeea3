"""A flood of reports from one person: every report is a case, but after ten in ten minutes the
replies fold into one message a minute, and the leads get one alert naming the count."""

from __future__ import annotations

from bot.adapters.console_config import CONSOLE
from bot.scheduler import send_due_reminders
from handlers import messages, privacy
from handlers.events import Incoming, IncomingKind, Outgoing
from handlers.report_folds import FOLD_AFTER
from handlers.settings import Config
from storage.db import Database
from storage.models import Platform
from tests.chat import STAFF_ROOM, Chat, FakeClock, _user

LEADS = "leads"  # the console's leads' place
REPORTER = "alex"


def _link(n: int) -> str:
    return f"https://www.tiktok.com/@someone/video/{7301234567890000000 + n}"


def _to_lead(sent: list[Outgoing]) -> list[Outgoing]:
    return [m for m in sent if m.place.id == LEADS]


def _to_reporter(sent: list[Outgoing]) -> list[Outgoing]:
    return [m for m in sent if m.place.id == REPORTER]


async def _cases(chat: Chat) -> int:
    async with chat.database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        return len(await unit.cases.open_for_school(school.id))


async def _tick(chat: Chat) -> list[Outgoing]:
    """The scheduler's round, then delivery: what it sent."""
    before = len(chat.transport.sent)
    await send_due_reminders(chat.database, chat.config, chat.clock.now(), frozenset({CONSOLE}))
    await chat.delivery.flush()
    return chat.transport.sent[before:]


async def test_after_ten_reports_the_rest_are_stored_and_confirmed_in_one_message(
    chat: Chat, clock: FakeClock
) -> None:
    for n in range(FOLD_AFTER):
        replies = await chat.say(_link(n))
        assert messages.case_logged(n + 1, Platform.TIKTOK) in "\n".join(r.text for r in replies)
    folded: list[Outgoing] = []
    for n in range(FOLD_AFTER, FOLD_AFTER + 40):
        folded += await chat.say(_link(n))
    assert folded == []  # stored, but nothing said yet
    assert await _cases(chat) == FOLD_AFTER + 40
    assert await _tick(chat) == []  # not due yet
    clock.advance(seconds=61)
    sent = await _tick(chat)
    [reply] = _to_reporter(sent)
    assert reply.text == messages.reports_folded(list(range(11, 51)))
    assert reply.text.startswith("40 more reports logged: #11\u2013#50.")
    [alert] = _to_lead(sent)
    assert alert.text == messages.reports_folded_alert(list(range(11, 51)))
    assert "40 more new cases" in alert.text
    assert await _tick(chat) == []  # sent once


async def test_a_fold_goes_out_once_a_minute_while_the_flood_lasts(
    chat: Chat, clock: FakeClock
) -> None:
    for n in range(FOLD_AFTER + 3):
        await chat.say(_link(n))
    clock.advance(seconds=61)
    [first] = _to_reporter(await _tick(chat))
    assert first.text.startswith("3 more reports logged: #11\u2013#13.")
    for n in range(100, 102):
        assert await chat.say(_link(n)) == []
    assert await _tick(chat) == []  # the next fold is due a minute after it began
    clock.advance(seconds=61)
    [second] = _to_reporter(await _tick(chat))
    assert second.text.startswith("2 more reports logged: #14\u2013#15.")


async def test_an_urgent_report_is_never_folded(chat: Chat) -> None:
    for n in range(FOLD_AFTER):
        await chat.say(_link(n))
    urgent = Incoming(
        IncomingKind.COMMAND,
        STAFF_ROOM,
        _user("alex"),
        text=_link(99),
        command="report",
        school="Northfield",
        form=(("categories", "threat"),),
    )
    sent = await chat.send(urgent)
    assert messages.URGENT_DANGER in [m.text for m in sent]
    assert any(m.text.startswith("URGENT case #11") for m in _to_lead(sent))


async def test_a_quiet_ten_minutes_ends_the_folding(chat: Chat, clock: FakeClock) -> None:
    for n in range(FOLD_AFTER):
        await chat.say(_link(n))
    clock.advance(minutes=10, seconds=1)
    replies = await chat.say(_link(50))
    assert messages.case_logged(11, Platform.TIKTOK) in [r.text for r in replies]


async def test_another_person_is_not_folded_by_someone_elses_flood(chat: Chat) -> None:
    for n in range(FOLD_AFTER + 2):
        await chat.say(_link(n))
    replies = await chat.say(_link(60), user="sam")
    assert messages.case_logged(13, Platform.TIKTOK) in [r.text for r in replies]


async def test_a_waiting_fold_survives_a_restart_and_is_sent_once(
    database: Database, config: Config, clock: FakeClock
) -> None:
    chat = Chat(database, config, clock)
    for n in range(FOLD_AFTER + 2):
        await chat.say(_link(n))
    clock.advance(seconds=61)
    restarted = Chat(database, config, clock)  # nothing of the first one's memory
    [reply] = _to_reporter(await _tick(restarted))
    assert reply.text.startswith("2 more reports logged: #11\u2013#12.")
    assert await _tick(restarted) == [] and await _tick(chat) == []


async def test_erasing_the_reporter_drops_their_waiting_fold(chat: Chat, clock: FakeClock) -> None:
    for n in range(FOLD_AFTER + 2):
        await chat.say(_link(n))
    async with chat.database.transaction() as unit:
        await privacy.erase_person(unit, "console:alex", clock.now())
    clock.advance(seconds=61)
    assert await _tick(chat) == []


def test_a_long_list_of_case_numbers_is_cut_to_fit_one_message() -> None:
    scattered = list(range(1, 2000, 2))
    text = messages.reports_folded(scattered)
    assert text.startswith("1000 more reports logged: #1, #3,")
    assert "and 960 more" in text and len(text) < 1000
    assert messages.case_runs([4, 2, 3, 7]) == "#2\u2013#4, #7"
