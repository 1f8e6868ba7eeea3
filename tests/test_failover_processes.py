"""Two `casebook run` processes on one PostgreSQL under steady load, one of which is frozen
(SIGSTOP) or cut off from the database the moment one of its transactions holds locks: the
other keeps handling and delivering, the cut-off one refuses events at once, nothing
acknowledged is lost and no first reply goes twice.

The stall here is STALL seconds, shorter than the 75 s of the fault report but well past every
timeout that frees the other process (a few seconds), so it shows the other is not held up; a
stall past the outbox lease is benchmarks/faults.py's to measure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers import messages
from storage.models import Platform
from tests.fakes.cutting_proxy import CuttingProxy
from tests.fakes.slack_api import FakeSlackApi
from tests.processes import query
from tests.stall import RATE, REFUSED_WITHIN, Load, Stall, introduce, run_with_stall

pytestmark = pytest.mark.slow

STALL = 20.0  # seconds the one process is frozen or cut off
FIRST_REPLY = 10.0  # the longest a report acknowledged by the other may wait for its reply


@pytest.fixture
async def shared(postgres_url: str) -> str:
    await introduce(postgres_url)
    return postgres_url


@pytest.fixture
async def cutting(shared: str) -> AsyncIterator[CuttingProxy]:
    proxy = CuttingProxy(shared)
    yield proxy
    await proxy.close()


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


def check_the_other_was_not_held_up(stall: Stall) -> None:
    waits = stall.waits_at_the_other()
    assert len(waits) >= STALL * RATE / 2, "the other process took too few events in the stall"
    assert max(waits) <= FIRST_REPLY, (sorted(waits)[-5:], stall.troubles[-3000:])


async def test_a_frozen_process_holds_up_no_other(
    shared: str, cutting: CuttingProxy, tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    stall = await run_with_stall(shared, cutting, tmp_path, slack_fake, frozen=True, stall=STALL)
    check_the_other_was_not_held_up(stall)
    await check_nothing_lost_nothing_twice(shared, stall.load, slack_fake)


async def test_a_process_cut_off_from_the_database_refuses_at_once_and_holds_up_no_other(
    shared: str, cutting: CuttingProxy, tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    stall = await run_with_stall(shared, cutting, tmp_path, slack_fake, frozen=False, stall=STALL)
    check_the_other_was_not_held_up(stall)
    during = stall.answers_of_the_stuck()
    assert len(during) >= STALL * RATE / 4
    assert {status for status, _ in during} == {503}
    assert max(seconds for _, seconds in during) < REFUSED_WITHIN
    await check_nothing_lost_nothing_twice(shared, stall.load, slack_fake)
