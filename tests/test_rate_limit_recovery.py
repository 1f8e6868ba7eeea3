"""After a rate limit, one message at a time goes to the platform only until one is sent: then
chats are sent to side by side again, as before the limit."""

from __future__ import annotations

import asyncio

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery, RateLimited
from handlers.events import Outgoing, Place, PlaceKind
from storage.db import Database
from tests.chat import FakeClock


class CountingSender:
    """Rate limits each text in `limited` once; notes how many sends were in flight at most."""

    def __init__(self, limited: set[str]) -> None:
        self.limited = limited
        self.in_flight = 0
        self.most = 0
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        if outgoing.text in self.limited:
            self.limited.discard(outgoing.text)
            raise RateLimited("429", 0.01)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.05)  # an answer takes a moment to come back
        self.in_flight -= 1
        self.sent.append(outgoing.text)
        return None


async def _queue(database: Database, clock: FakeClock, chat: str, text: str) -> None:
    async with database.transaction() as unit:
        message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text)
        await unit.outbox.add(CONSOLE, message.to_json(), None, clock.now())


async def test_once_a_message_goes_after_a_rate_limit_chats_are_sent_side_by_side_again(
    database: Database, clock: FakeClock
) -> None:
    sender = CountingSender({"before"})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    await _queue(database, clock, "alex", "before")
    assert await delivery.flush() == 1  # limited once, then sent
    chats = [f"person{n}" for n in range(5)]
    for chat in chats:
        await _queue(database, clock, chat, f"{chat} after")
    sender.most = 0
    assert await delivery.flush() == len(chats)
    assert sender.most > 1
