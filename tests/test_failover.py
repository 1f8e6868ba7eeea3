"""PostgreSQL faults one process meets while others share the database: a connection broken
under a statement, a server restart, a peer that holds locks and stops answering."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.console_config import CONSOLE
from bot.app import sync_schools
from bot.delivery import LEASE, Delivery
from bot.health import Health
from bot.inbox_writer import STORE_DEADLINE, InboxWriter
from bot.router import StorageUnavailable
from bot.tasks import Background
from handlers import messages
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, Transport, User
from storage.models import Platform
from storage.store import Store, open_store
from storage.unit import Unit
from tests.chat import STAFF_ROOM, Chat, FakeClock, texts
from tests.conftest import two_schools
from tests.fakes.pausing_proxy import PausingProxy
from tests.postgres import terminate_others
from tests.processes import query

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        self.sent.append(outgoing.text)
        return None


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Store]:
    db = await open_store(postgres_url)
    yield db
    await db.close()


async def queue(store: Store, chat: str, *texts: str) -> None:
    async with store.transaction() as unit:
        for text in texts:
            message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text)
            await unit.outbox.add("console", message.to_json(), None, T0)


async def test_a_sent_mark_whose_connection_breaks_is_written_again_not_dropped(
    store: Store, postgres_url: str
) -> None:
    """The connection dies under the "sent" mark's UPDATE: the mark is written again on a new
    connection, so the row is not left claimed to go out a second time when its lease ends."""
    await queue(store, "alex", "a1")
    proxy = PausingProxy(postgres_url, b"UPDATE outbox SET sent_at")
    cut = await open_store(await proxy.start())
    clock = FakeClock(T0)
    sender = RecordingSender()
    delivery = Delivery(cut, clock, {CONSOLE: sender})
    try:
        flushing = asyncio.create_task(delivery.flush())
        async with asyncio.timeout(30):
            await proxy.held.wait()
        assert await terminate_others(postgres_url) >= 1
        proxy.release.set()
        async with asyncio.timeout(30):
            assert await flushing == 1
        assert sender.sent == ["a1"]
        async with store.transaction() as unit:
            later = clock.now().replace(year=2027)  # every lease long over
            assert await unit.outbox.claim_due(["console"], later, later) == []
    finally:
        proxy.release.set()
        await cut.close()
        await proxy.close()


async def test_a_connection_lost_while_handling_is_no_failed_attempt(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server restart ends the connection in the middle of an item: the item waits, with no
    attempt counted (three restarts must not set a report aside), and is handled afterwards."""
    proxy = PausingProxy(postgres_url, b"UPDATE inbox SET processed_at")
    cut = await open_store(await proxy.start())
    try:
        config = two_schools(tmp_path / "unused.db")
        await sync_schools(cut, config)
        chat = Chat(cut, config, FakeClock())
        report = Incoming(
            IncomingKind.MESSAGE,
            STAFF_ROOM,
            User(Transport("console"), "alex", "alex"),
            text="https://www.tiktok.com/@a/video/7301234567890123456",
            school="Northfield",
        )
        assert await chat.router.receive(report, "test", "e1") is True
        handling = asyncio.create_task(chat.router.process_pending())
        async with asyncio.timeout(30):
            await proxy.held.wait()
        assert await terminate_others(postgres_url) >= 1
        proxy.release.set()
        with pytest.raises(StorageUnavailable):
            await handling
        assert "attempt" not in caplog.text
        assert await query(postgres_url, "SELECT attempts FROM inbox") == 0
        assert await chat.router.process_pending() == 1
        await chat.delivery.flush()
        assert messages.case_logged(1, Platform.TIKTOK) in texts(chat.transport.sent)
    finally:
        proxy.release.set()
        await cut.close()
        await proxy.close()


async def test_background_work_that_fails_is_logged_not_left_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A display-name lookup whose write meets a database that is down fails after the
    acknowledgement, where nobody awaits it: the failure is one log line."""
    unretrieved: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, c: unretrieved.append(c))

    async def lookup() -> None:
        raise ConnectionRefusedError("the database is restarting")

    background = Background()
    background.start(lookup())
    await asyncio.sleep(0.05)
    await background.close()
    gc.collect()
    assert "background work failed: ConnectionRefusedError" in caplog.text
    assert unretrieved == []


async def frozen_holder(store: Store, hold: Callable[[Unit], Awaitable[None]]) -> asyncio.Event:
    """A process that does `hold` in a transaction and then stops answering, as SIGSTOP leaves
    it: its session sits idle in the transaction. Returns an event set once `hold` is done; the
    transaction ends in an error (the server ended it) when the test is over."""
    held = asyncio.Event()
    thawed = asyncio.Event()

    async def run() -> None:
        with contextlib.suppress(Exception):
            async with store.transaction() as unit:
                await hold(unit)
                held.set()
                await thawed.wait()

    task = asyncio.create_task(run())
    held_or_failed = asyncio.create_task(held.wait())
    await asyncio.wait({task, held_or_failed}, return_when=asyncio.FIRST_COMPLETED)
    held_or_failed.cancel()
    assert held.is_set(), "the holder failed before it held anything"
    _frozen.append((thawed, task))
    return held


_frozen: list[tuple[asyncio.Event, asyncio.Task[None]]] = []


@pytest.fixture
async def two_processes(postgres_url: str) -> AsyncIterator[tuple[Store, Store]]:
    one, two = await open_store(postgres_url), await open_store(postgres_url)
    try:
        yield one, two
    finally:
        for thawed, task in _frozen:
            thawed.set()
            await task
        _frozen.clear()
        await one.close()
        await two.close()


async def test_a_process_frozen_holding_the_outbox_claim_lock_stalls_no_other_for_long(
    two_processes: tuple[Store, Store],
) -> None:
    frozen, other = two_processes
    await queue(other, "alex", "a1")
    await queue(other, "sam", "s1")
    await frozen_holder(
        frozen, lambda unit: unit.outbox.claim_due(["console"], T0, T0, limit=1, owner="A")
    )
    started = time.monotonic()
    async with asyncio.timeout(10), other.transaction() as unit:
        claimed = await unit.outbox.claim_due(["console"], T0, T0 + LEASE, owner="B")
    # Its claim, never committed, went with its session: both rows are the other's to send.
    assert [item.id for item in claimed] == [1, 2]
    assert time.monotonic() - started < 10


async def test_a_process_frozen_holding_a_schools_turn_stalls_no_other_for_long(
    two_processes: tuple[Store, Store],
) -> None:
    frozen, other = two_processes
    async with other.transaction() as unit:
        await unit.schools.ensure("Northfield", "Europe/London")
        for n in (1, 2):
            payload = f'{{"user": {{"id": "U{n}"}}, "school": "Northfield"}}'
            await unit.inbox.add("slack", f"Ev{n}", payload, T0)
    await frozen_holder(frozen, lambda unit: unit.inbox.pending(T0, limit=1))
    taken: list[str] = []
    async with asyncio.timeout(10):
        while not taken:
            async with other.transaction() as unit:
                taken = [item.event_id for item in await unit.inbox.pending(T0)]
            await asyncio.sleep(0.2)
    assert taken == ["Ev1", "Ev2"]  # the frozen one's item too: its transaction was ended


async def test_an_event_not_committed_within_two_seconds_is_refused(postgres_url: str) -> None:
    """Cut off from the database (its traffic held), a process refuses an event after
    STORE_DEADLINE, so the platform sends it again, perhaps to another process."""
    proxy = PausingProxy(postgres_url, b"INSERT INTO inbox")
    cut = await open_store(await proxy.start())
    try:
        writer = InboxWriter(cut, FakeClock(T0))
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(10):
                await writer.add("slack", "Ev1", '{"user": {"id": "U1"}}')
        assert STORE_DEADLINE <= time.monotonic() - started < 3
    finally:
        proxy.release.set()
        await cut.close()
        await proxy.close()


async def test_health_answers_within_a_second_while_the_database_does_not(
    postgres_url: str,
) -> None:
    proxy = PausingProxy(postgres_url, b"INSERT INTO health_probe")
    cut = await open_store(await proxy.start())
    clock = FakeClock(T0)
    health = Health(cut, Delivery(cut, clock, {}), [], clock)
    try:
        for _ in range(3):  # the first probe still hangs: later checks answer at once too
            started = time.monotonic()
            async with asyncio.timeout(10):
                healthy, body = await health.check(worker=True, scheduler=True)
            assert time.monotonic() - started < 1
            assert not healthy
            assert "no write within" in str(body["problems"])
    finally:
        proxy.release.set()
        await cut.close()
        await proxy.close()
