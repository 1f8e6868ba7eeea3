"""Sending what the outbox holds: claim due rows, send them, mark them sent, retry what failed.

Claiming takes a lease in a transaction, so two loops (or two processes on one file) never send
the same row. A claim names the process (one id per start), so a process started after a crash
takes its predecessor's claims back at once. That a row was sent is committed before the next
message of its chat goes out (chats finishing together share one commit), so a process killed at
any moment sends again at most the one message each chat had on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.metrics import Metrics
from handlers.events import Outgoing, PersonKey, PlaceKind, Transport, UndecodablePayload
from storage.hosted import PlaceKey
from storage.models import OutboxItem
from storage.outbox import place_key, thread_key
from storage.store import Store, is_transient

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
CLAIM = 500  # rows claimed at once; their chats are sent side by side
CHATS = 500  # more is claimed only while fewer chats than this are being sent
COMBINE_MAX = 25  # alerts in one message, at most
COMBINE_CHARS = 3000  # and their text, well inside Slack's and Telegram's (4 096) limits
# The longest a chat's later messages give way to other chats' first ones (seconds).
GIVE_WAY = 1.0
# A rate limit this short (seconds) is waited out holding the claim; a longer one hands the
# chat's rows back to the outbox, due when it ends, so no claim is held through a long pause.
WAIT_IN_PLACE = 3.0
RECORD_TRIES = 5  # a sent message is recorded as sent even through a briefly locked database


@dataclass(frozen=True)
class Outcome:
    """How the last delivery attempt to one platform went, for /healthz."""

    ok: bool
    at: datetime
    error: str = ""


class Sender(Protocol):
    async def send(self, outgoing: Outgoing) -> str | None:
        """Deliver one message; return the platform's id for it, if any."""


class PermanentSendError(Exception):
    """The platform refused the message for good (bad request, blocked); retrying cannot help."""


class NowhereToSend(PermanentSendError):
    """What the message was for is gone (a Slack workspace removed Casebook): it is given up,
    and says nothing of the platform's health."""


class TemporarySendError(Exception):
    """The platform asked us to come back later (an outage): counts as an attempt."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RateLimited(TemporarySendError):
    """Wait `wait` seconds before sending again (a 429, or a platform's documented limit
    reached). Not a failure: it uses up no attempt, however long the platform throttles.
    `whole_platform`: every chat of the platform waits, as a 429 asks; else only this
    message's chat does (a group's own limit). `workspace`: with `whole_platform`, the limit is
    one workspace's (a Slack workspace that installed Casebook), so only that workspace's chats
    wait and other schools' messages go on. `answered`: the platform said so (a 429), which
    /healthz reports; a documented limit kept before sending is not a problem to report."""

    def __init__(
        self,
        reason: str,
        wait: float,
        *,
        whole_platform: bool = True,
        answered: bool = True,
        workspace: str = "",
    ) -> None:
        super().__init__(reason, wait)
        self.wait = max(wait, 0.0)
        self.whole_platform = whole_platform
        self.answered = answered
        self.workspace = workspace


class Delivery:
    def __init__(
        self,
        database: Store,
        clock: Clock,
        senders: dict[Transport, Sender],
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._senders = senders
        self._metrics = metrics or Metrics()
        self.owner = owner or uuid.uuid4().hex
        self.outcomes: dict[Transport, Outcome] = {}
        self._sent = _SentWriter(database, clock)
        # Per platform: one platform's slow first messages hold back none of another's.
        self._openings: dict[str, _Openings] = {}
        # Per platform (or one workspace of it, see `_paused_key`): the loop time its last rate
        # limit ends; nothing is sent to it before.
        self._paused_until: dict[str, float] = {}
        # Platforms (or workspaces) paused since their last message went: one message at a time
        # goes to them (`_probes`), so one still throttling answers one 429 a pause, not one a
        # chat.
        self._recovering: set[str] = set()
        self._probes: dict[str, asyncio.Lock] = {}

    @property
    def transports(self) -> tuple[Transport, ...]:
        return tuple(self._senders)

    async def take_back_claims(self) -> int:
        """At start-up: release claims left by a process that died holding them."""
        async with self._database.transaction() as unit:
            released = await unit.outbox.release_claims_of_others(self.owner)
        if released:
            log.info("took back %s outbox claim(s) left by an earlier process", released)
        return released

    async def flush(
        self,
        stop: asyncio.Event | None = None,
        transports: tuple[Transport, ...] | None = None,
        more: asyncio.Event | None = None,
    ) -> int:
        """Send everything due now for `transports` (all by default), or until `stop` is set;
        returns how many rows were sent.

        Messages to different chats go out concurrently; messages to one chat go in order, and
        after a failure the rest of that chat's messages wait for the retry, keeping the order.
        Sending is a pipeline: once any chat is done, or `more` says new rows are committed,
        more is claimed (while fewer than CHATS chats are going out), leaving out the places
        and threads whose messages are still going out. So a long chat (a burst of alerts to
        one lead) does not hold back the others, nor one report's thread the next report's, and
        the replies to a report handled while earlier ones are going out go out beside them.
        """
        wanted = [str(t) for t in (transports or self.transports) if t in self._senders]
        sent = 0
        running: dict[asyncio.Task[int], _Chat] = {}
        passed_over: set[asyncio.Task[int]] = set()  # busy at the last claim: rows may wait
        look = True  # something may be claimable
        finished = asyncio.Event()  # a chat's task has ended
        if self._sent.waiting:  # marks a failed write left: on disk before their leases end
            await self._sent.commit([], None, None)
        try:
            while stop is None or not stop.is_set():
                if more is not None and more.is_set():
                    more.clear()
                    look = True
                open_now = [t for t in wanted if self.paused_for(t) <= 0]
                if look and len(running) < CHATS and open_now:
                    busy = sorted({chat.holds for chat in running.values()})
                    passed_over = set(running)
                    claimed, look = await self._claim(open_now, busy)
                    for chat in claimed:
                        task = asyncio.create_task(self._send_chat(chat, stop))
                        task.add_done_callback(lambda _: finished.set())
                        running[task] = chat
                if not running:
                    break
                for task in await _first_done(running, finished, more):
                    del running[task]
                    sent += task.result()
                    # A claim made while it was sent left out what came for its chat since.
                    look = look or more is None or task in passed_over
                    passed_over.discard(task)
        except asyncio.CancelledError:  # the worker gave up waiting: so do sends in flight
            for task in running:
                task.cancel()
            raise
        finally:
            if running:  # stopping, or a chat failed: the others finish (or hand rows back)
                ends = await asyncio.gather(*running, return_exceptions=True)
                sent += sum(end for end in ends if isinstance(end, int))
        return sent

    async def _claim(self, wanted: list[str], busy: list[str]) -> tuple[list[_Chat], bool]:
        """Claim what is due, outside the `busy` places and threads, as chats, and whether
        the claim was full (more may be due). A thread holds only itself; a chat to the place
        itself, or to one person in it, holds the whole place."""
        now = self._clock.now()
        lease_until = now + LEASE
        async with self._database.transaction() as unit:
            items = await unit.outbox.claim_due(
                wanted, now, lease_until, limit=CLAIM, owner=self.owner, busy=busy
            )
        chats: dict[tuple[str, str], list[tuple[OutboxItem, Outgoing]]] = {}
        places: dict[tuple[str, str], str] = {}
        in_main: set[tuple[str, str]] = set()  # places with a message to the place itself
        for item in items:
            try:
                outgoing = Outgoing.from_json(item.payload)
            except UndecodablePayload as error:
                await self._unreadable(item, error)
                continue
            key, holds = _chat(item, outgoing, in_main)
            chats.setdefault(key, []).append((item, outgoing))
            places[key] = holds
        claimed = [_Chat(places[key], chat, lease_until) for key, chat in chats.items()]
        return claimed, len(items) >= CLAIM

    def paused_for(self, transport: str) -> float:
        """Seconds until `transport` may be called again after a rate limit (0: now)."""
        until = self._paused_until.get(transport)
        return 0.0 if until is None else max(until - asyncio.get_running_loop().time(), 0.0)

    def _paused_for_chat(self, transport: str, outgoing: Outgoing) -> float:
        """Seconds until a message may go: the platform's pause, or its workspace's."""
        workspace = _workspace(outgoing)
        own = self.paused_for(_paused_key(transport, workspace)) if workspace else 0.0
        return max(self.paused_for(transport), own)

    def _pause(self, transport: str, wait: float) -> None:
        """No call to `transport` for `wait` seconds; a pause is only ever lengthened, so no chat
        is called sooner than the longest wait any answer asked for."""
        until = asyncio.get_running_loop().time() + wait
        self._recovering.add(transport)
        if until > self._paused_until.get(transport, 0.0):
            self._paused_until[transport] = until
            log.warning("%s asked to wait %.1fs; sending to it paused", transport, wait)

    async def _send_chat(self, chat: _Chat, stop: asyncio.Event | None) -> int:
        """Send a chat's messages in order. One whose claim has run out by then (a process
        held up for longer than LEASE) is left alone: another process may have claimed it
        since, and it is due to whichever claims it next, this one included. While the
        platform (or this chat) is rate limited, the chat waits, or hands its rows back due
        when the limit ends if that is more than WAIT_IN_PLACE away or past the claim."""
        messages = chat.messages
        transport = messages[0][0].transport
        sent = 0
        index = 0
        give_way_until = asyncio.get_running_loop().time() + GIVE_WAY
        openings = self._openings.setdefault(transport, _Openings())
        openings.add()
        opening = True  # the chat's first message is still to go
        chat_wait = 0.0  # this chat's own rate limit, from its last answer
        try:
            while index < len(messages):
                if stop is not None and stop.is_set():
                    await self._release(messages[index:], 0)
                    break
                if index > 0:
                    await openings.give_way(give_way_until)
                if self._clock.now() >= chat.lease_until:
                    log.warning("claim ran out before %s outbox row(s) went", len(messages) - index)
                    break
                wait = max(self._paused_for_chat(transport, messages[index][1]), chat_wait)
                if wait > 0:
                    if not await self._wait_out(wait, chat, stop):
                        await self._release(messages[index:], wait, "rate limited")
                        break
                    chat_wait = 0.0
                    continue  # the claim and the pause are looked at again
                items, outgoing = _next_message(messages, index)
                outcome = await self._send_paced(items, outgoing, chat.lease_until, stop)
                if isinstance(outcome, RateLimited):  # the same message again, once it may go
                    chat_wait = 0.0 if outcome.whole_platform else outcome.wait
                    continue
                chat_wait = 0.0
                if opening:
                    opening = False
                    openings.done()
                index += len(items)
                if outcome is not None:
                    await self._release(messages[index:], outcome)
                    break
                sent += len(items)
                await asyncio.sleep(0)  # chats take turns even when a send did not wait
        finally:
            if opening:
                openings.done()
        return sent

    async def _wait_out(self, wait: float, chat: _Chat, stop: asyncio.Event | None) -> bool:
        """Wait `wait` seconds holding the claim, if that is short and ends well inside it;
        False (without waiting) if not, or when told to stop meanwhile."""
        left = (chat.lease_until - self._clock.now()).total_seconds()
        if wait > WAIT_IN_PLACE or wait > left - WAIT_IN_PLACE:
            return False
        if stop is None:
            await asyncio.sleep(wait)
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await stop.wait()
        return not stop.is_set()

    async def _send_paced(
        self,
        items: list[OutboxItem],
        outgoing: Outgoing,
        lease_until: datetime,
        stop: asyncio.Event | None = None,
    ) -> float | RateLimited | None:
        """`_send_one`, but while the platform is recovering from a rate limit, one message at
        a time: the rest wait for its answer, and go on only if it went (a RateLimited with the
        pause left, or with no wait once their claim has run out, says to look again)."""
        transport = items[0].transport
        keys = (transport, _paused_key(transport, _workspace(outgoing)))
        key = next((key for key in keys if key in self._recovering), None)
        if key is None:
            return await self._send_one(items, outgoing, stop)
        async with self._probes.setdefault(key, asyncio.Lock()):
            paused = self._paused_for_chat(transport, outgoing)
            if paused > 0:
                return RateLimited("waiting out the platform's pause", paused)
            if self._clock.now() >= lease_until:
                return RateLimited("claim ran out while waiting", 0.0)
            if key in self._recovering:
                return await self._send_one(items, outgoing, stop)
        return await self._send_one(items, outgoing, stop)  # another's message went: side by side

    async def _send_one(
        self, items: list[OutboxItem], outgoing: Outgoing, stop: asyncio.Event | None = None
    ) -> float | RateLimited | None:
        """Send one message, made of the rows `items`; None when it went, the rate limit when
        it must be sent again once that ends, else how long until the rows are tried again.
        That they were sent is committed before the next message of their chat goes out
        (messages of other chats sent meanwhile share the commit), so a process killed at any
        moment sends again at most the message each chat had in flight."""
        transport = items[0].transport
        sender = self._senders[Transport(transport)]
        attempts = max(item.attempts for item in items)
        try:
            ref = await sender.send(outgoing)
        except PermanentSendError as error:
            if not isinstance(error, NowhereToSend):
                self._failed(transport, str(error))
            await self._retry_or_fail(items, outgoing, MAX_ATTEMPTS, str(error), 0)
            return 0.0
        except RateLimited as limited:
            if limited.answered:
                self._failed(transport, str(limited))
            if limited.whole_platform:
                self._pause(_paused_key(transport, limited.workspace), limited.wait)
            return limited
        except TemporarySendError as error:
            self._failed(transport, str(error))
            delay = error.retry_after if error.retry_after is not None else 2.0**attempts
            await self._retry_or_fail(items, outgoing, attempts, str(error), delay)
            return delay
        except Exception as error:
            if stop is not None and stop.is_set():
                # Shutting down closed the platform's client under this send: no failure of
                # the platform's, so no warning and no attempt counted; it goes after restart.
                ids = ", ".join(str(item.id) for item in items)
                log.info(
                    "send of outbox %s%s stopped by the shutdown", ids, _of_case(outgoing.case_id)
                )
                await self._release([(item, outgoing) for item in items], 0)
                return 0.0
            self._failed(transport, type(error).__name__)
            delay = 2.0**attempts
            await self._retry_or_fail(items, outgoing, attempts, type(error).__name__, delay)
            return delay
        self._metrics.messages_sent.labels(transport).inc()
        self._recovering.discard(transport)
        self._recovering.discard(_paused_key(transport, _workspace(outgoing)))
        self.outcomes[Transport(transport)] = Outcome(True, self._clock.now())
        direct_to = _direct_to(transport, outgoing) if ref else None
        await self._sent.commit([item.id for item in items], ref, direct_to)
        return None

    def _failed(self, transport: str, reason: str) -> None:
        self._metrics.send_failures.labels(transport).inc()
        self.outcomes[Transport(transport)] = Outcome(False, self._clock.now(), reason)

    async def _unreadable(self, item: OutboxItem, error: UndecodablePayload) -> None:
        """A row this version cannot read is given up with one line, never left to block."""
        log.error(
            "outbox %s%s cannot be read (%s); given up", item.id, _of_case(item.case_id), error
        )
        async with self._database.transaction() as unit:
            await unit.outbox.mark_failed(item.id, f"unreadable: {error}", self._clock.now())

    async def _release(
        self,
        messages: list[tuple[OutboxItem, Outgoing]],
        delay: float,
        reason: str = "waiting for an earlier message",
    ) -> None:
        """Hand claimed but unsent messages back, due after `delay` seconds. They were not
        tried, so the attempt their claim counted is given back."""
        if not messages:
            return
        due = self._clock.now() + timedelta(seconds=delay)
        async with self._database.transaction() as unit:
            for item, _ in messages:
                await unit.outbox.mark_retry(item.id, reason, due, attempted=False)

    async def _retry_or_fail(
        self, items: list[OutboxItem], outgoing: Outgoing, attempts: int, reason: str, delay: float
    ) -> None:
        now = self._clock.now()
        ids = ", ".join(str(item.id) for item in items)
        async with self._database.transaction() as unit:
            if attempts >= MAX_ATTEMPTS:
                log.error(
                    "giving up on outbox %s%s after %s attempts: %s",
                    ids,
                    _of_case(outgoing.case_id),
                    attempts,
                    reason,
                )
                for item in items:
                    await unit.outbox.mark_failed(item.id, reason, now)
            else:
                log.warning(
                    "send of outbox %s%s failed, retrying in %.0fs: %s",
                    ids,
                    _of_case(outgoing.case_id),
                    delay,
                    reason,
                )
                for item in items:
                    await unit.outbox.mark_retry(item.id, reason, now + timedelta(seconds=delay))


class _Openings:
    """Chats whose first message is still to be sent. A chat's later messages give way to them,
    for at most GIVE_WAY seconds a chat: in a burst every reporter hears that their report is
    logged before anyone is asked the follow-up questions, and nothing waits long for it."""

    def __init__(self) -> None:
        self._waiting = 0
        self._none = asyncio.Event()
        self._none.set()

    def add(self) -> None:
        self._waiting += 1
        self._none.clear()

    def done(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._none.set()

    async def give_way(self, until: float) -> None:
        """Wait until no chat's first message is waiting, or until the loop's time `until`."""
        if self._waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(until):
                    await self._none.wait()


@dataclass(frozen=True)
class _Chat:
    """Claimed messages of one chat, in order, and what the chat keeps others from claiming
    while they are sent (a `busy` entry of claim_due)."""

    holds: str
    messages: list[tuple[OutboxItem, Outgoing]]
    lease_until: datetime  # the claim's end: after it, another process may take these rows


async def _first_done(
    running: dict[asyncio.Task[int], _Chat], finished: asyncio.Event, more: asyncio.Event | None
) -> list[asyncio.Task[int]]:
    """Wait until a chat is sent (`finished`, set as each chat's task ends) or `more` is set;
    the chats sent by then. One waiter each, however many chats are being sent: asyncio.wait
    on every running task would add and remove a callback on each of them every time."""
    waits = [asyncio.ensure_future(finished.wait())]
    if more is not None:
        waits.append(asyncio.ensure_future(more.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    finished.clear()
    return [task for task in running if task.done()]


def _next_message(
    messages: list[tuple[OutboxItem, Outgoing]], start: int
) -> tuple[list[OutboxItem], Outgoing]:
    """The rows that go out as the next message of a chat, from `start`, and that message: one
    row, or a run of alerts that may be combined, joined line by line up to a size every
    platform takes in one message."""
    item, outgoing = messages[start]
    if not outgoing.combine:
        return [item], outgoing
    items, lines, length = [item], [outgoing.text], len(outgoing.text)
    for later, more in messages[start + 1 : start + COMBINE_MAX]:
        if not more.combine or length + 1 + len(more.text) > COMBINE_CHARS:
            break
        items.append(later)
        lines.append(more.text)
        length += 1 + len(more.text)
    return items, dataclasses.replace(outgoing, text="\n".join(lines))


def _direct_to(transport: str, outgoing: Outgoing) -> str | None:
    """The person key whose direct chat a message went to, if it went to one.

    A private message in a channel that could not be shown there goes to the person's direct
    chat too, so its reference names that chat.
    """
    if outgoing.place.kind is PlaceKind.DIRECT:
        person = outgoing.to_user.id if outgoing.to_user else outgoing.place.id
    elif outgoing.private and outgoing.to_user:
        person = outgoing.to_user.id
    else:
        return None
    return str(PersonKey(transport, person))


def _chat(
    item: OutboxItem, outgoing: Outgoing, in_main: set[tuple[str, str]]
) -> tuple[tuple[str, str], str]:
    """Which chat a message belongs to, for ordering: messages in one chat go one after another;
    and what that chat keeps others from claiming while it is sent (`busy` of claim_due).

    A thread is a chat of its own, so replies in many report threads of one channel go out side
    by side, and it holds only itself. A message to the channel itself keeps its place before
    everything queued after it in that channel, threads included (`in_main` remembers which
    channels had one); it, and a chat to one person in a channel, hold the whole channel."""
    place_id = outgoing.place.id
    recipient = outgoing.to_user.id if outgoing.private and outgoing.to_user else ""
    place = (item.transport, f"{place_id}/{recipient}")
    whole_place = place_key(item.transport, place_id)
    if outgoing.thread is None or place in in_main:
        in_main.add(place)
        return place, whole_place
    chat = (item.transport, f"{place_id}/{recipient}/{outgoing.thread}")
    return chat, whole_place if recipient else thread_key(item.transport, place_id, outgoing.thread)


@dataclass(frozen=True)
class _Sent:
    item_id: int
    ref: str | None
    direct_to: str | None


class _SentWriter:
    """Group commit of "sent" marks: each sender waits for its own mark to be on disk, and the
    marks of chats that finish while a commit runs go into the next one together. The message
    is out, so a locked database is waited out (RECORD_TRIES) rather than letting the row go
    again when its lease ends."""

    def __init__(self, database: Store, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._waiting: list[_Sent] = []
        self._writing = asyncio.Lock()
        self._started = 0  # writes begun, each taking every mark waiting then
        self._written = 0  # the number of the last write that committed

    async def commit(self, item_ids: list[int], ref: str | None, direct_to: str | None) -> None:
        """Record rows as sent (one message); returns once that is committed. A write takes
        every mark waiting, so a caller whose marks were taken by a write begun after it added
        them, and committed, returns at once: it does not wait for the marks added since."""
        for item_id in item_ids:
            self.add(item_id, ref, direct_to)
        added = self._started
        async with self._writing:
            if self._written > added:
                return
            await self.write()

    def add(self, item_id: int, ref: str | None, direct_to: str | None) -> None:
        self._waiting.append(_Sent(item_id, ref, direct_to))

    @property
    def waiting(self) -> bool:
        """Marks are waiting to be written: a write failed, or one is about to run."""
        return bool(self._waiting)

    async def write(self) -> None:
        """Write every waiting mark, trying again through a transient fault. The marks a write
        took stay taken until its commit succeeds: whatever fails, the statement or the commit
        (a connection broken under either), they go back to wait for the next write."""
        for attempt in range(1, RECORD_TRIES + 1):
            if not self._waiting:
                return
            # Counted as it takes the marks: a mark added while the transaction opens is not
            # in this write, and its sender must not take this write's commit for its own.
            taken, self._waiting = self._waiting, []
            self._started += 1
            number = self._started
            try:
                async with self._database.transaction() as unit:
                    now = self._clock.now()
                    for sent in taken:
                        await unit.outbox.mark_sent(sent.item_id, now, sent.ref, sent.direct_to)
                self._written = number
                return
            except BaseException as error:
                self._waiting[:0] = taken
                if not isinstance(error, Exception):
                    raise
                if not is_transient(error) or attempt == RECORD_TRIES:
                    raise
                await asyncio.sleep(attempt)


def _of_case(case_id: int | None) -> str:
    """ " (case N)" for a log line about a message of a case; nothing for one of no case."""
    return "" if case_id is None else f" (case {case_id})"


def _paused_key(transport: str, workspace: str) -> str:
    """What a rate limit pauses: the platform, or one workspace of it ("slack/T0123")."""
    return f"{transport}/{workspace}" if workspace else transport


def _workspace(outgoing: Outgoing) -> str:
    """The workspace a message goes to, as its qualified ids name it ('' for none)."""
    ids = (outgoing.place.id, outgoing.to_user.id if outgoing.to_user else "")
    return next((w for w in (PlaceKey.of("", i).workspace for i in ids) if w), "")
