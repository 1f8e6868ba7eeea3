"""After a rate limit, one message at a time goes to the platform only until one is sent: then
chats are sent to side by side again, as before the limit."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.adapters.console_config import CONSOLE
from bot.delivery import LEASE, Delivery, RateLimited
from handlers.events import Outgoing, Place, PlaceKind
from storage.db import Database
from tests.chat import FakeClock


class CountingSender:
    """Rate limits each text in `limited` once (the whole platform, or `workspace`); notes how
    many sends were in flight at most."""

    def __init__(self, limited: set[str], workspace: str = "") -> None:
        self.limited = limited
        self.workspace = workspace
        self.in_flight = 0
        self.most = 0
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        if outgoing.text in self.limited:
            self.limited.discard(outgoing.text)
            raise RateLimited("429", 0.01, workspace=self.workspace)
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


@pytest.mark.parametrize(
    ("workspace", "limited"),
    [("", ""), ("W1/", ""), ("W1/", "W1")],
    ids=["no-workspaces", "a-workspaces-chats-the-platform-limited", "a-workspace-limited"],
)
async def test_once_a_message_goes_after_a_rate_limit_chats_are_sent_side_by_side_again(
    database: Database, clock: FakeClock, workspace: str, limited: str
) -> None:
    """Chats with ids qualified by a Slack workspace ("W1/alex") too, whether the limit was
    the whole platform's or only their workspace's."""
    sender = CountingSender({"before"}, limited)
    delivery = Delivery(database, clock, {CONSOLE: sender})
    await _queue(database, clock, f"{workspace}alex", "before")
    assert await delivery.flush() == 1  # limited once, then sent
    chats = [f"{workspace}person{n}" for n in range(5)]
    for chat in chats:
        await _queue(database, clock, chat, f"{chat} after")
    sender.most = 0
    assert await delivery.flush() == len(chats)
    assert sender.most > 1


class ScriptedSender:
    """Answers each send, in the order they come, as `answers` says: an exception to raise
    (with `stop` set first for a CUT_OFF), or seconds the send takes before it goes."""

    CUT_OFF = RuntimeError("Session is closed")  # what a client closed under a send raises

    def __init__(self, answers: list[Exception | float], stop: asyncio.Event) -> None:
        self.answers = answers
        self.stop = stop
        self.tries: list[tuple[str, float]] = []
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        self.tries.append((outgoing.text, time.monotonic()))
        answer = self.answers.pop(0) if self.answers else 0.0
        if answer is self.CUT_OFF:
            self.stop.set()
        if isinstance(answer, Exception):
            raise answer
        await asyncio.sleep(answer)
        self.sent.append(outgoing.text)
        return None

    def tried(self, text: str) -> list[float]:
        return [moment for sent, moment in self.tries if sent == text]


async def test_one_workspaces_slow_probe_holds_back_no_other_workspaces(
    database: Database, clock: FakeClock
) -> None:
    """W1 and W2 were both rate limited; W1's first message after its pause takes a second to
    be answered, and W2's goes meanwhile: each workspace waits only for its own."""
    await _queue(database, clock, "W1/alex", "a1")
    await _queue(database, clock, "W2/sam", "s1")
    limits: list[Exception | float] = [
        RateLimited("429", 0.01, workspace="W1"),
        RateLimited("429", 0.01, workspace="W2"),
    ]
    sender = ScriptedSender([*limits, 1.0, 0.0], asyncio.Event())
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 2
    assert [text for text, _ in sender.tries] == ["a1", "s1", "a1", "s1"]
    assert sender.tried("s1")[1] - sender.tried("s1")[0] < 0.5


@pytest.mark.parametrize("cut_off", [1, 2], ids=["the-first-after-the-pause", "the-next"])
async def test_a_send_after_a_rate_limit_cut_off_by_the_shutdown_is_no_failure(
    database: Database, clock: FakeClock, cut_off: int
) -> None:
    """After a pause, the shutdown closes the client under the first message sent, or under the
    one that went once that one had: neither is the platform failing (for /healthz), nor uses
    up an attempt: the next process sends it at once."""
    await _queue(database, clock, "alex", "a1")
    await _queue(database, clock, "sam", "s1")
    stop = asyncio.Event()
    answers: list[Exception | float] = [RateLimited("its limits", 0.01, answered=False), 0.05]
    answers.insert(cut_off, ScriptedSender.CUT_OFF)
    sender = ScriptedSender(answers, stop)
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush(stop) == cut_off - 1  # the other chat's went first, or none
    assert all(outcome.ok for outcome in delivery.outcomes.values())
    clock.advance(seconds=1)  # past the pause's end the rows were handed back with
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 2 - (cut_off - 1)
    assert sorted(sender.sent) == ["a1", "s1"]


async def test_a_chat_whose_claim_ran_out_waiting_its_turn_after_a_pause_goes_on_a_new_claim(
    database: Database, clock: FakeClock
) -> None:
    """After a pause, the first message sent takes longer than a claim's lease to be answered;
    the chat waiting its turn is not sent on a claim that ran out (another process may hold its
    row by now), but claimed again, and sent once."""
    await _queue(database, clock, "alex", "a1")
    await _queue(database, clock, "sam", "s1")

    class SlowFirstAfterThePause:
        def __init__(self) -> None:
            self.tries = 0
            self.sent: list[str] = []

        async def send(self, outgoing: Outgoing) -> str | None:
            self.tries += 1
            if self.tries == 1:
                raise RateLimited("429", 0.01)
            if self.tries == 2:
                await asyncio.sleep(0.05)
                clock.advance(seconds=LEASE.total_seconds() + 1)
            self.sent.append(outgoing.text)
            return None

    sender = SlowFirstAfterThePause()
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 2
    assert sorted(sender.sent) == ["a1", "s1"]
