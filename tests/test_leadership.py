"""One process at a time runs the scheduled work; another takes over when it dies.

On a real PostgreSQL server: two holders contend for the advisory lock, the leader's connection is
killed or closed, and the other leads within its poll period.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.adapters.console_config import CONSOLE
from bot.scheduler import Scheduler
from handlers import messages
from storage.leadership import SoleLeadership
from storage.postgres_leadership import SCHEDULER_LOCK, AdvisoryLeadership
from storage.store import open_store
from tests.chat import Chat

POLL = 0.1
TIKTOK = "https://www.tiktok.com/@someone/video/1"


@pytest.fixture
async def holders(postgres_url: str) -> AsyncIterator[list[AdvisoryLeadership]]:
    made = [AdvisoryLeadership(postgres_url, poll=POLL) for _ in range(2)]
    yield made
    for holder in made:
        await holder.close()


async def until(condition: object, seconds: float = 10.0) -> float:
    """Wait for `condition()` to be true; returns how long it took."""
    start = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - start < seconds, "condition not met in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def lock_holder_pid(url: str) -> int | None:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND ((classid::bigint << 32) | objid::bigint) = $1",
            SCHEDULER_LOCK,
        )
    finally:
        await connection.close()


async def test_only_one_of_two_leads(holders: list[AdvisoryLeadership]) -> None:
    first, second = holders
    became: list[str] = []
    first.start(lambda: became.append("first"))
    await until(lambda: first.leading)
    second.start(lambda: became.append("second"))
    await asyncio.sleep(POLL * 5)  # several polls of the lock, none of them successful
    assert (first.leading, second.leading) == (True, False)
    assert (await first.confirm(), await second.confirm()) == (True, False)
    assert became == ["first"]


async def test_the_other_takes_over_when_the_leaders_connection_dies(
    holders: list[AdvisoryLeadership], postgres_url: str
) -> None:
    first, second = holders
    became: list[str] = []
    first.start(lambda: became.append("first"))
    await until(lambda: first.leading)
    second.start(lambda: became.append("second"))
    pid = await lock_holder_pid(postgres_url)
    assert pid is not None
    admin = await asyncpg.connect(postgres_url)
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    await admin.close()
    took = await until(lambda: second.leading)
    assert took < POLL * 20
    assert not await first.confirm()  # the old leader knows it no longer leads
    assert became == ["first", "second"]
    assert await lock_holder_pid(postgres_url) != pid


async def test_closing_the_leader_hands_over_and_it_may_lead_again(
    holders: list[AdvisoryLeadership], postgres_url: str
) -> None:
    first, second = holders
    first.start(lambda: None)
    await until(lambda: first.leading)
    second.start(lambda: None)
    await first.close()
    assert not first.leading
    await until(lambda: second.leading, seconds=POLL * 20)
    await second.close()
    assert await lock_holder_pid(postgres_url) is None


async def test_a_follower_reconnects_when_the_server_drops_it(
    holders: list[AdvisoryLeadership], postgres_url: str
) -> None:
    first, second = holders
    first.start(lambda: None)
    await until(lambda: first.leading)
    second.start(lambda: None)
    await asyncio.sleep(POLL * 3)
    admin = await asyncpg.connect(postgres_url)
    leader = await lock_holder_pid(postgres_url)
    # Every session of the test database but the leader's and this one: the follower's.
    dropped = await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)",
        leader,
    )
    await admin.close()
    assert dropped == 1
    await first.close()
    await until(lambda: second.leading, seconds=POLL * 30)


async def _reminder_due(chat: Chat, leadership: AdvisoryLeadership) -> Scheduler:
    """A report whose unanswered-questions reminder is due, and a scheduler (not started yet)
    that runs a round every poll, each skipped unless `leadership` leads."""
    await chat.say(TIKTOK)
    chat.clock.advance(hours=3)
    return Scheduler(
        chat.database,
        chat.config,
        chat.clock,
        frozenset({CONSOLE}),
        wake=lambda: None,
        interval=POLL,
        leadership=leadership,
    )


async def test_a_follower_scheduler_sends_nothing_until_it_leads(
    chat: Chat, holders: list[AdvisoryLeadership]
) -> None:
    other_process, ours = holders
    other_process.start(lambda: None)
    await until(lambda: other_process.leading)
    scheduler = await _reminder_due(chat, ours)
    scheduler.start()
    try:
        await asyncio.sleep(POLL * 5)
        await chat.delivery.flush()
        assert messages.reminder_unanswered(1) not in [r.text for r in chat.transport.sent]
        assert not scheduler.leading
        await other_process.close()
        await until(lambda: scheduler.leading, seconds=POLL * 20)

        async def sent() -> list[str]:
            await chat.delivery.flush()
            return [r.text for r in chat.transport.sent]

        start = time.monotonic()
        while messages.reminder_unanswered(1) not in await sent():
            assert time.monotonic() - start < 10
            await asyncio.sleep(0.01)
        await asyncio.sleep(POLL * 5)  # more rounds as leader: the reminder is not sent again
        assert (await sent()).count(messages.reminder_unanswered(1)) == 1
    finally:
        await scheduler.shutdown()


async def test_the_sole_process_on_a_file_always_leads() -> None:
    sole = SoleLeadership()
    became: list[bool] = []
    sole.start(lambda: became.append(True))
    assert sole.leading and await sole.confirm()
    await sole.close()
    assert sole.leading and became == []


async def test_two_stores_on_one_postgresql_database_have_one_leader(postgres_url: str) -> None:
    stores = [await open_store(postgres_url) for _ in range(2)]
    leaderships = [store.leadership() for store in stores]
    try:
        for leadership in leaderships:
            leadership.start(lambda: None)
        await until(lambda: any(leadership.leading for leadership in leaderships))
        await asyncio.sleep(POLL * 5)
        assert [await leadership.confirm() for leadership in leaderships].count(True) == 1
    finally:
        for leadership in leaderships:
            await leadership.close()
        for store in stores:
            await store.close()


async def test_a_sqlite_store_always_leads(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "one.db")
    try:
        leadership = store.leadership()
        leadership.start(lambda: None)
        assert leadership.leading and await leadership.confirm()
    finally:
        await store.close()


async def test_a_scheduler_whose_lock_was_lost_between_polls_sends_nothing(
    chat: Chat, postgres_url: str
) -> None:
    ours = AdvisoryLeadership(postgres_url, poll=60)  # no poll during the test: only confirm()
    ours.start(lambda: None)
    await until(lambda: ours.leading)
    pid = await lock_holder_pid(postgres_url)
    admin = await asyncpg.connect(postgres_url)
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    await admin.close()
    scheduler = await _reminder_due(chat, ours)
    scheduler.start()
    try:
        await asyncio.sleep(POLL * 5)
        await chat.delivery.flush()
        assert messages.reminder_unanswered(1) not in [r.text for r in chat.transport.sent]
        assert not scheduler.leading
    finally:
        await scheduler.shutdown()
