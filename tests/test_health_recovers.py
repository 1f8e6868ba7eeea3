"""/healthz looks again at each check: once a stuck event has been handled, the next check is
green, not what an earlier check saw."""

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
