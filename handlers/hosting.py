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

from handlers.events import PersonKey, Transport
from handlers.settings import Config, SchoolConfig, SchoolPlaces
from storage.hosted import PlaceRole
from storage.unit import Unit

# Counted on a request that changed a hosted school's leads or places: the process reloads its
# schools once that request is committed, so the next message from a newly claimed place is read.
SCHOOLS_CHANGED = "schools_changed"


async def hosted_schools(unit: Unit) -> tuple[SchoolConfig, ...]:
    """Every hosted school with its leads and the places it uses (gone places left out)."""
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
            digest[where] = place.key.place_id
        else:
            reports[where].append(place.key.place_id)
    configs = []
    for school in schools:
        transports = {t for (s, t) in (*leads, *reports, *digest) if s == school.id}
        places = {
            transport: SchoolPlaces(
                report_places=tuple(reports.get((school.id, transport), ())),
                leads=tuple(leads.get((school.id, transport), ())),
                digest_place=digest.get((school.id, transport)),
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
    """Names both the file and the database hold: each school must live in one of them."""
    configured = {school.name for school in config.schools}
    return sorted(name for name in hosted_names if name in configured)
