"""From an Incoming to stored effects and queued replies, one inbox item at a time.

Adapters call `receive` (a quick commit to the inbox, before they acknowledge the platform), then
`process_pending`, which runs the handler, writes its replies to the outbox and marks the inbox item
processed, all in one transaction. A crash anywhere leaves either nothing done or everything done.
An item that fails is retried, and set aside only when it fails again and again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.adapters.console_config import CONSOLE
from bot.adapters.teams.config import TEAMS
from bot.clock import Clock
from bot.config.schema import names_of
from bot.inbox_writer import InboxWriter
from bot.metrics import Metrics
from bot.schools import LiveSchools
from handlers import hosting, joining, leads, messages, reminders, report, staff, threads, withdraw
from handlers.commands import Command, command_named
from handlers.context import Context, Request
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, Transport
from handlers.hosting import SCHOOLS_CHANGED
from handlers.roles import lead_schools
from handlers.settings import Config
from handlers.text import printable
from storage.models import InboxItem
from storage.store import Store, is_transient
from storage.unit import Unit

log = logging.getLogger(__name__)

Handler = Callable[[Context, str], Awaitable[list[Outgoing]]]

MAX_ATTEMPTS = 3  # an item that fails this many times is set aside for a person to look at
RETRY_BASE = 2.0  # seconds before the first retry; doubled for each further one
BATCH = 50  # inbox items handled in one transaction, at most
BATCH_SECONDS = 0.05  # a batch takes no further item after this long
EAGER_SECONDS = 0.01  # nor after this long once new events wait to be stored
# Loop turns a committed batch waits before the next batch takes the connection: a deliverer
# woken by the commit passes through its wake's waiter and asyncio.wait before it asks for the
# connection to claim the batch's replies (three turns; one more to spare), and otherwise asks
# only once the next batch is done.
HAND_OVER_TURNS = 4
# Batches handled at once, where the store runs transactions side by side (PostgreSQL): while
# one waits on a round trip to the server, another's handler runs. The pool keeps connections
# for intake and delivery beside them.
LANES = 2


@dataclass(frozen=True)
class _Handled:
    """What to log and count about an item once its batch is committed."""

    event_id: str
    kind: IncomingKind
    cases: frozenset[int]
    counts: Counter[str]


class StorageUnavailable(Exception):
    """The database is locked, full or failing: handling waits and tries again."""


class _Lanes:
    """The batches of one process_pending running side by side, and when they stop. A lane that
    found nothing waits for another lane's commit (which may free a school, or a person's next
    item) and looks again; they all stop once every lane has found nothing, so the last claim
    was made while no lane held anything."""

    def __init__(self, lanes: int) -> None:
        self.running = lanes  # lanes not waiting
        self.commits = 0
        self._changed = asyncio.Event()

    def progressed(self) -> None:
        """A lane committed a batch."""
        self.commits += 1
        self._changed.set()

    async def idle(self, seen: int) -> bool:
        """A lane found nothing, having looked when `commits` was `seen`: True once it should
        look again, False when every lane has found nothing."""
        if self.commits != seen:
            return True  # a commit since it looked: look again at once
        self.running -= 1
        if self.running == 0:
            self._changed.set()
            return False
        while self.commits == seen and self.running > 0:
            self._changed.clear()
            await self._changed.wait()
        if self.running == 0:
            return False
        self.running += 1
        return True

    def failed(self) -> None:
        """A running lane ended with an error: the others must not wait for it."""
        self.running -= 1
        self._changed.set()


class Router:
    def __init__(
        self,
        database: Store,
        config: Config,
        clock: Clock,
        transports: frozenset[Transport],
        metrics: Metrics | None = None,
        schools: LiveSchools | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._arrived: dict[str, float] = {}
        self._database = database
        self._schools = schools or LiveSchools(config)
        self._clock = clock
        self._transports = transports
        self._processing = asyncio.Lock()
        self._inbox = InboxWriter(database, clock)
        # Whoami and cases are answered before a school is known: see _dispatch.
        self._commands: dict[Command, Handler] = {
            Command.HELP: _ignore_args(staff.help_text),
            Command.START: _ignore_args(staff.help_text),
            Command.REPORT: report.on_report_command,
            Command.MYCASES: _ignore_args(staff.my_cases),
            Command.WITHDRAW: withdraw.on_command,
        }

    @property
    def clock(self) -> Clock:
        """The clock events are handled by, for the transports' own timing (log throttling)."""
        return self._clock

    @property
    def database(self) -> Store:
        """The store events go to, for a transport's own rows (Slack's installations)."""
        return self._database

    @property
    def _config(self) -> Config:
        return self._schools.config

    @property
    def config(self) -> Config:
        """The schools served as last loaded: adapters read which school a chat belongs to."""
        return self._schools.config

    @property
    def hosting(self) -> bool:
        """Schools join from the chat here (see LiveSchools.hosting): what the log lines about a
        chat of no school tell the operator to do."""
        return self._schools.hosting

    async def schools_changed(self) -> bool:
        """Look again for the schools now, for a message from a chat of no school (at most
        once a second): True when they changed, and the message should be read again."""
        return await self._schools.load_on_miss(self._database)

    async def receive(self, incoming: Incoming, source: str, event_id: str) -> bool:
        """Commit the event to the inbox; False when this event id was already received."""
        arrived = time.monotonic()
        incoming = self._sealed(incoming)
        added = await self._inbox.add(source, event_id, incoming.to_json())
        if added:  # a repeat is never processed, so timing it would only grow the map
            self._arrived[event_id] = arrived
        return added

    async def remember_name(self, key: str, name: str) -> None:
        """A display name learnt from the platform for someone whose event was just received
        (their row may not exist yet: the event is handled concurrently)."""
        async with self._database.transaction() as unit:
            await unit.people.ensure(key, name)

    async def remember_address(self, transport: str, place_id: str, address: str) -> None:
        """An address the platform gave for a place, so the bot can still post there unprompted
        after a restart (a Teams conversation's serviceUrl)."""
        async with self._database.transaction() as unit:
            await unit.places.remember_address(transport, place_id, address, self._clock.now())

    async def addresses(self, transport: str) -> dict[str, str]:
        """The addresses kept for one transport's places, by place id."""
        async with self._database.reading() as unit:
            return await unit.places.addresses(transport)

    async def process_pending(self, committed: Callable[[], None] | None = None) -> int:
        """Process every inbox item that is due, in arrival order; returns how many were handled.

        Items are handled several to a transaction (one commit and one sync to disk for all),
        each inside its own savepoint: an item that fails undoes only its own writes, is marked
        for a retry, and never stops the items behind it. A batch ends after BATCH items or
        BATCH_SECONDS, sooner (EAGER_SECONDS) once new events wait to be stored, so neither
        their acknowledgements nor the deliverers wait long for the connection. `committed` is
        called after each batch's commit, so its replies go out while later batches are
        handled. A database that is locked or full raises StorageUnavailable and leaves the whole
        batch pending: nothing about it is the input's fault.

        Where the store allows, LANES batches run at once, each claiming items no other holds
        (storage/inbox.py: on PostgreSQL, of schools no other batch is working on), exactly as
        batches of two processes on one database do.
        """
        async with self._processing:
            lanes = _Lanes(max(1, min(LANES, self._database.parallel_writes)))
            outcomes = await asyncio.gather(
                *(self._lane(lanes, committed) for _ in range(lanes.running)),
                return_exceptions=True,
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return sum(o for o in outcomes if isinstance(o, int))

    async def _lane(self, lanes: _Lanes, committed: Callable[[], None] | None) -> int:
        """Handle batch after batch, as long as any lane finds work; how many it handled."""
        done = 0
        try:
            while True:
                seen = lanes.commits
                handled = await self._batch(committed)
                if handled is not None:
                    done += handled
                    lanes.progressed()
                elif not await lanes.idle(seen):
                    return done
        except BaseException:
            lanes.failed()
            raise

    async def _batch(self, committed: Callable[[], None] | None) -> int | None:
        """One transaction's batch; how many items it handled, None when it claimed none."""
        handled: list[_Handled] = []
        try:
            async with self._database.transaction() as unit:
                items = await unit.inbox.pending(self._clock.now(), limit=BATCH)
                if items:
                    await self._schools.refresh(unit)
                started = time.monotonic()
                for item in items:
                    result = await self._process(unit, item)
                    if result is not None:
                        handled.append(result)
                        if result.counts[SCHOOLS_CHANGED]:
                            await self._schools.refresh(unit)  # the batch's next items see it
                    # Let the event loop serve requests between items.
                    await asyncio.sleep(0)
                    elapsed = time.monotonic() - started
                    if elapsed > BATCH_SECONDS or (
                        elapsed > EAGER_SECONDS and self._database.events_waiting
                    ):
                        break
        except Exception as error:
            if is_transient(error):
                raise StorageUnavailable(str(error)) from error
            raise
        if not items:
            return None
        if any(result.counts[SCHOOLS_CHANGED] for result in handled):
            await self._schools.load(self._database)  # read the place just claimed from now on
        for result in handled:
            self._report(result)
        if handled and committed is not None:
            committed()
            for _ in range(HAND_OVER_TURNS):
                await asyncio.sleep(0)
        return len(handled)

    async def resume(self, incoming: Incoming) -> None:
        """Queue the question this person's conversation is waiting on, if any: the terminal asks
        it again at start-up, since what it printed before a restart is gone from the screen."""
        async with self._database.transaction() as unit:
            person = await unit.people.by_key(incoming.user.key)
            school_config = self._config.school(incoming.school or "")
            school = await unit.schools.by_name(incoming.school or "")
            if person is None or school is None or school_config is None:
                return
            now = self._clock.now()
            request = Request(
                unit, now, self._config, self._transports, person, incoming, Counter()
            )
            ctx = request.in_school(school, school_config)
            waiting = await report.waiting_question(ctx)
            await unit.outbox.add_many([outgoing.outbox_row() for outgoing in waiting], now)

    async def _process(self, unit: Unit, item: InboxItem) -> _Handled | None:
        """Handle one item inside the batch's transaction; None when it failed (and was marked
        for a retry or set aside) or another process had handled it already."""
        counts: Counter[str] = Counter()
        cases: set[int] = set()
        incoming: Incoming | None = None
        try:
            incoming = Incoming.from_json(item.payload)
            async with unit.savepoints.around():
                now = self._clock.now()
                if not await unit.inbox.mark_processed(item.id, now):
                    return None  # another process on the same file handled it
                replies = await self._dispatch(unit, incoming, counts)
                await unit.outbox.add_many([reply.outbox_row() for reply in replies], now)
                cases.update(r.case_id for r in replies if r.case_id is not None)
        except Exception as error:
            if is_transient(error):
                raise StorageUnavailable(str(error)) from error
            await self._failed(unit, item, incoming, error)
            return None
        return _Handled(item.event_id, incoming.kind, frozenset(cases), counts)

    def _report(self, handled: _Handled) -> None:
        """Log and count a handled item, once its transaction is committed."""
        log.info(
            "event %s (%s) handled; cases %s; %s",
            handled.event_id,
            handled.kind.value,
            sorted(handled.cases) or "-",
            dict(handled.counts) or "-",
        )
        for name, amount in handled.counts.items():
            self._metrics.count(name, amount)
        arrived = self._arrived.pop(handled.event_id, None)
        if arrived is not None:
            self._metrics.intake_seconds.observe(time.monotonic() - arrived)

    async def _failed(
        self, unit: Unit, item: InboxItem, incoming: Incoming | None, error: Exception
    ) -> None:
        """Retry a failed item later; set it aside, with an apology, once it has failed
        MAX_ATTEMPTS times or cannot be read at all. Written in the batch's transaction, after
        the item's own writes were undone."""
        reason = type(error).__name__
        attempts = item.attempts + 1
        now = self._clock.now()
        if incoming is None or attempts >= MAX_ATTEMPTS:
            log.error(
                "event %s set aside after %s attempt(s): %s; see `casebook inbox list`",
                item.event_id,
                attempts,
                reason,
                exc_info=incoming is not None,
            )
            await unit.inbox.set_aside(item.id, reason, now)
            if incoming is not None:
                apology = Outgoing(
                    place=_direct(incoming), text=messages.INTERNAL_ERROR, to_user=incoming.user
                )
                await unit.outbox.add(*apology.outbox_row(), now)
            self._arrived.pop(item.event_id, None)
            return
        delay = RETRY_BASE * 2 ** (attempts - 1)
        log.warning(
            "event %s failed (%s), attempt %s of %s; retrying in %.0fs",
            item.event_id,
            reason,
            attempts,
            MAX_ATTEMPTS,
            delay,
        )
        await unit.inbox.mark_failed(item.id, reason, now + timedelta(seconds=delay))

    async def _dispatch(
        self, unit: Unit, incoming: Incoming, counts: Counter[str]
    ) -> list[Outgoing]:
        command = command_named(incoming.command) if incoming.kind is IncomingKind.COMMAND else None
        if command is Command.WHOAMI:
            # Anyone, from anywhere, configured or not; it makes no case and joins no school.
            return [staff.whoami(incoming, names_of(incoming.user.transport))]
        now = self._clock.now()
        if incoming.kind is IncomingKind.ADDED:
            if self._schools.hosting and incoming.place.transport == TEAMS:
                return [Outgoing(incoming.place, messages.hosted_channel_added())]
            if self._schools.hosting:
                return [Outgoing(incoming.place, messages.hosted_group_added())]
            names = names_of(incoming.place.transport)
            return [Outgoing(incoming.place, messages.unconfigured_group(names, incoming.place.id))]
        if incoming.kind is IncomingKind.REMOVED:
            person = await unit.people.ensure(incoming.user.key, incoming.user.name)
            request = Request(unit, now, self._config, self._transports, person, incoming, counts)
            return await hosting.place_gone(request)
        if incoming.kind is IncomingKind.MOVED:
            person = await unit.people.ensure(incoming.user.key, incoming.user.name)
            request = Request(unit, now, self._config, self._transports, person, incoming, counts)
            return await hosting.place_moved(request)
        if incoming.external:
            # Not made a member and nothing kept: see README, "Shared channels".
            return [
                Outgoing(
                    incoming.place, messages.EXTERNAL_REFUSED, to_user=incoming.user, private=True
                )
            ]
        person = await unit.people.ensure(incoming.user.key, incoming.user.name)
        request = Request(unit, now, self._config, self._transports, person, incoming, counts)
        sealed = _invitation_code(incoming)
        if sealed is not None:
            return await joining.redeem(request, sealed)
        if command is Command.CASES:
            # Lead commands work from any place: the lead's roles say which schools they see.
            return await leads.handle(request, incoming.text)
        if incoming.kind is IncomingKind.BUTTON and reminders.is_reminder_button(
            incoming.button_value
        ):
            return await reminders.answer_button(request, incoming.button_value)
        if incoming.kind is IncomingKind.BUTTON and withdraw.is_withdraw_button(
            incoming.button_value
        ):
            return await withdraw.on_button(request, incoming.button_value)
        school_name = incoming.school or await self._school_of_person(unit, request)
        school_config = None if school_name is None else self._config.school(school_name)
        school = None if school_name is None else await unit.schools.by_name(school_name)
        if school_config is None or school is None:
            if incoming.kind in (IncomingKind.EDIT, IncomingKind.DELETE):
                return []  # about a message that was never read as a report
            return [request.private_reply(messages.NOT_A_MEMBER)]
        await unit.schools.add_member(school.id, person.id, now)
        ctx = request.in_school(school, school_config)
        return await _first_message(ctx) + await self._handle(ctx)

    async def _handle(self, ctx: Context) -> list[Outgoing]:
        incoming = ctx.incoming
        if incoming.kind is IncomingKind.BUTTON:
            return await report.answer_button(ctx, incoming.button_value)
        if incoming.kind is IncomingKind.COMMAND:
            command = command_named(incoming.command)
            handler = None if command is None else self._commands.get(command)
            if handler is None:
                return [ctx.reply(messages.unknown_command(printable(incoming.command)))]
            return await handler(ctx, incoming.text)
        if incoming.kind is IncomingKind.EDIT:
            return await threads.on_edit(ctx)
        if incoming.kind is IncomingKind.DELETE:
            return await threads.on_delete(ctx)
        return await report.on_message(ctx, incoming.text)

    def _sealed(self, incoming: Incoming) -> Incoming:
        """The event with any invitation code in it replaced by the code's hash, before it is
        stored: a code is never written to the database (handlers/joining.py)."""
        code = _invitation_code(incoming)
        if code is None:
            return incoming
        sealed = joining.seal(code)
        text = sealed if incoming.kind is IncomingKind.COMMAND else f"join {sealed}"
        return dataclasses.replace(incoming, text=text, links=())

    async def _school_of_person(self, unit: Unit, request: Request) -> str | None:
        """Outside a report place (a direct chat), a person speaks for the school they were last
        seen in, or the first they lead; someone unknown belongs to none."""
        configured = {school.name for school in self._config.schools}
        for school in await unit.schools.of_member(request.person.id):
            if school.name in configured:
                return school.name
        led = lead_schools(self._config, request.incoming.user)
        return led[0].name if led else None


async def _first_message(ctx: Context) -> list[Outgoing]:
    """The first time Casebook hears from a report place, it says there what the place is for.

    Remembered in the database, so it is said once per place, not once per start. The terminal
    is left out: its banner says the same thing to the one person typing.
    """
    place = ctx.incoming.place
    if place.kind is not PlaceKind.CHANNEL or place.transport == CONSOLE:
        return []
    if not await ctx.unit.places.first_visit(place.transport, place.id, ctx.now):
        return []
    return [Outgoing(place=place, text=messages.first_message(ctx.school.name))]


def _invitation_code(incoming: Incoming) -> str | None:
    """The code in `join CODE` (or Telegram's `/start CODE`), sent where only the bot reads it:
    a direct chat, or the terminal."""
    if incoming.place.kind is not PlaceKind.DIRECT and incoming.place.transport != CONSOLE:
        return None
    if incoming.kind is IncomingKind.COMMAND:
        command = command_named(incoming.command)
        return incoming.text.strip() or None if command is Command.START else None
    if incoming.kind is IncomingKind.MESSAGE:
        return joining.code_in_message(incoming.text)
    return None


def _ignore_args(handler: Callable[[Context], Awaitable[list[Outgoing]]]) -> Handler:
    async def wrapped(ctx: Context, _text: str) -> list[Outgoing]:
        return await handler(ctx)

    return wrapped


def _direct(incoming: Incoming) -> Place:
    if incoming.place.kind is PlaceKind.DIRECT:
        return incoming.place
    return Place(incoming.place.transport, incoming.user.id, PlaceKind.DIRECT)
