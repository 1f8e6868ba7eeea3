"""/healthz's inbox check: red once an event has waited past STALE_INBOX, however long ago that
was, days included; and green again once it is handled, each check looking afresh."""

from __future__ import annotations

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery
from bot.health import STALE_INBOX, Health
from handlers.events import Incoming, IncomingKind, User
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


async def test_health_is_red_when_the_oldest_waiting_event_is_more_than_a_day_old(
    chat: Chat, database: Store, clock: FakeClock
) -> None:
    health = Health(database, Delivery(database, clock, {}), [_Reachable()], clock)  # type: ignore[list-item]
    assert await chat.router.receive(REPORT, "test", "e1")  # stored, not yet handled
    stale = int(STALE_INBOX.total_seconds())
    clock.advance(seconds=stale - 1)
    assert (await health.check(worker=True, scheduler=True))[0] is True
    clock.advance(seconds=2)
    healthy, body = await health.check(worker=True, scheduler=True)
    assert not healthy and body["inbox"] is False
    clock.advance(days=1, seconds=-(stale + 1) + 10)  # a day and 10 s: no wrapping to 10 s
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
