"""Outbox delivery: order within a chat survives a failure; other chats are not held up."""

from __future__ import annotations

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery, PermanentSendError, TemporarySendError
from handlers.events import Outgoing, Place, PlaceKind
from storage.db import Database
from tests.chat import FakeClock


class FlakySender:
    def __init__(self, fail: dict[str, Exception]) -> None:
        self.fail = fail
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        error = self.fail.pop(outgoing.text, None)
        if error is not None:
            raise error
        self.sent.append(outgoing.text)
        return None


async def _queue(database: Database, clock: FakeClock, chat: str, *texts: str) -> None:
    async with database.transaction() as unit:
        for text in texts:
            message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text)
            await unit.outbox.add("console", message.to_json(), None, clock.now())


async def test_a_failed_message_holds_back_only_its_own_chat(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "alex", "a1", "a2", "a3")
    await _queue(database, clock, "sam", "s1")
    sender = FlakySender({"a1": TemporarySendError("429", retry_after=60)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 1
    assert sender.sent == ["s1"]
    clock.advance(seconds=59)
    assert await delivery.flush() == 0
    clock.advance(seconds=1)
    assert await delivery.flush() == 3
    assert sender.sent == ["s1", "a1", "a2", "a3"]


async def test_a_refused_message_is_given_up_and_the_chat_goes_on(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "alex", "bad", "next")
    sender = FlakySender({"bad": PermanentSendError("blocked")})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 1
    assert sender.sent == ["next"]
    clock.advance(days=1)
    assert await delivery.flush() == 0  # the refused one is not tried again
