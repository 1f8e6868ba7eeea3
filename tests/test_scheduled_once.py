"""Two Casebooks on one database through a simulated week: every reminder and every digest is
sent once, whichever of them runs the schedule, and when the one that leads stops midweek the
other takes over.

Both run in this process (the real `run_chat`, each with its own HTTP server and store
connection) on one fake clock, which the test moves on an hour at a time, with reminder rounds
every few milliseconds instead of every minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from handlers import messages
from handlers.settings import Config, StorageConfig
from storage.models import Platform
from storage.postgres_leadership import SCHEDULER_LOCK
from tests.chat import FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.processes import query, until_done
from tests.slack_harness import SlackBot, slack_config

pytestmark = pytest.mark.slow

REPORTS = 20
# Wednesday morning in London; the week ahead has working hours, a weekend and Monday's digest.
START = FakeClock().moment.replace(day=25)
ROUND = 0.05  # seconds between reminder rounds in each Casebook


@pytest.fixture(params=["sqlite", "postgres"])
def config(request: pytest.FixtureRequest, tmp_path: Path, slack_fake: FakeSlackApi) -> Config:
    """Both Casebooks' config: one SQLite file, or one PostgreSQL database."""
    config = slack_config(tmp_path / "shared.db", slack_fake)
    if request.param == "postgres":
        url = str(request.getfixturevalue("postgres_url"))
        config = dataclasses.replace(config, storage=StorageConfig(url=url))
    return config


def where(config: Config) -> str:
    return str(config.storage.target)


LEADER = (
    "SELECT min(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    f" AND ((classid::bigint << 32) | objid::bigint) = {SCHEDULER_LOCK}"
)


async def leader(config: Config) -> int | None:
    """The server process of the scheduler's leader, on PostgreSQL (SQLite has no contest)."""
    if config.storage.url is None:
        return None
    found = await query(config.storage.url, LEADER)
    return None if found is None else int(found)


async def until_one_leads(config: Config, other_than: int | None = None) -> None:
    if config.storage.url is None:
        return
    deadline = time.monotonic() + 60  # a follower looks every 15 s
    while (found := await leader(config)) is None or found == other_than:
        assert time.monotonic() < deadline, "no process took over the scheduler"
        await asyncio.sleep(0.1)


@pytest.fixture
async def pair(
    config: Config, slack_fake: FakeSlackApi
) -> AsyncIterator[tuple[list[SlackBot], FakeClock]]:
    clock = FakeClock(START)
    bots = [SlackBot(config, slack_fake, clock=clock, scheduler_interval=ROUND) for _ in range(2)]
    try:
        for bot in bots:
            bot.resends = 3  # a busy database may take its 2 s: Slack then sends it again
            await bot.start()
            await until_one_leads(config)  # the first to start leads
        yield bots, clock
    finally:
        for bot in bots:
            await bot.close()


def sent(fake: FakeSlackApi, texts: set[str]) -> Counter[tuple[str, str]]:
    """How often each of `texts`, and each digest, went to each channel. A digest with a chart
    is a file upload, its text the upload's comment."""
    posted = [
        (str(call.get("channel")), str(call.get("text", "")))
        for call in fake.of("chat.postMessage")
    ] + [
        (str(call.get("channel_id")), str(call.get("initial_comment", "")))
        for call in fake.of("files.completeUploadExternal")
    ]
    return Counter(
        (channel, text) for channel, text in posted if text in texts or text.startswith(DIGEST)
    )


DIGEST = "Casebook weekly summary for"


async def test_over_a_week_no_reminder_or_digest_is_sent_twice(
    pair: tuple[list[SlackBot], FakeClock], config: Config, slack_fake: FakeSlackApi
) -> None:
    bots, clock = pair
    for n in range(1, REPORTS + 1):
        status, _ = await bots[n % 2].message(
            f"https://x.com/u/status/{n}", user=f"U{n:03d}", ts=f"{n}.000300", event_id=f"Ev{n}"
        )
        assert status == 200
    await until_done(where(config), REPORTS)
    for hour in range(7 * 24):
        # What went out at this hour is on record before the clock jumps: an hour's jump while a
        # message is on the wire would be a process held up for an hour, past its claim's
        # lease, which may send that one message again (README, "Running for many schools").
        await until_done(where(config), REPORTS)
        clock.advance(hours=1)
        await asyncio.sleep(ROUND * 3)  # a few rounds in each Casebook at this hour
        if hour == 4 * 24:  # Sunday: the first Casebook, the leader, stops; the other leads on
            before = await leader(config)
            await bots[0].close()
            await until_one_leads(config, other_than=before)
    await until_done(where(config), REPORTS)
    reminders: set[str] = set()
    for n in range(1, REPORTS + 1):
        reminders.add(messages.reminder_unanswered(n))
        reminders.add(messages.reminder_not_reported(n, Platform.X, 24))
    counted = sent(slack_fake, reminders)
    assert counted, "nothing was sent: the week did not run"
    twice = {key: count for key, count in counted.items() if count > 1}
    assert twice == {}
    texts: Any = Counter(text for _, text in counted)
    assert all(texts[messages.reminder_unanswered(n)] == 1 for n in range(1, REPORTS + 1))
    assert all(
        texts[messages.reminder_not_reported(n, Platform.X, 24)] >= 1 for n in range(1, REPORTS + 1)
    )
    digests = [text for (channel, text) in counted if text.startswith(DIGEST + " Northfield")]
    assert len(digests) == 1  # on Monday, from the second Casebook
