"""Schools kept in the database, as the same settings a config file's `[[schools]]` gives.

Everything that works for a configured school (reports, alerts, reminders, the digest, lead
commands) reads `Config.schools`; a hosted school is turned into one more entry there, so none
of it needs to know where a school came from. A school lives in the file or in the database,
never both: a hosted school whose name the file also uses is left out (check-config and start-up
say so).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping

from handlers.context import Request
from handlers.events import Outgoing, PersonKey, Transport
from handlers.settings import Config, FollowUp, SchoolConfig, SchoolPlaces
from storage.hosted import PlaceKey, PlaceRole
from storage.models import AuditAction, AuditEntry
from storage.unit import Unit

# Counted on a request that changed a hosted school's leads or places: the process reloads its
# schools once that request is committed, so the next message from a newly claimed place is read.
SCHOOLS_CHANGED = "schools_changed"


async def hosted_schools(
    unit: Unit, follow_ups: Mapping[Transport, FollowUp] | None = None
) -> tuple[SchoolConfig, ...]:
    """Every hosted school with its leads and the places it uses (gone places left out);
    `follow_ups`: where a platform's reports are followed up, where not in a direct chat."""
    schools = await unit.hosted.schools()
    leads: dict[tuple[int, Transport], list[str]] = defaultdict(list)
    for lead in await unit.hosted.leads():
        key = PersonKey.parse(lead.person_key)
        if key.transport is not None:
            leads[lead.school_id, key.transport].append(key.id)
    reports: dict[tuple[int, Transport], list[str]] = defaultdict(list)
    digest: dict[tuple[int, Transport], str] = {}
    for place in await unit.hosted.places():
        if place.gone_at is not None:
            continue
        where = (place.school_id, Transport(place.key.transport))
        if place.role is PlaceRole.LEADS:
            digest[where] = place.key.qualified
        else:
            reports[where].append(place.key.qualified)
    configs = []
    for school in schools:
        transports = {t for (s, t) in (*leads, *reports, *digest) if s == school.id}
        places = {
            transport: SchoolPlaces(
                report_places=tuple(reports.get((school.id, transport), ())),
                leads=tuple(leads.get((school.id, transport), ())),
                digest_place=digest.get((school.id, transport)),
                follow_up=(follow_ups or {}).get(transport, FollowUp.DM),
            )
            for transport in sorted(transports)
        }
        configs.append(SchoolConfig(school.name, school.timezone, places))
    return tuple(configs)


def with_hosted(config: Config, hosted: tuple[SchoolConfig, ...]) -> Config:
    """The config's schools followed by the hosted ones whose names the file does not use."""
    configured = {school.name for school in config.schools}
    extra = tuple(school for school in hosted if school.name not in configured)
    return dataclasses.replace(config, schools=config.schools + extra) if extra else config


def clashes(config: Config, hosted_names: list[str]) -> list[str]:
    """Names both the file and the database hold: each school must live in one of them. Names
    are matched regardless of letter case, as everywhere, so one school is never made twice."""
    configured = {school.name.casefold() for school in config.schools}
    return sorted(name for name in hosted_names if name.casefold() in configured)


async def place_gone(request: Request) -> list[Outgoing]:
    """The bot was removed from a place: a hosted school's claim on it is kept, marked gone, so
    nothing more is sent there (and `casebook school list` shows it); audited."""
    key = PlaceKey.of(request.incoming.place.transport, request.incoming.place.id)
    place = await request.unit.hosted.place(key)
    if place is None or not await request.unit.hosted.mark_gone(key, request.now):
        return []
    request.count(SCHOOLS_CHANGED)
    await _audit_place(request, place.school_id, place.role.value, "gone", key)
    return []


async def place_moved(request: Request) -> list[Outgoing]:
    """The platform gave a place a new id: its claim and conversations follow (its cases belong
    to the school, not to the place, and stay as they are)."""
    old = request.incoming.place
    new_id = request.incoming.text
    key = PlaceKey.of(old.transport, old.id)
    place = await request.unit.hosted.place(key)
    if not new_id or place is None or not await request.unit.hosted.move(key, new_id):
        return []
    request.count(SCHOOLS_CHANGED)
    await _audit_place(request, place.school_id, old.id, new_id, key)
    return []


async def _audit_place(
    request: Request, school_id: int, before: str, after: str, key: PlaceKey
) -> None:
    await request.unit.audit.append(
        AuditEntry(
            case_id=None,
            school_id=school_id,
            actor_id=request.person.id,
            action=AuditAction.PLACE,
            at=request.now,
            from_value=before,
            to_value=after,
            reason=f"{key.transport}:{key.workspace}:{key.place_id}",
        )
    )
