"""What the worker does with inbox and outbox rows that fail: retry, set aside, never block."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.console_config import CONSOLE
from bot.delivery import (
    Delivery,
    NowhereToSend,
    Outcome,
    PermanentSendError,
    TemporarySendError,
)
from bot.health import Health
from bot.metrics import Metrics
from bot.router import BATCH, MAX_ATTEMPTS
from handlers import messages
from handlers.events import (
    PAYLOAD_FORMAT,
    Attachment,
    Button,
    Incoming,
    IncomingKind,
    Outgoing,
    Place,
    PlaceKind,
    UndecodablePayload,
    User,
)
from storage.db import Database
from storage.models import Platform
from tests.chat import STAFF_ROOM, Chat, FakeClock, texts

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
MESSAGE = Incoming(
    IncomingKind.MESSAGE,
    STAFF_ROOM,
    User(CONSOLE, "alex", "alex"),
    text=TIKTOK,
    school="Northfield",
)


def _raw(database: Database) -> sqlite3.Connection:
    return sqlite3.connect(database.path)


async def _queue_raw(database: Database, event_id: str, payload: str) -> None:
    async with database.transaction() as unit:
        await unit.inbox.add("test", event_id, payload, FakeClock().now())


@pytest.mark.sqlite_only
async def test_an_undecodable_inbox_row_is_set_aside_and_the_events_behind_it_are_handled(
    chat: Chat, database: Database
) -> None:
    await _queue_raw(database, "damaged", '{"kind": "message", "plaace": {}}')
    await _queue_raw(database, "newer", json.dumps({"format": 99, "kind": "message"}))
    await _queue_raw(database, "garbage", "\x00not json")
    replies = await chat.say(TIKTOK)  # queued behind the three bad rows
    assert messages.case_logged(1, Platform.TIKTOK) in texts(replies)
    async with database.transaction() as unit:
        aside = await unit.inbox.set_aside_items()
        assert await unit.inbox.pending(chat.clock.now()) == []
    assert [item.event_id for item in aside] == ["damaged", "newer", "garbage"]
    assert all(item.has_payload and item.attempts == 1 for item in aside)


async def test_a_batch_in_which_every_item_failed_does_not_end_the_handling(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    """A batch in which every item failed still found items: the next batch is looked for."""
    for n in range(BATCH):  # one each from BATCH people, so all come before alex's report
        bad = json.loads(replace(MESSAGE, user=User(CONSOLE, f"p{n}", f"p{n}")).to_json())
        bad["text"] = ["not", "text"]  # decodes, but the handler fails on it
        await _queue_raw(database, f"bad{n}", json.dumps(bad))
    replies = await chat.say(TIKTOK)  # one pass of the worker
    assert messages.case_logged(1, Platform.TIKTOK) in texts(replies)
    async with database.transaction() as unit:
        clock.advance(minutes=5)
        assert len(await unit.inbox.pending(clock.now())) == BATCH  # each waits for its retry


async def test_an_item_that_keeps_failing_is_retried_then_set_aside_with_one_apology(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    # Decodes, but its text is not text: the handler fails on it every time.
    good = json.loads(replace(MESSAGE, text="placeholder").to_json())
    good["text"] = ["not", "text"]
    await _queue_raw(database, "bad", json.dumps(good))
    sent_before = len(chat.transport.sent)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await chat.router.process_pending()
        await chat.delivery.flush()
        async with database.transaction() as unit:
            aside = await unit.inbox.set_aside_items()
        if attempt < MAX_ATTEMPTS:
            assert aside == []
            assert chat.transport.sent[sent_before:] == []  # no apology while it is retried
            async with database.transaction() as unit:
                assert await unit.inbox.pending(clock.now()) == []  # waiting for its retry
            clock.advance(minutes=5)
    assert [item.event_id for item in aside] == ["bad"] and aside[0].attempts == MAX_ATTEMPTS
    assert texts(chat.transport.sent[sent_before:]) == messages.INTERNAL_ERROR
    # Retried by a person: it goes back in the queue (and fails again, as it must).
    async with database.transaction() as unit:
        assert await unit.inbox.retry(aside[0].id) == 1
        assert [i.event_id for i in await unit.inbox.pending(clock.now())] == ["bad"]


async def test_set_aside_text_is_forgotten_by_retention(database: Database) -> None:
    await _queue_raw(database, "old", "{}")
    now = FakeClock().now()
    async with database.transaction() as unit:
        [item] = await unit.inbox.pending(now)
        await unit.inbox.set_aside(item.id, "ValueError", now)
        assert await unit.inbox.forget_set_aside(now + timedelta(days=31)) == 1
        [aside] = await unit.inbox.set_aside_items()
        assert not aside.has_payload
        assert await unit.inbox.retry(None) == 0  # nothing left to retry it with


@pytest.mark.sqlite_only
async def test_a_restarted_process_takes_back_its_predecessors_claims_at_once(
    chat: Chat, database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.router.receive(MESSAGE, "test", "e1")
    await chat.router.process_pending()
    async with database.transaction() as unit:
        claimed = await unit.outbox.claim_due(
            ["console"], clock.now(), clock.now() + timedelta(minutes=1), owner="dead"
        )
    assert claimed
    successor = Delivery(database, clock, {CONSOLE: chat.transport})
    assert await successor.flush() == 0  # still leased to the dead process
    caplog.clear()  # what the handling above logged, where another test set INFO for all
    with caplog.at_level("INFO", logger="bot.delivery"):
        assert await successor.take_back_claims() == len(claimed)
    assert [r.getMessage() for r in caplog.records if r.name == "bot.delivery"] == [
        f"took back {len(claimed)} outbox claim(s) left by an earlier process"
    ]
    assert await successor.flush() == len(claimed)


@pytest.mark.sqlite_only
async def test_an_undecodable_outbox_row_is_given_up_and_the_rest_is_sent(
    chat: Chat, database: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.router.receive(MESSAGE, "test", "e1")
    await chat.router.process_pending()
    async with database.transaction() as unit:
        unreadable = await unit.outbox.add("console", '{"format": 1, "plaice": 1}', 1, clock.now())
    await chat.router.receive(replace(MESSAGE, text="and another"), "test", "e2")
    await chat.router.process_pending()  # rows claimed after the unreadable one
    with _raw(database) as raw:
        waiting = raw.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    caplog.clear()
    with caplog.at_level("ERROR", logger="bot.delivery"):
        assert await chat.delivery.flush() == waiting - 1
    # One line names the row, its case and why, for whoever looks into the lost message.
    assert [r.getMessage() for r in caplog.records if r.name == "bot.delivery"] == [
        f"outbox {unreadable} (case 1) cannot be read (outgoing: KeyError); given up"
    ]
    with _raw(database) as raw:
        failed = raw.execute("SELECT last_error FROM outbox WHERE failed_at IS NOT NULL").fetchall()
    assert [row[0] for row in failed] == ["unreadable: outgoing: KeyError"]


@pytest.mark.sqlite_only
async def test_a_process_takes_back_only_other_processes_claims(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    await chat.router.receive(MESSAGE, "test", "e1")
    await chat.router.process_pending()
    async with database.transaction() as unit:
        claimed = await unit.outbox.claim_due(
            ["console"], clock.now(), clock.now() + timedelta(minutes=1), owner="me"
        )
    assert claimed
    async with database.transaction() as unit:
        assert await unit.outbox.release_claims_of_others("me") == 0
        assert await unit.outbox.release_claims_of_others("someone else") == len(claimed)


def test_a_payload_of_another_format_is_undecodable() -> None:
    data = json.loads(MESSAGE.to_json())
    assert Incoming.from_json(json.dumps(data)) == MESSAGE
    for other in (0, PAYLOAD_FORMAT + 1, str(PAYLOAD_FORMAT), True):
        data["format"] = other
        with pytest.raises(UndecodablePayload):
            Incoming.from_json(json.dumps(data))


class _Reachable:
    """A platform that answers its health check, whatever its deliveries do."""

    transport = CONSOLE

    async def health(self) -> tuple[bool, str]:
        return True, ""


class _RateLimited:
    async def send(self, outgoing: Outgoing) -> str | None:
        raise TemporarySendError("rate limited", 30)


async def test_a_reachable_platform_whose_last_delivery_failed_is_unhealthy(
    chat: Chat, database: Database, clock: FakeClock
) -> None:
    delivery = Delivery(database, clock, {CONSOLE: _RateLimited()})
    await chat.router.receive(MESSAGE, "test", "e1")
    await chat.router.process_pending()
    await delivery.flush()
    health = Health(database, delivery, [_Reachable()], clock)  # type: ignore[list-item]
    healthy, body = await health.check(worker=True, scheduler=True)
    assert not healthy and body["console"] is False
    assert "last delivery failed" in body["problems"]["console"]  # type: ignore[index]
    delivery.outcomes[CONSOLE] = Outcome(True, clock.now())  # a later send went out
    assert (await health.check(worker=True, scheduler=True))[0] is True


class _Refusing:
    def __init__(self, error: Exception) -> None:
        self.error: Exception | None = error

    async def send(self, outgoing: Outgoing) -> str | None:
        if self.error is not None:
            raise self.error
        return None


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (PermanentSendError("is_archived"), "last delivery failed: is_archived"),
        (TemporarySendError("503"), "last delivery failed: 503"),
        (ConnectionResetError("reset by peer"), "last delivery failed: ConnectionResetError"),
        (NowhereToSend("the workspace removed Casebook"), None),
    ],
    ids=["refused-for-good", "outage", "broken-connection", "nowhere-to-send"],
)
async def test_healthz_and_the_metrics_tell_each_failed_send_and_what_the_platform_answered(
    chat: Chat, database: Database, clock: FakeClock, error: Exception, problem: str | None
) -> None:
    """A message refused for good says as much about the platform as an outage does; one whose
    workspace removed Casebook says nothing about it. The next message that goes makes it
    healthy again."""
    await chat.router.receive(MESSAGE, "test", "e1")
    await chat.router.process_pending()
    metrics = Metrics()
    sender = _Refusing(error)
    delivery = Delivery(database, clock, {CONSOLE: sender}, metrics)
    await delivery.flush()
    health = Health(database, delivery, [_Reachable()], clock)  # type: ignore[list-item]
    healthy, body = await health.check(worker=True, scheduler=True)
    failures = metrics.registry.get_sample_value(
        "casebook_send_failures_total", {"transport": CONSOLE}
    )
    if problem is None:
        assert healthy and failures is None
    else:
        assert not healthy and body["problems"]["console"] == problem  # type: ignore[index]
        assert failures is not None and failures >= 1
    sender.error = None
    await chat.router.receive(replace(MESSAGE, text="and another"), "test", "e2")
    await chat.router.process_pending()
    clock.advance(hours=1)  # past every retry
    assert await delivery.flush() >= 1
    assert (await health.check(worker=True, scheduler=True))[0] is True


def test_queued_payloads_keep_the_shape_rows_already_stored_have() -> None:
    """Rows queued by an earlier version are read by this one and the other way round: every
    field, nested ones included, is written as `dataclasses.asdict` wrote it."""
    outgoing = Outgoing(
        Place(CONSOLE, "C1"),
        "two\nlines, é",
        (Button("Me", "q:1"), Button("Skip", "q:2")),
        thread="1.2",
        to_user=User(CONSOLE, "alex", "Alex"),
        private=True,
        case_id=7,
        attachment=Attachment("cases.csv", b"a,b\n"),
        fallback=Place(CONSOLE, "D1", PlaceKind.DIRECT),
        combine=True,
    )
    incoming = replace(MESSAGE, links=("https://x.com/a",), form=(("platform", "x"),))
    for event in (outgoing, incoming):
        expected = {"format": PAYLOAD_FORMAT, **dataclasses.asdict(event)}
        if isinstance(event, Outgoing) and event.attachment is not None:
            expected["attachment"] = event.attachment.to_dict()
        assert json.loads(event.to_json()) == json.loads(json.dumps(expected))
    assert Outgoing.from_json(outgoing.to_json()) == outgoing
    assert Incoming.from_json(incoming.to_json()) == incoming
