"""Rate limits in delivery: not a failure, a pause for the platform (or the chat), never early."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest

from bot.adapters.console_config import CONSOLE
from bot.adapters.send_limits import Limit, SendLimits
from bot.adapters.slack import web_client
from bot.adapters.slack_config import SLACK, SlackConfig
from bot.adapters.slack_send import SlackSender
from bot.delivery import MAX_ATTEMPTS, WAIT_IN_PLACE, Delivery, RateLimited, TemporarySendError
from handlers.events import Outgoing, Place, PlaceKind
from handlers.settings import Secret
from storage.db import Database
from tests.chat import FakeClock
from tests.fakes.faults import Fault
from tests.fakes.slack_api import FakeSlackApi


class ThrottledSender:
    """Raises the errors queued for a text, one per try, then sends it; notes when each try
    and each send came (time.monotonic())."""

    def __init__(
        self, errors: dict[str, list[Exception]], slow: dict[str, float] | None = None
    ) -> None:
        self.errors = errors
        self.slow = slow or {}  # seconds a text's first answer takes to come back
        self.tries: list[tuple[str, float]] = []
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        self.tries.append((outgoing.text, time.monotonic()))
        if outgoing.text in self.slow:
            await asyncio.sleep(self.slow.pop(outgoing.text))
        queued = self.errors.get(outgoing.text)
        if queued:
            raise queued.pop(0)
        self.sent.append(outgoing.text)
        return None

    def first_try(self, text: str) -> float:
        return next(moment for sent, moment in self.tries if sent == text)

    def last_try(self, text: str) -> float:
        return [moment for sent, moment in self.tries if sent == text][-1]


async def _queue(database: Database, clock: FakeClock, chat: str, *texts: str) -> None:
    async with database.transaction() as unit:
        for text in texts:
            message = Outgoing(Place(CONSOLE, chat, PlaceKind.DIRECT), text)
            await unit.outbox.add(CONSOLE, message.to_json(), None, clock.now())


async def _attempts_used(database: Database, clock: FakeClock) -> list[int]:
    """Every unsent row's attempts so far, in order (read by claiming them all, which counts
    one more)."""
    later = clock.now() + timedelta(days=1)
    async with database.transaction() as unit:
        rows = await unit.outbox.claim_due([CONSOLE], later, clock.now() + timedelta(minutes=1))
    return [row.attempts - 1 for row in rows]


def _limited(times: int, wait: float, whole_platform: bool = True) -> list[Exception]:
    return [RateLimited("429", wait, whole_platform=whole_platform) for _ in range(times)]


async def test_rate_limits_use_up_no_attempts_however_many_come(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "alex", "a1", "a2")
    sender = ThrottledSender({"a1": _limited(3 * MAX_ATTEMPTS, 0.01)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 2
    assert sender.sent == ["a1", "a2"]
    assert len(sender.tries) == 3 * MAX_ATTEMPTS + 2


async def test_a_rate_limit_pauses_every_chat_of_the_platform_for_its_wait(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "alex", "a1")
    await _queue(database, clock, "sam", "s1", "s2")
    sender = ThrottledSender({"a1": _limited(1, 0.3)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 3
    limited = sender.first_try("a1")
    assert sender.last_try("a1") - limited >= 0.3
    assert sender.first_try("s2") - limited >= 0.3
    assert sender.first_try("s1") < limited or sender.first_try("s1") - limited >= 0.3


async def test_a_shorter_wait_answered_during_a_pause_does_not_end_it_sooner(
    database: Database, clock: FakeClock
) -> None:
    """sam's message was on the wire when alex's 429 asked for 0.5 s; its own 429, answered
    later and asking for less, leaves the pause as long: nothing goes before it ends."""
    await _queue(database, clock, "sam", "s1")
    await _queue(database, clock, "alex", "a1")
    sender = ThrottledSender({"s1": _limited(1, 0.05), "a1": _limited(1, 0.5)}, slow={"s1": 0.05})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 2
    limited = sender.first_try("a1")
    assert sender.first_try("s1") < limited  # it was sent before the pause began
    assert sender.last_try("s1") - limited >= 0.5
    assert sender.last_try("a1") - limited >= 0.5


async def test_a_workspaces_rate_limit_pauses_its_chats_and_no_other_workspaces(
    database: Database, clock: FakeClock
) -> None:
    """Ids qualified by a workspace ("W1/alex"), as a Slack installed into many workspaces
    keeps them: a 429 naming W1 holds back W1's chats only."""
    await _queue(database, clock, "W1/alex", "a1")
    await _queue(database, clock, "W2/sam", "s1")
    await _queue(database, clock, "W1/kim", "k1")
    sender = ThrottledSender({"a1": [RateLimited("429", 0.5, workspace="W1")]})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 3
    limited = sender.first_try("a1")
    assert sender.last_try("a1") - limited >= 0.5
    assert sender.first_try("k1") < limited or sender.first_try("k1") - limited >= 0.5
    assert sender.first_try("s1") - limited < 0.3  # W2 went on
    assert delivery.paused_for(CONSOLE) == 0.0  # the platform itself was never paused


async def test_a_chat_of_its_own_rate_limit_holds_back_no_other_chat(
    database: Database, clock: FakeClock
) -> None:
    await _queue(database, clock, "alex", "a1")
    await _queue(database, clock, "sam", "s1")
    sender = ThrottledSender({"a1": _limited(1, 0.5, whole_platform=False)})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 2
    assert sender.last_try("a1") - sender.first_try("a1") >= 0.5
    assert sender.first_try("s1") - sender.first_try("a1") < 0.4


async def test_a_long_rate_limit_hands_the_chat_back_due_when_it_ends_with_no_attempt_used(
    database: Database, clock: FakeClock
) -> None:
    wait = WAIT_IN_PLACE + 27
    await _queue(database, clock, "alex", "a1", "a2")
    sender = ThrottledSender({"a1": _limited(1, wait)})
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0
    clock.advance(seconds=wait - 1)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 0
    clock.advance(seconds=1)
    delivery = Delivery(database, clock, {CONSOLE: sender})
    await _queue(database, clock, "alex", "a3")
    assert await _attempts_used(database, clock) == [0, 0, 0]
    clock.advance(minutes=2)  # the claims just made to read them have run out
    assert await delivery.flush() == 3
    assert sender.sent == ["a1", "a2", "a3"]


async def test_messages_waiting_behind_a_failing_one_use_up_none_of_their_attempts(
    database: Database, clock: FakeClock
) -> None:
    """Only a failure counts: a2 waits behind a1 through all of a1's tries, then fails once
    itself and is still tried again, not given up for a1's failures."""
    await _queue(database, clock, "alex", "a1", "a2")
    failures = [TemporarySendError("502", retry_after=1) for _ in range(MAX_ATTEMPTS)]
    sender = ThrottledSender({"a1": failures, "a2": [TemporarySendError("502", retry_after=1)]})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    for _ in range(MAX_ATTEMPTS + 2):
        await delivery.flush()
        clock.advance(seconds=1)
    assert sender.sent == ["a2"]  # a1 was given up after its attempts; a2 went on its second


class FloodedSender:
    """Answers every send RateLimited(`wait`) until `until` (time.monotonic()), counting them."""

    def __init__(self, until: float, wait: float, workspace: str = "") -> None:
        self.until = until
        self.wait = wait
        self.workspace = workspace
        self.limited = 0
        self.sent: list[str] = []

    async def send(self, outgoing: Outgoing) -> str | None:
        await asyncio.sleep(0.005)  # an answer takes a moment to come back
        if time.monotonic() < self.until:
            self.limited += 1
            raise RateLimited("429", self.wait, workspace=self.workspace)
        self.sent.append(outgoing.text)
        return None


async def test_a_platform_still_throttling_is_asked_by_one_message_a_pause_not_every_chat(
    database: Database, clock: FakeClock
) -> None:
    chats = [f"person{n}" for n in range(10)]
    for chat in chats:
        await _queue(database, clock, chat, f"{chat} first", f"{chat} second")
    sender = FloodedSender(time.monotonic() + 0.5, 0.1)
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == 20
    assert sender.limited <= 0.5 / 0.1 + 10  # the first try of each chat, then one a pause
    assert sorted(sender.sent) == sorted(f"{c} {n}" for c in chats for n in ("first", "second"))


async def test_a_workspace_still_throttling_is_asked_by_one_message_a_pause_not_every_chat(
    database: Database, clock: FakeClock
) -> None:
    """As for a platform: a Slack workspace whose 429s go on hears one message a pause."""
    chats = [f"W1/person{n}" for n in range(10)]
    for chat in chats:
        await _queue(database, clock, chat, f"{chat} first", f"{chat} second")
    sender = FloodedSender(time.monotonic() + 0.5, 0.1, workspace="W1")
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 20
    assert sender.limited <= 0.5 / 0.1 + 10  # the first try of each chat, then one a pause
    assert delivery.paused_for(CONSOLE) == 0.0  # only the workspace was paused


def test_telegrams_limits_are_kept_overall_and_per_group() -> None:
    now = [100.0]
    limits = SendLimits(Limit(3, 1.0), Limit(2, 60.0), now=lambda: now[0])
    for _ in range(2):
        assert limits.wait("-100") == (0.0, False)
        limits.note("-100")
    assert limits.wait("-100") == (60.0, False)  # the group's third in a minute
    assert limits.wait(None) == (0.0, True)  # a private chat may still go
    limits.note(None)
    assert limits.wait("-200") == (1.0, True)  # the bot's fourth in a second: everyone waits
    now[0] += 1.0
    assert limits.wait("-200") == (0.0, False)
    assert limits.wait("-100") == (59.0, False)
    now[0] += 59.0
    assert limits.wait("-100") == (0.0, False)


@pytest.mark.parametrize(("answered_after", "sent"), [(56.5, 1), (56.6, 0)])
async def test_a_short_rate_limit_is_waited_out_only_if_it_ends_well_inside_the_claim(
    database: Database, clock: FakeClock, answered_after: float, sent: int
) -> None:
    """The 429 came so late in the 60 s claim that its 0.5 s leave 3 s (WAIT_IN_PLACE) of it,
    or less: then the message is handed back, due when the limit ends, rather than sent so
    close to the claim's end that another process may take it meanwhile."""
    await _queue(database, clock, "alex", "a1")

    class AnsweredLate(ThrottledSender):
        async def send(self, outgoing: Outgoing) -> str | None:
            if not self.tries:
                clock.advance(seconds=answered_after)
            return await super().send(outgoing)

    sender = AnsweredLate({"a1": _limited(1, 0.5, whole_platform=False)})  # the chat's own
    assert await Delivery(database, clock, {CONSOLE: sender}).flush() == sent
    assert len(sender.tries) == 1 + sent


@pytest.mark.parametrize("whole_platform", [True, False], ids=["platforms", "chats-own"])
async def test_a_flush_told_to_stop_ends_a_rate_limit_wait_at_once(
    database: Database, clock: FakeClock, whole_platform: bool
) -> None:
    await _queue(database, clock, "alex", "a1")
    sender = ThrottledSender({"a1": _limited(1, WAIT_IN_PLACE, whole_platform)})
    stop = asyncio.Event()
    flushing = asyncio.create_task(Delivery(database, clock, {CONSOLE: sender}).flush(stop))
    await asyncio.sleep(0.1)
    assert not flushing.done()  # a limit of WAIT_IN_PLACE is waited out holding the claim
    stop.set()
    started = time.monotonic()
    assert await asyncio.wait_for(flushing, 2) == 0
    assert time.monotonic() - started < 1.0
    assert sender.sent == []


async def test_only_a_limit_the_platform_answered_counts_against_its_health(
    database: Database, clock: FakeClock
) -> None:
    """A 429 is the platform's trouble, for /healthz; a documented limit kept before sending is
    Casebook pacing itself, and says nothing about the platform."""
    await _queue(database, clock, "alex", "a1")
    sender = ThrottledSender({"a1": [RateLimited("its limits", 60, answered=False)]})
    delivery = Delivery(database, clock, {CONSOLE: sender})
    assert await delivery.flush() == 0  # handed back, due in a minute
    assert CONSOLE not in delivery.outcomes
    delivery = Delivery(database, clock, {CONSOLE: sender})  # a fresh one: no pause yet
    await _queue(database, clock, "kim", "k1")
    sender.errors["k1"] = [RateLimited("429", 60)]
    assert await delivery.flush() == 0
    assert delivery.outcomes[CONSOLE].ok is False
    assert delivery.outcomes[CONSOLE].error == "429"


async def test_a_slack_429_pauses_all_of_slack_for_its_retry_after_and_uses_no_attempt(
    slack_fake: FakeSlackApi,
) -> None:
    """Slack's limits are per method and workspace, so its 429 is a pause for every channel."""
    slack_fake.faults.retry_after = 7
    await slack_fake.faults.set(Fault.RATE_LIMIT, frozenset({"chat.postMessage"}))
    # The client Casebook makes: one that slept through a 429 itself would hold the message's
    # claim, past its lease for a long Retry-After, instead of pausing Slack.
    slack = SlackConfig(api_url=f"{slack_fake.url}/api/", bot_token=Secret("xoxb-test"))
    sender = SlackSender(web_client(slack))
    try:
        await sender.send(Outgoing(Place(SLACK, "C1"), "hello"))
    except RateLimited as limited:
        assert (limited.wait, limited.whole_platform, limited.answered) == (7.0, True, True)
        assert [c.method for c in slack_fake.calls] == ["chat.postMessage!429"]  # asked once
    else:
        raise AssertionError("a 429 went unnoticed")
    await slack_fake.faults.clear()
    assert await sender.send(Outgoing(Place(SLACK, "C1"), "hello")) is not None
