"""Two `casebook run` processes on one PostgreSQL under steady load, one of which is frozen
(SIGSTOP) or cut off from the database the moment one of its transactions holds locks: the
other keeps handling and delivering, the cut-off one refuses events at once, nothing
acknowledged is lost and no first reply goes twice.

The stall here is STALL seconds, shorter than the 75 s of the fault report but well past every
timeout that frees the other process (a few seconds), so it shows the other is not held up; a
stall past the outbox lease is benchmarks/faults.py's to measure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from handlers import messages
from storage.models import Platform
from storage.store import open_store
from tests.fakes.cutting_proxy import CuttingProxy
from tests.fakes.slack_api import FakeSlackApi
from tests.processes import CHANNEL, CasebookProcess, query, signed_event, until_done

pytestmark = pytest.mark.slow

STALL = 20.0  # seconds the one process is frozen or cut off
RATE = 8.0  # events a second, sent to the two processes in turn
FIRST_REPLY = 10.0  # the longest a report acknowledged by the other may wait for its reply
REFUSED_WITHIN = 3.0  # the cut-off process answers an event it cannot store within this


@dataclass
class Load:
    """Steady load as Slack and a load balancer make it: each event to one process in turn, and
    one that is not acknowledged (a 5xx, or no answer in 3 s) sent again to the other."""

    processes: tuple[CasebookProcess, CasebookProcess]
    session: aiohttp.ClientSession
    acknowledged: dict[int, tuple[str, float]] = field(default_factory=dict)  # by whom, when
    answers: list[tuple[str, float, int | None, float]] = field(default_factory=list)
    sent: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        sends: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            self.sent += 1
            task = asyncio.create_task(self._deliver(self.sent))
            sends.add(task)
            task.add_done_callback(sends.discard)
            await asyncio.sleep(1 / RATE)
        await asyncio.gather(*sends)

    async def _deliver(self, n: int) -> None:
        first, second = self.processes if n % 2 else reversed(self.processes)
        for retry, process in enumerate([first, second, first, second, first, second]):
            if await self._post(process, n, retry):
                return
            await asyncio.sleep(0.5)

    async def _post(self, process: CasebookProcess, n: int, retry: int) -> bool:
        body, headers = signed_event(n, retry)
        started = time.monotonic()
        status: int | None = None
        try:
            async with (
                asyncio.timeout(REFUSED_WITHIN),
                self.session.post(process.url, data=body, headers=headers) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        now = time.monotonic()
        self.answers.append((process.name, started, status, now - started))
        if status == 200:
            self.acknowledged.setdefault(n, (process.name, now))
            return True
        return False


class FirstReplies:
    """When each reporter's first message arrived at the fake Slack, watched every 0.1 s."""

    def __init__(self, fake: FakeSlackApi) -> None:
        self._fake = fake
        self.at: dict[str, float] = {}
        self._seen = 0

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            calls = self._fake.calls
            now = time.monotonic()
            for call in calls[self._seen :]:
                channel = str(call.args.get("channel", ""))
                if call.method == "chat.postMessage" and channel.startswith("D"):
                    self.at.setdefault(channel, now)
            self._seen = len(calls)
            await asyncio.sleep(0.1)


@pytest.fixture
async def shared(postgres_url: str) -> str:
    database = await open_store(postgres_url)
    try:
        async with database.transaction() as unit:
            await unit.places.first_visit("slack", CHANNEL, datetime.now(UTC))
    finally:
        await database.close()
    return postgres_url


@pytest.fixture
async def cutting(shared: str) -> AsyncIterator[CuttingProxy]:
    proxy = CuttingProxy(shared)
    yield proxy
    await proxy.close()


async def run_with_stall(
    shared: str, proxy: CuttingProxy, folder: Path, fake: FakeSlackApi, frozen: bool
) -> tuple[Load, FirstReplies, float, float]:
    """Start `stuck` (through the proxy) and `other`; stall `stuck` under steady load; return
    the load, the first replies and when the stall began and ended."""
    stuck = CasebookProcess(await proxy.start(), fake, folder, "stuck")
    other = CasebookProcess(shared, fake, folder, "other")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        try:
            await stuck.start(session)
            await other.start(session)
            assert stuck.process is not None
            pid = stuck.process.pid
            if frozen:
                proxy.on_cut = lambda: (os.kill(pid, signal.SIGSTOP), proxy.release.set())
            load = Load((stuck, other), session)
            replies = FirstReplies(fake)
            stop, watched = asyncio.Event(), asyncio.Event()
            sending = asyncio.create_task(load.run(stop))
            watching = asyncio.create_task(replies.watch(watched))
            await asyncio.sleep(3)
            proxy.arm()
            async with asyncio.timeout(20):
                await proxy.cut.wait()
            began = time.monotonic()
            await asyncio.sleep(STALL)
            if frozen:
                os.kill(pid, signal.SIGCONT)
            proxy.release.set()
            ended = time.monotonic()
            await asyncio.sleep(3)
            stop.set()
            await sending
            await until_done(shared, len(load.acknowledged), timeout=120)
            await asyncio.sleep(0.3)  # the watcher's last look
            watched.set()
            await watching
            for process in (stuck, other):
                assert await process.stop() == 0, process.log()
            return load, replies, began, ended
        finally:
            proxy.release.set()
            if stuck.process is not None and stuck.process.returncode is None:
                os.kill(stuck.process.pid, signal.SIGCONT)
            await stuck.kill()
            await other.kill()


async def check_nothing_lost_nothing_twice(shared: str, load: Load, fake: FakeSlackApi) -> None:
    assert len(load.acknowledged) == load.sent, "an event was never acknowledged"
    assert await query(shared, "SELECT count(*) FROM cases") == len(load.acknowledged)
    cases = len(load.acknowledged)
    logged = {messages.case_logged(n, Platform.X) for n in range(1, cases + 1)}
    announced = Counter(
        call.get("channel") for call in fake.of("chat.postMessage") if call.get("text") in logged
    )
    assert set(announced) == {f"D{n:05d}" for n in load.acknowledged}
    assert set(announced.values()) == {1}, "a first reply sent twice"


def check_the_other_was_not_held_up(
    load: Load, replies: FirstReplies, began: float, ended: float
) -> None:
    waits = [
        replies.at[f"D{n:05d}"] - at
        for n, (name, at) in load.acknowledged.items()
        if name == "other" and began <= at <= ended
    ]
    assert len(waits) >= STALL * RATE / 2, "the other process took too few events in the stall"
    assert max(waits) <= FIRST_REPLY, sorted(waits)[-5:]


async def test_a_frozen_process_holds_up_no_other(
    shared: str, cutting: CuttingProxy, tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    load, replies, began, ended = await run_with_stall(
        shared, cutting, tmp_path, slack_fake, frozen=True
    )
    check_the_other_was_not_held_up(load, replies, began, ended)
    await check_nothing_lost_nothing_twice(shared, load, slack_fake)


async def test_a_process_cut_off_from_the_database_refuses_at_once_and_holds_up_no_other(
    shared: str, cutting: CuttingProxy, tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    load, replies, began, ended = await run_with_stall(
        shared, cutting, tmp_path, slack_fake, frozen=False
    )
    check_the_other_was_not_held_up(load, replies, began, ended)
    during = [
        (status, seconds)
        for name, at, status, seconds in load.answers
        if name == "stuck" and began + 1 <= at <= ended - REFUSED_WITHIN
    ]
    assert len(during) >= STALL * RATE / 4
    assert {status for status, _ in during} == {503}
    assert max(seconds for _, seconds in during) < REFUSED_WITHIN
    await check_nothing_lost_nothing_twice(shared, load, slack_fake)
