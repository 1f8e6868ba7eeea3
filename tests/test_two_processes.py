"""Two `casebook run` processes on one database, behind one load balancer, as a trust hosting
many schools runs them: every acknowledged event becomes exactly one case with exactly one first
reply, however the events are split and resent, and whichever process is killed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from handlers import messages
from storage.models import Platform
from storage.store import open_store
from tests.fakes.slack_api import FakeSlackApi
from tests.processes import CHANNEL, LEADS, CasebookProcess, burst, query, until_done

pytestmark = pytest.mark.slow

EVENTS = 2000


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where both processes keep their data: one SQLite file, or one PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "shared.db")


async def introduce(store: str) -> None:
    """The report channel has had its first message, so only replies to reports are sent."""
    database = await open_store(store)
    try:
        async with database.transaction() as unit:
            await unit.places.first_visit("slack", CHANNEL, datetime.now(UTC))
    finally:
        await database.close()


@pytest.fixture
async def running(
    store: str, tmp_path: Path, slack_fake: FakeSlackApi
) -> AsyncIterator[tuple[list[CasebookProcess], aiohttp.ClientSession]]:
    await introduce(store)
    processes = [CasebookProcess(store, slack_fake, tmp_path, name) for name in ("one", "two")]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        try:
            for process in processes:
                await process.start(session)
            yield processes, session
        finally:
            for process in processes:
                await process.kill()


def first_replies(fake: FakeSlackApi) -> Counter[str]:
    """How many times each case number was announced to its reporter."""
    logged = {messages.case_logged(n, Platform.X): n for n in range(1, EVENTS + 1)}
    return Counter(
        f"{call['channel']}#{logged[call['text']]}"
        for call in fake.of("chat.postMessage")
        if call.get("text") in logged
    )


def check_each_event_once(
    fake: FakeSlackApi, acknowledged: set[int], cases: int, alerts: Callable[[], int]
) -> None:
    replies = first_replies(fake)
    assert cases == len(acknowledged)
    assert len(replies) == len(acknowledged)
    assert set(replies.values()) == {1}, "a case announced twice"
    reporters = {key.split("#")[0] for key in replies}
    assert reporters == {f"D{n:05d}" for n in acknowledged}
    assert alerts() == len(acknowledged)


async def test_every_acknowledged_event_is_one_case_with_one_first_reply(
    running: tuple[list[CasebookProcess], aiohttp.ClientSession],
    store: str,
    slack_fake: FakeSlackApi,
) -> None:
    processes, session = running
    # Under load a request may time out or meet a 5xx; Slack sends it again, and so does this.
    sent = await burst(session, processes, range(1, EVENTS + 1), resends=3)
    assert len(sent.acknowledged) == EVENTS
    assert all(sent.by_process.values()), "both processes took events"
    await until_done(store, EVENTS)
    cases = await query(store, "SELECT count(*) FROM cases")
    stored = await query(store, "SELECT count(*) FROM inbox")
    assert stored == EVENTS  # the resent tenth were stored once
    check_each_event_once(slack_fake, sent.acknowledged, cases, lambda: _alerts(slack_fake))
    numbers = await query(store, "SELECT count(DISTINCT number) FROM cases")
    assert numbers == EVENTS
    for process in processes:
        assert await process.stop() == 0, process.log()


async def test_killing_one_process_mid_burst_loses_no_acknowledged_event(
    running: tuple[list[CasebookProcess], aiohttp.ClientSession],
    store: str,
    slack_fake: FakeSlackApi,
) -> None:
    processes, session = running
    victim, survivor = processes

    async def kill_when_busy() -> None:
        while await query(store, "SELECT count(*) FROM inbox") < EVENTS // 4:
            await asyncio.sleep(0.02)
        await victim.kill()

    killer = asyncio.create_task(kill_when_busy())
    sent = await burst(session, processes, range(1, EVENTS + 1))
    await killer
    lost = set(range(1, EVENTS + 1)) - sent.acknowledged
    assert lost, "the kill came after the burst: nothing was tested"
    # Slack sends again what it saw no 200 for; now only the survivor answers.
    again = await burst(session, [survivor], sorted(lost), twice_every=0)
    assert again.acknowledged == lost
    await until_done(store, EVENTS)
    assert await query(store, "SELECT count(*) FROM cases") == EVENTS
    assert await query(store, "SELECT count(DISTINCT number) FROM cases") == EVENTS
    # A message the victim sent but had no time to mark sent goes out again: delivery is at
    # least once across a crash. Every case is announced, and duplicates are that rare case.
    replies = first_replies(slack_fake)
    assert {key.split("#")[0] for key in replies} == {f"D{n:05d}" for n in range(1, EVENTS + 1)}
    assert sum(replies.values()) - len(replies) <= 50
    assert await survivor.stop() == 0, survivor.log()


def _alerts(fake: FakeSlackApi) -> int:
    alerts = {messages.new_case_alert(n, Platform.X) for n in range(1, EVENTS + 1)}
    sent = [c["text"] for c in fake.of("chat.postMessage") if c.get("channel") == LEADS]
    counted = Counter(line for text in sent for line in text.split("\n") if line in alerts)
    assert set(counted.values()) <= {1}, "a lead alert sent twice"
    return len(counted)
