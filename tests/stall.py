"""Two `casebook run` processes on one PostgreSQL under steady load, one of them frozen
(SIGSTOP) or cut off from the database for a while: what tests/test_failover_processes.py
checks and benchmarks/faults.py measures."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from storage.store import open_store
from tests.fakes.cutting_proxy import CuttingProxy
from tests.fakes.slack_api import FakeSlackApi
from tests.processes import CHANNEL, CasebookProcess, signed_event, until_done

RATE = 4.0  # events a second, sent to the two processes in turn: well within what one handles
REFUSED_WITHIN = 3.0  # Slack's deadline: a process answers an event within this, or it is lost


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


@dataclass
class Stall:
    """What a run with a stall saw: the load, the first replies, and when the stall began and
    ended (monotonic)."""

    load: Load
    replies: FirstReplies
    began: float
    ended: float
    troubles: str = ""  # the other process's warnings and errors, to explain a failure

    def waits_at_the_other(self) -> list[float]:
        """Seconds from acknowledgement to first reply of each event the other process took
        while the stuck one was stuck."""
        return [
            self.replies.at.get(f"D{n:05d}", float("inf")) - at
            for n, (name, at) in self.load.acknowledged.items()
            if name == "other" and self.began <= at <= self.ended
        ]

    def answers_of_the_stuck(self) -> list[tuple[int | None, float]]:
        """(status, seconds) of each event sent to the stuck process while it was stuck (past
        its first second, and answered before the stall ended)."""
        return [
            (status, seconds)
            for name, at, status, seconds in self.load.answers
            if name == "stuck" and self.began + 1 <= at <= self.ended - REFUSED_WITHIN
        ]


async def introduce(url: str) -> None:
    """The report channel has had its first message, so only replies to reports are sent."""
    database = await open_store(url)
    try:
        async with database.transaction() as unit:
            await unit.places.first_visit("slack", CHANNEL, datetime.now(UTC))
    finally:
        await database.close()


async def run_with_stall(
    shared: str,
    proxy: CuttingProxy,
    folder: Path,
    fake: FakeSlackApi,
    frozen: bool,
    stall: float,
) -> Stall:
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
            await asyncio.sleep(stall)
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
            troubles = "\n".join(
                line[:300]
                for line in other.log().splitlines()
                if "WARNING" in line or "ERROR" in line
            )
            return Stall(load, replies, began, ended, troubles)
        finally:
            proxy.release.set()
            if stuck.process is not None and stuck.process.returncode is None:
                os.kill(stuck.process.pid, signal.SIGCONT)
            await stuck.kill()
            await other.kill()
