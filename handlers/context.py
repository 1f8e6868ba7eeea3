"""What a handler gets besides the event: repositories in one transaction, the time, the config."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from handlers.events import Attachment, Button, Incoming, Outgoing, Place, PlaceKind, Transport
from handlers.settings import Config, FollowUp, SchoolConfig
from storage.models import AuditAction, AuditEntry, Person, School
from storage.unit import Unit


@dataclass(frozen=True)
class Request:
    """One person's event, before it is known which school it concerns."""

    unit: Unit
    now: datetime
    config: Config
    transports: frozenset[Transport]
    person: Person
    incoming: Incoming
    # What happened, by name (cases_created, …), for the metrics; filled in by handlers.
    counts: Counter[str] = field(default_factory=Counter, compare=False)

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def private_reply(self, text: str, attachment: Attachment | None = None) -> Outgoing:
        """A reply only the person who acted sees, where they acted (Slack: ephemeral)."""
        return Outgoing(
            place=self.incoming.place,
            text=text,
            to_user=self.incoming.user,
            private=True,
            attachment=attachment,
        )

    def in_school(self, school: School, school_config: SchoolConfig) -> Context:
        return Context(
            unit=self.unit,
            now=self.now,
            config=self.config,
            transports=self.transports,
            person=self.person,
            incoming=self.incoming,
            counts=self.counts,
            school=school,
            school_config=school_config,
        )


@dataclass(frozen=True, kw_only=True)
class Context(Request):
    """A request that concerns one school."""

    school: School
    school_config: SchoolConfig

    def reply(
        self, text: str, buttons: tuple[Button, ...] = (), case_id: int | None = None
    ) -> Outgoing:
        """A message to the person who acted, in the place their follow-ups go."""
        place = self.reporter_place()
        moved = place != self.incoming.place and self.incoming.place.kind is PlaceKind.CHANNEL
        return Outgoing(
            place=place,
            text=text,
            buttons=buttons,
            thread=self.reporter_thread(),
            to_user=self.incoming.user,
            case_id=case_id,
            fallback=self.incoming.place if moved else None,
            fallback_thread=self.incoming.thread if moved else None,
        )

    def reporter_place(self) -> Place:
        """Private by default: a report posted in a staff channel is followed up in a DM."""
        place = self.incoming.place
        if place.kind is PlaceKind.DIRECT or self.incoming.anonymous:
            return place  # someone posting as the group has no private chat
        if self.school_config.on(place.transport).follow_up is FollowUp.THREAD:
            return place
        return Place(place.transport, self.incoming.user.id, PlaceKind.DIRECT)

    def reporter_thread(self) -> str | None:
        place = self.reporter_place()
        return self.incoming.thread if place == self.incoming.place else None

    async def audit(
        self,
        action: AuditAction,
        case_id: int | None,
        from_value: str | None = None,
        to_value: str | None = None,
        reason: str | None = None,
    ) -> None:
        await self.unit.audit.append(
            AuditEntry(
                case_id=case_id,
                school_id=self.school.id,
                actor_id=self.person.id,
                action=action,
                at=self.now,
                from_value=from_value,
                to_value=to_value,
                reason=reason,
            )
        )


def leads_places(school: SchoolConfig, transports: frozenset[Transport]) -> list[Place]:
    """Where alerts for a school's leads go on each running transport: its leads' channel, or
    else each lead directly."""
    places: list[Place] = []
    for transport in sorted(transports):
        on = school.on(transport)
        if on.digest_place:
            places.append(Place(transport, on.digest_place, PlaceKind.LEADS))
        else:
            places.extend(Place(transport, lead, PlaceKind.DIRECT) for lead in on.leads)
    return places
