"""A transcript driver: say something as someone, get back exactly what Casebook sent.

It uses the real router, handlers, SQLite file and outbox delivery; only the transport is an
in-memory list, the way errbot's test backend works.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery
from bot.router import Router
from handlers.events import (
    Button,
    Incoming,
    IncomingKind,
    Outgoing,
    Place,
    PlaceKind,
    User,
)
from handlers.settings import Config
from storage.store import Store

STAFF_ROOM = Place(CONSOLE, "staff-room", PlaceKind.CHANNEL)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


@dataclass
class Recorder:
    """An in-memory transport: remembers every message delivered to it."""

    sent: list[Outgoing] = field(default_factory=list)
    refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, outgoing: Outgoing) -> str | None:
        self.sent.append(outgoing)
        return f"m{next(self.refs)}"


class Chat:
    def __init__(self, database: Store, config: Config, clock: FakeClock) -> None:
        self.database = database
        self.config = config
        self.clock = clock
        self.transport = Recorder()
        self.router = Router(database, config, clock, frozenset({CONSOLE}))
        self.delivery = Delivery(database, clock, {CONSOLE: self.transport})
        self._events = itertools.count(1)

    async def send(self, incoming: Incoming) -> list[Outgoing]:
        before = len(self.transport.sent)
        event_id = incoming.event_id or f"e{next(self._events)}-{uuid.uuid4().hex[:8]}"
        await self.router.receive(incoming, "test", event_id)
        await self.router.process_pending()
        await self.delivery.flush()
        return self.transport.sent[before:]

    async def say(
        self,
        text: str,
        user: str = "alex",
        school: str | None = "Northfield",
        place: Place = STAFF_ROOM,
    ) -> list[Outgoing]:
        return await self.send(
            Incoming(IncomingKind.MESSAGE, place, _user(user), text=text, school=school)
        )

    async def command(
        self, name: str, text: str = "", user: str = "alex", school: str | None = "Northfield"
    ) -> list[Outgoing]:
        return await self.send(
            Incoming(
                IncomingKind.COMMAND,
                STAFF_ROOM,
                _user(user),
                text=text,
                command=name,
                school=school,
            )
        )

    async def press(
        self, button: Button, user: str = "alex", message_ref: str | None = None
    ) -> list[Outgoing]:
        return await self.send(
            Incoming(
                IncomingKind.BUTTON,
                Place(CONSOLE, user, PlaceKind.DIRECT),
                _user(user),
                school="Northfield",
                button_value=button.value,
                message_ref=message_ref,
            )
        )


def _user(name: str) -> User:
    return User(CONSOLE, name, name)


def texts(replies: list[Outgoing]) -> str:
    return "\n".join(r.text for r in replies)


def button(replies: list[Outgoing], label: str) -> Button:
    for reply in reversed(replies):
        for candidate in reply.buttons:
            if candidate.label == label:
                return candidate
    raise AssertionError(f"no button {label!r} in {[b.label for r in replies for b in r.buttons]}")
