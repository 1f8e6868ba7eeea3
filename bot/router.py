"""From an Incoming to stored effects and queued replies, one inbox item at a time.

Adapters call `receive` (a quick commit to the inbox, before they acknowledge the platform), then
`process_pending`, which runs the handler, writes its replies to the outbox and marks the inbox item
processed, all in one transaction. A crash anywhere leaves either nothing done or everything done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from bot import messages
from bot.clock import Clock
from bot.config import Config
from bot.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, Transport
from bot.inbox_writer import InboxWriter
from bot.metrics import Metrics
from handlers import leads, reminders, report, staff
from handlers.context import Context, Request
from handlers.roles import lead_schools
from handlers.text import printable
from storage.db import Database
from storage.unit import Unit

log = logging.getLogger(__name__)

Handler = Callable[[Context, str], Awaitable[list[Outgoing]]]


class Router:
    def __init__(
        self,
        database: Database,
        config: Config,
        clock: Clock,
        transports: frozenset[Transport],
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._arrived: dict[str, float] = {}
        self._database = database
        self._config = config
        self._clock = clock
        self._transports = transports
        self._processing = asyncio.Lock()
        self._inbox = InboxWriter(database, clock)
        self._commands: dict[str, Handler] = {
            "help": _ignore_args(staff.help_text),
            "start": _ignore_args(staff.help_text),
            "report": report.on_report_command,
            "mycases": _ignore_args(staff.my_cases),
        }

    async def receive(self, incoming: Incoming, source: str, event_id: str) -> bool:
        """Commit the event to the inbox; False when this event id was already received."""
        arrived = time.monotonic()
        added = await self._inbox.add(source, event_id, incoming.to_json())
        if added:  # a repeat is never processed, so timing it would only grow the map
            self._arrived[event_id] = arrived
        return added

    async def remember_name(self, key: str, name: str) -> None:
        """A display name learnt from the platform for someone whose event was just received
        (their row may not exist yet: the event is handled concurrently)."""
        async with self._database.transaction() as unit:
            await unit.people.ensure(key, name)

    async def process_pending(self) -> int:
        """Process every unprocessed inbox item in arrival order; returns how many."""
        done = 0
        async with self._processing:
            while True:
                async with self._database.transaction() as unit:
                    items = await unit.inbox.pending(limit=50)
                if not items:
                    return done
                for item in items:
                    await self._process(item.id, item.event_id, Incoming.from_json(item.payload))
                    done += 1

    async def _process(self, item_id: int, event_id: str, incoming: Incoming) -> None:
        counts: Counter[str] = Counter()
        cases: set[int] = set()
        try:
            async with self._database.transaction() as unit:
                now = self._clock.now()
                if not await unit.inbox.mark_processed(item_id, now):
                    return  # another process on the same file handled it
                for outgoing in await self._dispatch(unit, incoming, counts):
                    await unit.outbox.add(
                        outgoing.place.transport, outgoing.to_json(), outgoing.case_id, now
                    )
                    if outgoing.case_id is not None:
                        cases.add(outgoing.case_id)
            log.info(
                "event %s (%s) handled; cases %s; %s",
                event_id,
                incoming.kind.value,
                sorted(cases) or "-",
                dict(counts) or "-",
            )
            for name, amount in counts.items():
                self._metrics.count(name, amount)
            arrived = self._arrived.pop(event_id, None)
            if arrived is not None:
                self._metrics.intake_seconds.observe(time.monotonic() - arrived)
        except Exception as error:
            # The event stays in the inbox table for a person to look at; the sender hears so.
            log.exception("event %s failed: %s", event_id, type(error).__name__)
            async with self._database.transaction() as unit:
                now = self._clock.now()
                apology = Outgoing(
                    place=_direct(incoming), text=messages.INTERNAL_ERROR, to_user=incoming.user
                )
                await unit.outbox.add(apology.place.transport, apology.to_json(), None, now)
                await unit.inbox.mark_processed(item_id, now, keep=True)

    async def _dispatch(
        self, unit: Unit, incoming: Incoming, counts: Counter[str]
    ) -> list[Outgoing]:
        now = self._clock.now()
        person = await unit.people.ensure(incoming.user.key, incoming.user.name)
        request = Request(unit, now, self._config, self._transports, person, incoming, counts)
        if incoming.kind is IncomingKind.COMMAND and incoming.command.lower() == "cases":
            # Lead commands work from any place: the lead's roles say which schools they see.
            return await leads.handle(request, incoming.text)
        if incoming.kind is IncomingKind.BUTTON and reminders.is_reminder_button(
            incoming.button_value
        ):
            return await reminders.answer_button(request, incoming.button_value)
        school_name = incoming.school or await self._school_of_person(unit, request)
        school_config = None if school_name is None else self._config.school(school_name)
        school = None if school_name is None else await unit.schools.by_name(school_name)
        if school_config is None or school is None:
            return [request.private_reply(messages.NOT_A_MEMBER)]
        await unit.schools.add_member(school.id, person.id, now)
        ctx = request.in_school(school, school_config)
        if incoming.kind is IncomingKind.BUTTON:
            return await report.answer_button(ctx, incoming.button_value)
        if incoming.kind is IncomingKind.COMMAND:
            handler = self._commands.get(incoming.command.lower())
            if handler is None:
                return [ctx.reply(messages.unknown_command(printable(incoming.command)))]
            return await handler(ctx, incoming.text)
        return await report.on_message(ctx, incoming.text)

    async def _school_of_person(self, unit: Unit, request: Request) -> str | None:
        """Outside a report place (a direct chat), a person speaks for the school they were last
        seen in, or the first they lead; someone unknown belongs to none."""
        configured = {school.name for school in self._config.schools}
        for school in await unit.schools.of_member(request.person.id):
            if school.name in configured:
                return school.name
        led = lead_schools(self._config, request.incoming.user)
        return led[0].name if led else None


def _ignore_args(handler: Callable[[Context], Awaitable[list[Outgoing]]]) -> Handler:
    async def wrapped(ctx: Context, _text: str) -> list[Outgoing]:
        return await handler(ctx)

    return wrapped


def _direct(incoming: Incoming) -> Place:
    if incoming.place.kind is PlaceKind.DIRECT:
        return incoming.place
    return Place(incoming.place.transport, incoming.user.id, PlaceKind.DIRECT)
