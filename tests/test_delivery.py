"""Outbox delivery: order within a chat survives a failure; other chats are not held up."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot import delivery as delivery_module
from bot import router as router_module
from bot.adapters.console_config import CONSOLE
from bot.adapters.telegram_config import TELEGRAM
from bot.delivery import (
    COMBINE_CHARS,
    COMBINE_MAX,
    LEASE,
    Delivery,
    PermanentSendError,
    TemporarySendError,
    _SentWriter,
)
from bot.metrics import Metrics
from bot.pump import Pump
from bot.router import Router
from handlers import privacy
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, User
from handlers.settings import Config
from storage.db import Database
from tests.chat import STAFF_ROOM, FakeClock


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


async def _queue(
    database: Database, clock: FakeClock, chat: str, *texts: str, combine: bool = False
) -> None:
    async with database.transaction() as unit:
        for text in texts:
            message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text, combine=combine)
            await unit.outbox.add("console", message.to_json(), None, clock.now())


async def _nothing_left(delivery: Delivery, clock: FakeClock) -> bool:
    """Nothing left to send, even once every lease and retry is over."""
    clock.advance(hours=1)
    return await delivery.flush() == 0


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


@pytest.mark.parametrize(
    "error", [TemporarySendError("502"), ConnectionResetError()], ids=["outage", "broken"]
)
async def test_a_message_failing_without_a_retry_after_is_tried_again_after_2_4_then_8_seconds(
    database: Database, clock: FakeClock, error: Exception
) -> None:
    """Each failed attempt doubles the wait, so a platform that is down is not hammered and
    one back soon hears from Casebook soon. The metrics count each failure, and the send."""
    await _queue(database, clock, "alex", "a1")
    sender = FlakySender({"a1": error})
    metrics = Metrics()
    delivery = Delivery(database, clock, {CONSOLE: sender}, metrics)
    running = asyncio.Event()  # the worker's, never set here: no shutdown under these sends
    assert await delivery.flush(running) == 0
    for wait, fails_again in ((2, True), (4, True), (8, False)):
        if fails_again:
            sender.fail["a1"] = error
        clock.advance(seconds=wait - 1)
        assert await delivery.flush(running) == 0
        assert ("a1" in sender.fail) is fails_again  # not tried a second early
        clock.advance(seconds=1)
        assert await delivery.flush(running) == (0 if fails_again else 1)
        assert "a1" not in sender.fail
    assert sender.sent == ["a1"]
    counted = metrics.registry.get_sample_value
    assert counted("casebook_send_failures_total", {"transport": CONSOLE}) == 3
    assert counted("casebook_messages_sent_total", {"transport": CONSOLE}) == 1


async def test_a_chats_messages_go_one_after_another_without_a_pause_between(
    database: Database, clock: FakeClock
) -> None:
    """A report's reply and its follow-up questions reach the reporter at once, not a second
    apart each."""
    await _queue(database, clock, "alex", "logged", "question 1", "question 2", "question 3")
    started = time.monotonic()
    assert await Delivery(database, clock, {CONSOLE: FlakySender({})}).flush() == 4
    assert time.monotonic() - started < 1.0


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


async def test_alerts_queued_together_go_as_one_message_in_their_order(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "leads", "first")
    await _queue(database, clock, "leads", *(f"alert {n}" for n in range(30)), combine=True)
    await _queue(database, clock, "leads", "after")
    await _queue(database, clock, "leads", "alert 30", "alert 31", combine=True)
    sender = FlakySender({})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 34
    assert sender.sent == [
        "first",
        "\n".join(f"alert {n}" for n in range(COMBINE_MAX)),
        "\n".join(f"alert {n}" for n in range(COMBINE_MAX, 30)),
        "after",
        "alert 30\nalert 31",
    ]
    assert await _nothing_left(delivery, clock)


async def test_a_combined_message_stays_within_the_size_every_platform_takes(
    database: Database, clock: FakeClock
) -> None:
    long = "x" * ((COMBINE_CHARS - 1) // 2)  # two fit in one message, with their newline
    await _queue(database, clock, "leads", long, long, long, combine=True)
    sender = FlakySender({})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 3
    assert sender.sent == [f"{long}\n{long}", long]
    assert await _nothing_left(delivery, clock)


async def test_a_combined_message_that_fails_is_retried_whole(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "leads", "a", "b", combine=True)
    await _queue(database, clock, "leads", "c")
    sender = FlakySender({"a\nb": TemporarySendError("429", retry_after=30)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 0
    assert sender.sent == []
    clock.advance(seconds=30)
    assert await delivery.flush() == 3
    assert sender.sent == ["a\nb", "c"]
    assert await _nothing_left(delivery, clock)


async def test_alerts_that_fill_a_message_exactly_go_together_and_one_more_character_does_not(
    database: Database, clock: FakeClock
) -> None:
    half = (COMBINE_CHARS - 1) // 2
    third = (COMBINE_CHARS - 2) // 3
    # With their newlines: COMBINE_CHARS (three, so each newline is counted once only).
    exact = ("a" * third, "b" * third, "e" * (COMBINE_CHARS - 2 - 2 * third))
    over = ("c" * half, "d" * (COMBINE_CHARS - half))
    await _queue(database, clock, "leads", *exact, combine=True)
    await _queue(database, clock, "others", *over, combine=True)
    sender = FlakySender({})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 5
    assert sorted(sender.sent) == sorted(["\n".join(exact), *over])


async def test_a_combined_message_refused_for_good_gives_up_every_row_in_it(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "leads", "a", "b", combine=True)
    await _queue(database, clock, "leads", "c")
    sender = FlakySender({"a\nb": PermanentSendError("blocked")})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 1
    assert sender.sent == ["c"]
    assert await _nothing_left(delivery, clock)  # neither row goes again, alone or together
    assert sender.sent == ["c"]


@pytest.mark.sqlite_only
async def test_a_message_waiting_for_its_retry_keeps_the_platforms_answer_as_its_error(
    database: Database, clock: FakeClock
) -> None:
    """What `casebook inbox list` and the logs show is why the message failed, not that it
    waits behind itself."""
    await _queue(database, clock, "leads", "a", "b", combine=True)
    await _queue(database, clock, "leads", "c")
    sender = FlakySender({"a\nb": TemporarySendError("429 rate limited", retry_after=30)})
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0
    with sqlite3.connect(database.path) as db:
        errors = [row[0] for row in db.execute("SELECT last_error FROM outbox ORDER BY id")]
    assert errors == ["429 rate limited", "429 rate limited", "waiting for an earlier message"]


class GatedSender:
    """Holds the messages in `held` (every one when None) until the test opens the gate, and
    sends the rest at once, noting what is on the wire."""

    def __init__(self, held: set[str] | None = None) -> None:
        self.held = held
        self.gate = asyncio.Event()
        self.on_wire: list[str] = []
        self.sent: list[str] = []
        self.arrived = asyncio.Condition()

    async def send(self, outgoing: Outgoing) -> str | None:
        async with self.arrived:
            self.on_wire.append(outgoing.text)
            self.arrived.notify_all()
        if self.held is None or outgoing.text in self.held:
            await self.gate.wait()
        self.sent.append(outgoing.text)
        return None

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.on_wire) >= count)


def _flush_woken_by(
    database: Database, clock: FakeClock, sender: GatedSender
) -> tuple[asyncio.Event, asyncio.Task[int]]:
    """A flush running in the background, and the event that wakes it as the worker does."""
    more = asyncio.Event()
    flush = asyncio.create_task(Delivery(database, clock, {CONSOLE: sender}).flush(more=more))
    return more, flush


async def test_rows_committed_while_others_are_sent_go_out_without_waiting_for_them(
    database: Database, clock: FakeClock
) -> None:
    """A reply handled during a burst is not held back until every earlier chat is done."""
    await _queue(database, clock, "alex", "slow")
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await _queue(database, clock, "sam", "s1")
    more.set()
    await sender.wait_for(2)
    assert sender.on_wire == ["slow", "s1"] and sender.sent == []
    sender.gate.set()
    assert await flush == 2


async def test_no_more_is_claimed_while_chats_enough_are_being_sent(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "CLAIM", 2)
    monkeypatch.setattr(delivery_module, "CHATS", 2)
    for name in ("a", "b", "c", "d", "e"):
        await _queue(database, clock, name, name)
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(2)
    more.set()  # woken, but two chats are being sent: nothing more is claimed
    await asyncio.sleep(0.05)
    assert sender.on_wire == ["a", "b"]
    sender.gate.set()
    assert await flush == 5
    assert sorted(sender.sent) == ["a", "b", "c", "d", "e"]


async def test_a_message_queued_behind_a_chat_being_sent_follows_it_at_once(
    database: Database, clock: FakeClock
) -> None:
    """A claim while a chat is being sent leaves that chat's new rows out (to keep its order);
    they are claimed as soon as it is done, not at the worker's next round."""
    await _queue(database, clock, "alex", "a1")
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await _queue(database, clock, "alex", "a2")
    more.set()
    await asyncio.sleep(0.05)
    assert sender.on_wire == ["a1"]
    sender.gate.set()
    assert await flush == 2
    assert sender.sent == ["a1", "a2"]


async def test_a_reply_in_one_reports_thread_goes_while_anothers_is_on_the_wire(
    database: Database, clock: FakeClock
) -> None:
    """Report threads of one channel are chats of their own: a reply committed while another
    thread's message is being sent goes beside it. (On PostgreSQL the rows this process has
    claimed in the channel are told from another process's by the claim's owner.)"""
    await _queue_in_thread(database, clock, "t1", "first")
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await _queue_in_thread(database, clock, "t2", "second")
    more.set()
    await sender.wait_for(2)
    assert sender.on_wire == ["first", "second"] and sender.sent == []
    sender.gate.set()
    assert await flush == 2


async def test_a_threads_next_reply_waits_for_the_one_on_the_wire(
    database: Database, clock: FakeClock
) -> None:
    await _queue_in_thread(database, clock, "t1", "r1")
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await _queue_in_thread(database, clock, "t1", "r2")
    more.set()
    await asyncio.sleep(0.05)
    assert sender.on_wire == ["r1"]
    sender.gate.set()
    assert await flush == 2
    assert sender.sent == ["r1", "r2"]


async def test_a_message_to_a_channel_goes_before_the_thread_replies_queued_after_it(
    database: Database, clock: FakeClock
) -> None:
    await _queue_in_thread(database, clock, None, "to the channel")
    await _queue_in_thread(database, clock, "t1", "reply")
    sender = GatedSender(held={"to the channel"})
    _, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await asyncio.sleep(0.05)
    assert sender.on_wire == ["to the channel"]
    sender.gate.set()
    assert await flush == 2
    assert sender.sent == ["to the channel", "reply"]


async def test_report_threads_and_private_messages_in_one_channel_go_side_by_side(
    database: Database, clock: FakeClock
) -> None:
    await _queue_in_thread(database, clock, "t1", "thread 1")
    await _queue_in_thread(database, clock, "t2", "thread 2")
    staff = Place(CONSOLE, "staff", PlaceKind.CHANNEL)
    async with database.transaction() as unit:
        for name in ("alex", "sam"):
            message = Outgoing(staff, f"to {name}", to_user=User(CONSOLE, name), private=True)
            await unit.outbox.add("console", message.to_json(), None, clock.now())
    sender = GatedSender()
    _, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(4)
    assert sorted(sender.on_wire) == ["thread 1", "thread 2", "to alex", "to sam"]
    sender.gate.set()
    assert await flush == 4


async def test_a_private_message_in_a_thread_holds_the_channel_while_it_is_sent(
    database: Database, clock: FakeClock
) -> None:
    """A chat to one person in a channel holds the whole channel, in a thread too: a message
    to the channel queued meanwhile goes after it."""
    staff = Place(CONSOLE, "staff", PlaceKind.CHANNEL)
    private = Outgoing(staff, "to alex", thread="t1", to_user=User(CONSOLE, "alex"), private=True)
    async with database.transaction() as unit:
        await unit.outbox.add("console", private.to_json(), None, clock.now())
    sender = GatedSender()
    more, flush = _flush_woken_by(database, clock, sender)
    await sender.wait_for(1)
    await _queue_in_thread(database, clock, None, "to the channel")
    more.set()
    await asyncio.sleep(0.05)
    assert sender.on_wire == ["to alex"]
    sender.gate.set()
    assert await flush == 2
    assert sender.sent == ["to alex", "to the channel"]


async def _queue_in_thread(
    database: Database, clock: FakeClock, thread: str | None, text: str
) -> None:
    message = Outgoing(Place(CONSOLE, "staff", PlaceKind.CHANNEL), text, thread=thread)
    async with database.transaction() as unit:
        await unit.outbox.add("console", message.to_json(), None, clock.now())


async def test_a_full_claim_is_followed_by_another_without_a_wake(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "CLAIM", 2)
    for name in ("a", "b", "c", "d", "e"):
        await _queue(database, clock, name, name)
    sender = FlakySender({})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush(more=asyncio.Event()) == 5
    assert sorted(sender.sent) == ["a", "b", "c", "d", "e"]


async def test_a_sent_mark_committed_by_another_senders_write_needs_no_write_of_its_own(
    database: Database, clock: FakeClock
) -> None:
    """Senders share "sent" commits. One whose mark went into a commit that has finished goes
    on with its chat at once, even though marks added since wait for the next commit (which
    here cannot start: another transaction holds the database)."""
    await _queue(database, clock, "alex", "a1", "a2", "a3", "a4")
    writer = _SentWriter(database, clock)
    first = asyncio.create_task(writer.commit([1], None, None))
    second = asyncio.create_task(writer.commit([2], None, None))
    third = asyncio.create_task(writer.commit([3], None, None))
    release = asyncio.Event()

    async def hold_the_database() -> None:
        async with database.transaction():
            await release.wait()

    while writer._started < 2:  # the second write (by `second`) has taken marks 2 and 3
        await asyncio.sleep(0)
    holder = asyncio.create_task(hold_the_database())  # next in line once it commits
    writer.add(4, None, None)  # sent meanwhile: it waits for the next commit
    try:
        await first
        await second
        await asyncio.wait_for(third, 2)
    finally:
        release.set()
        await holder
    await writer.commit([], None, None)
    async with database.transaction() as unit:
        assert await unit.outbox.claim_due(["console"], clock.now(), clock.now()) == []


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.001)


async def test_a_chats_later_messages_give_way_to_other_chats_first_ones(
    database: Database, clock: FakeClock
) -> None:
    """In a burst, each reporter hears their report is logged before anyone is asked more."""
    await _queue(database, clock, "alex", "logged 1", "question 1")
    await _queue(database, clock, "sam", "logged 2")
    sender = GatedSender({"logged 2"})
    flush = asyncio.create_task(Delivery(database, clock, {CONSOLE: sender}).flush())
    await _until(lambda: sender.sent == ["logged 1"] and "logged 2" in sender.on_wire)
    await asyncio.sleep(0.05)
    assert "question 1" not in sender.on_wire
    sender.gate.set()
    assert await flush == 3
    assert sender.sent == ["logged 1", "logged 2", "question 1"]


async def test_a_later_message_gives_way_for_a_bounded_time_only(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "GIVE_WAY", 0.05)
    await _queue(database, clock, "alex", "logged 1", "question 1")
    await _queue(database, clock, "sam", "logged 2")
    sender = GatedSender({"logged 2"})
    flush = asyncio.create_task(Delivery(database, clock, {CONSOLE: sender}).flush())
    await _until(lambda: sender.sent == ["logged 1", "question 1"])
    assert "logged 2" not in sender.sent
    sender.gate.set()
    assert await flush == 3


async def test_a_message_whose_claim_ran_out_is_left_to_the_next_claim(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A process held up past its claim's end may find the rows claimed by another by now:
    it sends none of them, and the next claim (here another process's) sends each once."""
    await _queue(database, clock, "alex", "a1", "a2")
    sender = GatedSender({"a1"})
    held_up = Delivery(database, clock, {CONSOLE: sender})
    flush = asyncio.create_task(held_up.flush(more=asyncio.Event()))  # as the worker runs it
    await _until(lambda: sender.on_wire == ["a1"])
    clock.advance(seconds=LEASE.total_seconds() + 1)
    sender.gate.set()
    with caplog.at_level("WARNING", logger="bot.delivery"):
        assert await flush == 1
    assert sender.sent == ["a1"]
    assert [r.getMessage() for r in caplog.records if r.name == "bot.delivery"] == [
        "claim ran out before 1 outbox row(s) went"  # a sign of a process held up too long
    ]
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 1
    assert sender.sent == ["a1", "a2"]


async def test_one_platforms_slow_first_message_holds_back_no_other_platforms_messages(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "GIVE_WAY", 30.0)
    await _queue(database, clock, "alex", "logged 1", "question 1")
    async with database.transaction() as unit:
        message = Outgoing(Place(TELEGRAM, "42", PlaceKind.DIRECT), "logged 2")
        await unit.outbox.add(TELEGRAM, message.to_json(), None, clock.now())
    console, telegram = GatedSender(set()), GatedSender({"logged 2"})
    delivery = Delivery(database, clock, {CONSOLE: console, TELEGRAM: telegram})
    flush = asyncio.create_task(delivery.flush())
    await _until(lambda: console.sent == ["logged 1", "question 1"])
    assert telegram.on_wire == ["logged 2"] and telegram.sent == []
    telegram.gate.set()
    assert await flush == 3


async def test_a_first_message_that_fails_lets_other_chats_later_messages_go_at_once(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first message that failed (or a chat stopped before its first) is no longer waited
    for: otherwise every later message would give way for ever after."""
    monkeypatch.setattr(delivery_module, "GIVE_WAY", 10.0)
    await _queue(database, clock, "alex", "a1")
    sender = FlakySender({"a1": TemporarySendError("429", retry_after=600)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 0
    await _queue(database, clock, "sam", "s1", "s2")
    async with asyncio.timeout(2):
        assert await delivery.flush() == 2


class StoppingSender:
    """Sets `stop` as its first message goes, as a worker told to stop mid-flush."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        self.stop.set()
        self.sent.append(outgoing.text)
        return None


class StopOnA1Sender:
    """Sets `stop` as a1 goes, while s1, sent beside it, is still on the wire (0.2 s against
    a1's 0.05 s): a worker told to stop with another chat's message mid-send."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        if outgoing.text == "a1":
            self.stop.set()
        await asyncio.sleep(0.05 if outgoing.text == "a1" else 0.2)
        self.sent.append(outgoing.text)
        return None


async def test_a_flush_told_to_stop_waits_for_the_messages_on_the_wire_and_counts_them(
    database: Database, clock: FakeClock
) -> None:
    """sam's message was being sent when alex's send saw the worker told to stop: the flush
    returns once sam's has gone and is marked sent, counting both, not while it is on the wire
    (the shutdown would cut it off, and it would go again after the restart)."""
    await _queue(database, clock, "sam", "s1")
    await _queue(database, clock, "alex", "a1")
    stop = asyncio.Event()

    sender = StopOnA1Sender(stop)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush(stop) == 2
    assert sender.sent == ["a1", "s1"]
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0


async def test_a_flush_stopped_between_two_messages_of_a_chat_counts_the_one_sent(
    database: Database, clock: FakeClock
) -> None:
    """The worker was told to stop as a1 went: a1 counts as sent, and a2 is handed back, due
    at once, for the next process."""
    await _queue(database, clock, "alex", "a1", "a2")
    stop = asyncio.Event()
    sender = StoppingSender(stop)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush(stop) == 1
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 1
    assert sender.sent == ["a1", "a2"]


async def test_a_chat_stopped_before_its_first_message_is_not_waited_for_afterwards(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "GIVE_WAY", 10.0)
    await _queue(database, clock, "alex", "a1")
    await _queue(database, clock, "sam", "s1")
    stop = asyncio.Event()
    delivery = Delivery(database, clock, {CONSOLE: StoppingSender(stop)})
    assert await delivery.flush(stop) == 1  # the other chat is handed back unsent
    await _queue(database, clock, "jo", "j1", "j2")
    async with asyncio.timeout(2):
        assert await delivery.flush() == 3


class FailingFirstCommit:
    """The store, except that the first transaction fails as it ends (a disk error, say)."""

    def __init__(self, inner: Database) -> None:
        self._inner = inner
        self.failed = False

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        async with self._inner.transaction(first=first) as unit:
            yield unit
            if not self.failed:
                self.failed = True
                raise RuntimeError("disk I/O error")


async def test_a_sent_mark_counts_as_written_only_once_its_commit_succeeded(
    database: Database, clock: FakeClock
) -> None:
    """A sender whose mark was in a write that failed writes it again itself: its chat's next
    message must not go out before the mark is on disk."""
    await _queue(database, clock, "alex", "a1", "a2")
    writer = _SentWriter(FailingFirstCommit(database), clock)  # type: ignore[arg-type]
    first = asyncio.create_task(writer.commit([1], None, None))
    second = asyncio.create_task(writer.commit([2], None, None))
    with pytest.raises(RuntimeError):
        await first
    await second
    async with database.transaction() as unit:
        assert await unit.outbox.claim_due(["console"], clock.now(), clock.now()) == []


class FailingCommit:
    """The store, except that its `failing`-th transaction fails as it ends."""

    def __init__(self, inner: Database, failing: int) -> None:
        self._inner = inner
        self.failing = failing
        self.begun = 0

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        self.begun += 1
        number = self.begun
        async with self._inner.transaction(first=first) as unit:
            yield unit
            if number == self.failing:
                raise RuntimeError("disk I/O error")


async def test_a_sent_message_whose_mark_failed_is_recorded_by_the_next_flush_not_sent_again(
    database: Database, clock: FakeClock
) -> None:
    """The message went but the commit saying so failed: the next flush writes that mark
    before anything else, so the row is never claimed and sent again once its lease ends."""
    await _queue(database, clock, "alex", "a1")
    store = FailingCommit(database, failing=2)  # the claim, then the "sent" mark
    sender = FlakySender({})
    delivery = Delivery(store, clock, {CONSOLE: sender})  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="disk I/O error"):
        await delivery.flush()
    assert await delivery.flush() == 0
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await delivery.flush() == 0
    assert sender.sent == ["a1"]


async def test_a_stopping_flush_whose_last_sent_mark_failed_returns_and_the_next_records_it(
    database: Database, clock: FakeClock
) -> None:
    """The worker was told to stop while sam's message was on the wire, and the commit saying
    it went failed: the flush still returns (the worker shuts down as asked), and the next
    process's first flush records the mark, so sam's message is not sent again."""
    await _queue(database, clock, "sam", "s1")
    await _queue(database, clock, "alex", "a1")
    stop = asyncio.Event()

    sender = StopOnA1Sender(stop)
    store = FailingCommit(database, failing=3)  # the claim, alex's mark, then sam's
    delivery = Delivery(store, clock, {CONSOLE: sender})  # type: ignore[arg-type]
    assert await delivery.flush(stop) == 1
    assert await delivery.flush() == 0
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await delivery.flush() == 0
    assert sender.sent == ["a1", "s1"]


class LockedOnce(FailingCommit):
    """The store, except that its `failing`-th transaction finds the database locked."""

    @contextlib.asynccontextmanager
    async def transaction(self, *, first: bool = False) -> AsyncIterator[Any]:
        self.begun += 1
        number = self.begun
        async with self._inner.transaction(first=first) as unit:
            yield unit
            if number == self.failing:
                raise sqlite3.OperationalError("database is locked")


async def test_a_sent_mark_is_written_through_a_briefly_locked_database(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message went; the database was locked when its "sent" mark was first committed:
    the mark is written on a second try (here the last), so no later process sends the
    message again."""
    monkeypatch.setattr(delivery_module, "RECORD_TRIES", 2)
    await _queue(database, clock, "alex", "a1")
    sender = FlakySender({})
    store = LockedOnce(database, failing=2)  # the claim, then the "sent" mark
    assert await Delivery(store, clock, {CONSOLE: sender}).flush() == 1  # type: ignore[arg-type]
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0
    assert sender.sent == ["a1"]


async def test_a_flush_claims_once_for_chats_that_no_claim_passed_over(
    database: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chats claimed together, with nothing committed meanwhile, need no claim as each ends."""
    for name in ("a", "b", "c"):
        await _queue(database, clock, name, name)
    delivery = Delivery(database, clock, {CONSOLE: FlakySender({})})
    claims = 0
    claim = delivery._claim

    async def counted(*args: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim(*args)

    monkeypatch.setattr(delivery, "_claim", counted)
    assert await delivery.flush(more=asyncio.Event()) == 3
    assert claims == 1


async def test_the_worker_sends_a_reply_committed_while_another_chat_is_still_sending(
    database: Database, clock: FakeClock, config: Config
) -> None:
    """The worker wakes its deliverers when replies are committed, and they claim them at once
    rather than after the chat they are sending."""
    await _queue(database, clock, "alex", "slow")
    sender = GatedSender()
    router = Router(database, config, clock, frozenset({CONSOLE}))
    pump = Pump(router, Delivery(database, clock, {CONSOLE: sender}), interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(pump.run(stop))
    try:
        await sender.wait_for(1)
        await _queue(database, clock, "sam", "s1")
        pump.wake_delivery()
        await sender.wait_for(2)
        assert sender.on_wire == ["slow", "s1"] and sender.sent == []
    finally:
        sender.gate.set()
        stop.set()
        await running


@pytest.mark.sqlite_only  # PostgreSQL gives delivery a connection of its own, and runs lanes
async def test_a_batchs_replies_are_claimed_before_the_next_batch_is_handled(
    database: Database, clock: FakeClock, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a burst the worker hands SQLite's one connection to its woken deliverers between
    batches: the first replies go out while the second batch is handled, not after it."""
    monkeypatch.setattr(router_module, "BATCH", 5)
    metrics = Metrics()
    router = Router(database, config, clock, frozenset({CONSOLE}), metrics)
    for n in range(20):
        user = User(CONSOLE, f"staff{n}", f"Staff {n}")
        report = Incoming(
            IncomingKind.MESSAGE, STAFF_ROOM, user, text=f"report {n}", school="Northfield"
        )
        await router.receive(report, "test", f"burst-{n}")

    handled_at_first_send: list[float | None] = []

    class Noting:
        async def send(self, outgoing: Outgoing) -> str | None:
            if not handled_at_first_send:
                handled = metrics.registry.get_sample_value("casebook_reports_received_total")
                handled_at_first_send.append(handled)
            return None

    pump = Pump(router, Delivery(database, clock, {CONSOLE: Noting()}), interval=60)
    stop = asyncio.Event()
    running = asyncio.create_task(pump.run(stop))
    try:
        async with asyncio.timeout(10):
            while metrics.registry.get_sample_value("casebook_reports_received_total") != 20:
                await asyncio.sleep(0.01)
    finally:
        stop.set()
        await running
    assert handled_at_first_send == [5]


async def test_messages_of_chats_finishing_together_are_all_recorded_before_the_flush_returns(
    database: Database, clock: FakeClock
) -> None:
    """A mark added while another write opens its transaction is not in that write: its
    sender waits for the next, so a restart right after the flush sends nothing again."""
    for name in ("alex", "sam", "kim"):
        await _queue(database, clock, name, name)
    first = FlakySender({})
    assert await Delivery(database, clock, {CONSOLE: first}).flush() == 3
    clock.advance(seconds=LEASE.total_seconds() + 1)
    after_restart = FlakySender({})
    assert await Delivery(database, clock, {CONSOLE: after_restart}).flush() == 0
    assert sorted(first.sent) == ["alex", "kim", "sam"] and after_restart.sent == []


class ChatRefSender:
    """Answers each message with a reference naming the chat it went to, as platforms do."""

    async def send(self, outgoing: Outgoing) -> str | None:
        return f"{outgoing.place.id}|{outgoing.text}"


async def test_retention_forgets_which_direct_chat_each_message_went_to_and_nothing_else(
    database: Database, clock: FakeClock
) -> None:
    """A month on, the reference of a message to a person's direct chat is blanked (it names
    the person's chat), whether the chat is named by the person or by its own id, or a private
    message in a channel went there; a message to the channel keeps its reference."""
    alex = User(CONSOLE, "alex")
    staff = Place(CONSOLE, "staff", PlaceKind.CHANNEL)
    messages = (
        Outgoing(Place(CONSOLE, "D-alex", PlaceKind.DIRECT), "dm", to_user=alex),
        Outgoing(Place(CONSOLE, "sam", PlaceKind.DIRECT), "dm sam"),
        Outgoing(staff, "private", to_user=alex, private=True),
        Outgoing(staff, "to the channel", to_user=alex),
    )
    async with database.transaction() as unit:
        await unit.people.ensure("console:alex", "Alex")
        await unit.people.ensure("console:sam", "Sam")
        ids = [await unit.outbox.add("console", m.to_json(), None, clock.now()) for m in messages]
    assert await Delivery(database, clock, {CONSOLE: ChatRefSender()}).flush() == 4
    clock.advance(days=31)
    async with database.transaction() as unit:
        await privacy.purge(unit, [], clock.now())
        refs = [await unit.outbox.message_ref(i) for i in ids]
    assert refs == [None, None, None, "staff|to the channel"]


async def test_a_failed_send_names_its_case_and_never_a_case_of_none(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with database.transaction() as unit:
        for text, case_id, chat in (("no case", None, "alex"), ("of a case", 7, "sam")):
            message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text, case_id=case_id)
            await unit.outbox.add("console", message.to_json(), None, clock.now())
    sender = FlakySender(
        {"no case": TemporarySendError("503"), "of a case": TemporarySendError("503")}
    )
    with caplog.at_level("WARNING", logger="bot.delivery"):
        await Delivery(database, clock, {CONSOLE: sender}).flush()
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(lines) == 2, lines
    assert not any("None" in line for line in lines), lines
    assert sum("(case 7)" in line for line in lines) == 1, lines
    assert any(line.startswith("send of outbox 1 failed, retrying") for line in lines), lines


async def test_a_message_given_up_or_retried_is_logged_with_its_rows_case_and_answer(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The one line an operator has for a lost or late message: which outbox rows (two
    alerts combined into one message), of which case, after how many attempts, and what the
    platform answered."""
    async with database.transaction() as unit:
        for text, case_id, chat in (
            ("alert 1", 7, "leads"),
            ("alert 2", 7, "leads"),
            ("s1", 8, "sam"),
            ("k1", 9, "kim"),
        ):
            message = Outgoing(
                Place(CONSOLE, chat, PlaceKind.DIRECT), text, case_id=case_id, combine=True
            )
            await unit.outbox.add("console", message.to_json(), None, clock.now())
    sender = FlakySender(
        {
            "alert 1\nalert 2": PermanentSendError("blocked"),
            "s1": TemporarySendError("503", retry_after=30),
            "k1": ConnectionResetError("reset by peer"),
        }
    )
    with caplog.at_level("WARNING", logger="bot.delivery"):
        assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0
    assert sorted((r.levelname, r.getMessage()) for r in caplog.records) == [
        ("ERROR", "giving up on outbox 1, 2 (case 7) after 8 attempts: blocked"),
        ("WARNING", "send of outbox 3 (case 8) failed, retrying in 30s: 503"),
        ("WARNING", "send of outbox 4 (case 9) failed, retrying in 2s: ConnectionResetError"),
    ]


async def test_a_send_cut_off_by_the_shutdown_is_not_logged_as_a_failure(
    database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with database.transaction() as unit:
        for text in ("a1", "a2"):
            place = Place(CONSOLE, "leads", PlaceKind.DIRECT)  # two alerts: one message
            message = Outgoing(place, text, case_id=7, combine=True)
            await unit.outbox.add("console", message.to_json(), None, clock.now())
    stop = asyncio.Event()

    class ClosedUnderIt:
        """What a platform's client does when the shutdown closes it during a send."""

        def __init__(self) -> None:
            self.sent: list[str] = []

        async def send(self, outgoing: Outgoing) -> str | None:
            if not stop.is_set():
                stop.set()
                raise RuntimeError("Session is closed")
            self.sent.append(outgoing.text)
            return None

    sender = ClosedUnderIt()
    delivery = Delivery(database, clock, {CONSOLE: sender})
    with caplog.at_level("INFO", logger="bot.delivery"):
        assert await delivery.flush(stop) == 0
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "bot.delivery"] == [
        ("INFO", "send of outbox 1, 2 (case 7) stopped by the shutdown")
    ]
    assert delivery.outcomes == {}  # the platform is not marked failing for /healthz
    # Nothing is lost: the next process sends both, together as before, at once.
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 2
    assert sender.sent == ["a1\na2"]
