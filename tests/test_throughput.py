"""Handling and delivery under a burst: batches that keep each item's own error boundary,
deliverers that start on the first batch, and fairness between people and between chats."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery, TemporarySendError
from bot.router import BATCH
from handlers import messages
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, User
from storage.db import Database
from storage.models import Platform
from tests.chat import STAFF_ROOM, Chat, FakeClock, texts
from tests.fakes.slack_api import FakeSlackApi
from tests.slack_harness import SlackBot, slack_config

LINK = "https://www.tiktok.com/@someone/video/73012345678901234"


def _report(user: str, n: int) -> Incoming:
    return Incoming(
        IncomingKind.MESSAGE,
        STAFF_ROOM,
        User(CONSOLE, user, user),
        text=f"{LINK}{n:02d}",
        school="Northfield",
    )


async def _queue(database: Database, clock: FakeClock, event_id: str, payload: str) -> None:
    async with database.transaction() as unit:
        await unit.inbox.add("test", event_id, payload, clock.now())


class Sender:
    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.fail = fail or {}
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        await asyncio.sleep(0)  # as a real send waits on the network, letting other chats go
        error = self.fail.pop(outgoing.text, None)
        if error is not None:
            raise error
        self.sent.append(outgoing.text)
        return None


async def _outbox(database: Database, clock: FakeClock, *messages: Outgoing) -> None:
    async with database.transaction() as unit:
        for message in messages:
            await unit.outbox.add("console", message.to_json(), None, clock.now())


def _in(chat: str, text: str, thread: str | None = None) -> Outgoing:
    return Outgoing(Place(CONSOLE, chat, PlaceKind.CHANNEL), text, thread=thread)


@pytest.mark.sqlite_only
async def test_a_failing_item_in_a_batch_undoes_only_its_own_writes(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    bad = json.loads(_report("sam", 2).to_json())
    bad["text"] = ["not", "text"]  # decodes, but the handler fails on it
    await _queue(database, clock, "first", _report("alex", 1).to_json())
    await _queue(database, clock, "bad", json.dumps(bad))
    await _queue(database, clock, "third", _report("kim", 3).to_json())
    assert await chat.router.process_pending() == 2
    await chat.delivery.flush()
    with sqlite3.connect(database.path) as raw:
        assert raw.execute("SELECT count(*) FROM cases").fetchone()[0] == 2
        failed = raw.execute(
            "SELECT attempts, retry_at IS NOT NULL FROM inbox WHERE event_id = 'bad'"
        )
        assert failed.fetchone() == (1, 1)  # waiting for its retry, not set aside
    sent = texts(chat.transport.sent)
    assert messages.case_logged(1, Platform.TIKTOK) in sent
    assert messages.case_logged(2, Platform.TIKTOK) in sent


@pytest.mark.sqlite_only
async def test_replies_of_each_batch_can_go_out_while_later_batches_wait(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    for n in range(BATCH + 10):
        await _queue(database, clock, f"ev{n}", _report(f"user{n}", n).to_json())
    seen: list[tuple[int, int]] = []

    def committed() -> None:
        with sqlite3.connect(database.path) as raw:
            queued = raw.execute("SELECT count(*) FROM outbox").fetchone()[0]
            waiting = raw.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL")
            seen.append((queued, waiting.fetchone()[0]))

    assert await chat.router.process_pending(committed=committed) == BATCH + 10
    assert len(seen) >= 2
    queued, waiting = seen[0]
    assert queued > 0 and waiting > 0  # replies committed before the inbox was drained
    assert seen[-1][1] == 0


async def test_one_persons_burst_does_not_hold_back_anothers_report(
    database: Database, clock: FakeClock
) -> None:
    for n in range(2 * BATCH):
        await _queue(database, clock, f"alex{n}", _report("alex", n).to_json())
    await _queue(database, clock, "sam", _report("sam", 0).to_json())
    async with database.transaction() as unit:
        batch = await unit.inbox.pending(clock.now(), limit=BATCH)
    ids = [item.event_id for item in batch]
    assert "sam" in ids[:2]
    alex = [item.id for item in batch if item.event_id.startswith("alex")]
    assert alex == sorted(alex)  # one person's events keep their order


async def test_a_backlog_in_one_chat_does_not_hold_back_another_chat(
    database: Database, clock: FakeClock
) -> None:
    await _outbox(database, clock, *(_in("busy", f"b{n}") for n in range(150)))
    await _outbox(database, clock, _in("quiet", "urgent"))
    sender = Sender()
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 151
    assert sender.sent.index("urgent") < 10
    busy = [text for text in sender.sent if text != "urgent"]
    assert busy == [f"b{n}" for n in range(150)]  # the busy chat kept its order


async def test_replies_in_different_threads_go_out_side_by_side(
    database: Database, clock: FakeClock
) -> None:
    await _outbox(
        database, clock, _in("room", "t1-a", thread="t1"), _in("room", "t2-a", thread="t2")
    )
    await _outbox(database, clock, _in("room", "t1-b", thread="t1"))
    sender = Sender({"t1-a": TemporarySendError("429", retry_after=60)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    await delivery.flush()
    assert sender.sent == ["t2-a"]  # thread t1 waits for its retry; t2 does not
    clock.advance(seconds=60)
    await delivery.flush()
    assert sender.sent == ["t2-a", "t1-a", "t1-b"]


async def test_a_message_to_the_channel_goes_before_thread_replies_queued_after_it(
    database: Database, clock: FakeClock
) -> None:
    await _outbox(database, clock, _in("room", "hello"), _in("room", "reply", thread="t1"))
    sender = Sender({"hello": TemporarySendError("429", retry_after=60)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    await delivery.flush()
    assert sender.sent == []
    clock.advance(seconds=60)
    await delivery.flush()
    assert sender.sent == ["hello", "reply"]


async def test_a_row_waiting_for_its_retry_holds_back_the_rest_of_its_chat(
    database: Database, clock: FakeClock
) -> None:
    await _outbox(database, clock, _in("room", "first"), _in("room", "second"))
    await _outbox(database, clock, _in("other", "elsewhere"))
    now = clock.now()
    async with database.transaction() as unit:
        claimed = await unit.outbox.claim_due(["console"], now, now + timedelta(minutes=1), 1)
        assert [item.id for item in claimed] == [1]
        await unit.outbox.mark_retry(1, "429", now + timedelta(minutes=5))
        later = await unit.outbox.claim_due(["console"], now, now + timedelta(minutes=1))
        assert [item.id for item in later] == [3]  # not "second", which would overtake "first"
        await unit.outbox.mark_sent(3, now, None)
        clock.advance(minutes=5)
        now = clock.now()
        again = await unit.outbox.claim_due(["console"], now, now + timedelta(minutes=1))
        assert [item.id for item in again] == [1, 2]


async def test_web_api_calls_share_connections(tmp_path: Path) -> None:
    fake = await FakeSlackApi().start()
    bot = await SlackBot(slack_config(tmp_path / "slack.db", fake), fake).start()
    try:
        for n in range(3):
            status, _ = await bot.message(f"look {LINK}{n:02d}")
            assert status == 200
            await fake.wait_for("chat.postMessage", 3 * (n + 1), timeout=5.0)
        calls = len(fake.calls)
        assert calls >= 9
        assert len(fake.connections) < calls / 2  # one connection per call before
    finally:
        await bot.close()
        await fake.stop()
