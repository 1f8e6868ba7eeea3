"""What a store says about its write transactions: how many make progress side by side, and
whether new events are waiting to be stored (the worker ends a long batch early when they are)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage.store import Store

SETTLE = 0.3  # seconds: long enough for a transaction that could start to have started


@asynccontextmanager
async def open_transactions(store: Store, count: int) -> AsyncIterator[None]:
    """`count` write transactions held open side by side until the block ends; fails if they
    cannot all be open at once."""
    entered = 0
    all_in = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        nonlocal entered
        async with store.transaction():
            entered += 1
            if entered == count:
                all_in.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(count)]
    try:
        await asyncio.wait_for(all_in.wait(), timeout=10)
        yield
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_as_many_write_transactions_as_parallel_writes_run_side_by_side_and_no_more(
    store: Store,
) -> None:
    assert store.parallel_writes >= 1
    started = asyncio.Event()

    async def one_more() -> None:
        async with store.transaction():
            started.set()

    async with open_transactions(store, store.parallel_writes):
        late = asyncio.create_task(one_more())
        await asyncio.sleep(SETTLE)
        assert not started.is_set(), "a write transaction started past parallel_writes"
    await asyncio.wait_for(late, timeout=10)  # and it starts once a turn is free
    assert started.is_set()


async def test_events_waiting_is_true_only_while_a_first_transaction_waits_for_its_turn(
    store: Store,
) -> None:
    assert store.events_waiting is False
    stored = asyncio.Event()

    async def store_new_event() -> None:
        async with store.transaction(first=True):
            stored.set()

    async with open_transactions(store, store.parallel_writes):
        waiting = asyncio.create_task(store_new_event())
        await asyncio.sleep(SETTLE)
        assert not stored.is_set()
        assert store.events_waiting is True
    await asyncio.wait_for(waiting, timeout=10)
    assert stored.is_set()
    assert store.events_waiting is False
