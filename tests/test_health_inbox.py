"""/healthz's inbox check: red once an event has waited past STALE_INBOX, however long ago that
was, days included; and green again once it is handled, each check looking afresh. And the rest
of its body: one entry per part, and what is wrong with each part that is not."""

from __future__ import annotations

import sqlite3

import pytest

from bot.adapters.console_config import CONSOLE
from bot.adapters.telegram_config import TELEGRAM
from bot.delivery import Delivery
from bot.health import STALE_INBOX, WRITE_DEADLINE, Health
from handlers.events import Incoming, IncomingKind, User
from storage.db import Database
from storage.store import Store
from tests.chat import STAFF_ROOM, Chat, FakeClock

REPORT = Incoming(
    IncomingKind.MESSAGE,
    STAFF_ROOM,
    User(CONSOLE, "alex", "Alex"),
    text="https://x.com/u/status/1",
    school="Northfield",
)


class _Reachable:
    transport = CONSOLE

    async def health(self) -> tuple[bool, str]:
        return True, ""


class _NotYetReached:
    """A platform not reached yet with no error to tell, as Telegram is before its first try."""

    transport = TELEGRAM

    async def health(self) -> tuple[bool, str]:
        return False, ""


async def test_health_is_red_when_the_oldest_waiting_event_is_more_than_a_day_old(
    chat: Chat, database: Store, clock: FakeClock
) -> None:
    health = Health(database, Delivery(database, clock, {}), [_Reachable()], clock)  # type: ignore[list-item]
    assert await chat.router.receive(REPORT, "test", "e1")  # stored, not yet handled
    healthy, body = await health.check(worker=True, scheduler=True)
    assert healthy and body["oldest_pending_seconds"] == 0  # stored this very second
    stale = int(STALE_INBOX.total_seconds())
    clock.advance(seconds=stale - 1)
    assert (await health.check(worker=True, scheduler=True))[0] is True
    clock.advance(seconds=1)  # waited STALE_INBOX exactly: no longer younger than it
    healthy, body = await health.check(worker=True, scheduler=True)
    assert not healthy and body["inbox"] is False
    clock.advance(days=1, seconds=-stale + 10)  # a day and 10 s: no wrapping to 10 s
    healthy, body = await health.check(worker=True, scheduler=True)
    assert not healthy and body["inbox"] is False
    assert body["oldest_pending_seconds"] == 86410
    assert "waited 86410s" in body["problems"]["inbox"]  # type: ignore[index]


async def test_health_turns_green_again_once_the_waiting_event_is_handled(
    chat: Chat, database: Store, clock: FakeClock
) -> None:
    health = Health(database, Delivery(database, clock, {}), [_Reachable()], clock)  # type: ignore[list-item]
    assert await chat.router.receive(REPORT, "test", "e1")  # stored, not yet handled
    clock.advance(seconds=int(STALE_INBOX.total_seconds()) + 1)
    healthy, body = await health.check(worker=True, scheduler=True)
    assert not healthy and body["inbox"] is False
    assert await chat.router.process_pending() == 1
    healthy, body = await health.check(worker=True, scheduler=True)
    assert healthy and body["inbox"] is True and body["oldest_pending_seconds"] == 0


async def test_health_has_one_entry_per_part_and_a_platform_down_for_no_known_reason_is_unreachable(
    database: Store, clock: FakeClock
) -> None:
    chats = [_Reachable(), _NotYetReached()]
    health = Health(database, Delivery(database, clock, {}), chats, clock)  # type: ignore[arg-type]
    assert await health.check(worker=True, scheduler=False) == (
        False,
        {
            "database": True,
            "inbox": True,
            CONSOLE: True,
            TELEGRAM: False,
            "worker": True,
            "scheduler": False,
            "oldest_pending_seconds": 0,
            "problems": {TELEGRAM: "unreachable"},
        },
    )


@pytest.mark.sqlite_only  # SQLite's own write lock
async def test_health_is_red_and_says_why_while_the_database_takes_no_write(
    database: Database, clock: FakeClock
) -> None:
    health = Health(database, Delivery(database, clock, {}), [_Reachable()], clock)  # type: ignore[list-item]
    holder = sqlite3.connect(database.path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        healthy, body = await health.check(worker=True, scheduler=True)
    finally:
        holder.close()
    assert not healthy and body["database"] is False and body["inbox"] is True
    problems = body["problems"]
    assert isinstance(problems, dict) and list(problems) == ["database"]
    assert problems["database"] in {"database is locked", f"no write within {WRITE_DEADLINE:g}s"}
    # The lock is gone: green again (at the latest once the probe that waited for it is over).
    healthy = (await health.check(worker=True, scheduler=True))[0]
    assert healthy or (await health.check(worker=True, scheduler=True))[0]
