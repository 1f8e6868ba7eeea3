"""Data protection: retention (purge), a person's data export, and a person's erasure.

Retention counts whole days in each school's time zone: with `closed_case_days = 365`, a case
closed 365 days ago is kept and one closed 366 days ago is anonymised. A case under legal hold is
never purged. Purging keeps platform, categories, status and dates, so the statistics do not move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.events import PersonKey
from handlers.settings import Config
from storage.models import Case, Person, Status, person_ref
from storage.unit import Unit

SET_ASIDE_DAYS = 30  # days an event that could not be handled keeps its text for a retry
# How long a sent message's reference to a direct chat is kept: such a reference identifies the
# person, and nothing reads it once the conversation it belongs to is over.
DIRECT_REFERENCE_KEPT = timedelta(days=30)


@dataclass(frozen=True)
class PurgeItem:
    school: str
    number: int
    case_id: int
    closed_days_ago: int


class UnknownPerson(Exception):
    """No one with that platform id has used Casebook."""


async def purge_plan(unit: Unit, config: Config, now: datetime) -> list[PurgeItem]:
    """The closed cases past retention, not held and not yet purged, of every school in the
    database (configured or not: retention applies to all the data in the file)."""
    plan: list[PurgeItem] = []
    for school in await unit.schools.all():
        zone = ZoneInfo(school.timezone)
        today = now.astimezone(zone).date()
        for case in await unit.cases.listing(school_id=school.id):
            if not _closed_and_unheld(case):
                continue
            assert case.closed_at is not None
            days = (today - case.closed_at.astimezone(zone).date()).days
            if days > config.retention.closed_case_days:
                plan.append(PurgeItem(school.name, case.number, case.id, days))
    return plan


async def purge(unit: Unit, plan: list[PurgeItem], now: datetime) -> None:
    """Anonymise the planned cases, blank the text of events set aside for longer than
    SET_ASIDE_DAYS (a person has had a month to retry them), and forget which direct chats old
    messages went to."""
    for item in plan:
        await unit.privacy.anonymise_case(item.case_id, now)
    await unit.inbox.forget_set_aside(now - timedelta(days=SET_ASIDE_DAYS))
    await unit.privacy.forget_direct_refs(now - DIRECT_REFERENCE_KEPT)


async def person_export(unit: Unit, key: str, leads_in_file: Iterable[str] = ()) -> dict[str, Any]:
    """Everything Casebook holds about one person, and nothing about anyone else.
    `leads_in_file`: the config file's schools that name them a lead (the database's are read
    here), which they belong to whether or not they ever reported in them."""
    person = await _person(unit, key)
    schools = {s.name for s in await unit.schools.of_member(person.id)}
    schools.update(leads_in_file)
    for lead in await unit.hosted.leads():
        school = await unit.schools.get(lead.school_id) if lead.person_id == person.id else None
        if school is not None:
            schools.add(school.name)
    reported = []
    for case in await unit.cases.reported_by(person.id):
        school = await unit.schools.get(case.school_id)
        mine = [r for r in await unit.cases.reporters(case.id) if r.person.id == person.id]
        reported.append(
            {
                "school": school.name if school else None,
                "case": case.number,
                "platform": case.platform.value,
                "status": case.status.value,
                "links": [link.canonical for link in await unit.cases.links(case.id)],
                "your_words": mine[0].description if mine else "",
                "reported_at": _time(mine[0].reported_at) if mine else None,
            }
        )
    notes, timeline, assigned = [], [], []
    for case in await unit.cases.listing():
        school = await unit.schools.get(case.school_id)
        label = {"school": school.name if school else None, "case": case.number}
        for note in await unit.notes.for_cases([case.id]):
            if note.author is not None and note.author.id == person.id:
                notes.append({**label, "text": note.text, "at": _time(note.at)})
        reference = person_ref(person.id)
        for entry in await unit.audit.for_cases([case.id]):
            if entry.actor_id == person.id or reference in (entry.from_value, entry.to_value):
                timeline.append(
                    {
                        **label,
                        "action": entry.action,
                        "by_you": entry.actor_id == person.id,
                        "at": _time(entry.at),
                    }
                )
        if case.assignee_id == person.id:
            assigned.append(label)
    return {
        "person": {"id": person.key, "name": person.name},
        "schools": sorted(schools),
        "cases_reported": reported,
        "cases_assigned": assigned,
        "notes_written": notes,
        "audit": timeline,
    }


async def erase_person(unit: Unit, key: str, now: datetime) -> str:
    """Replace the person's identity with a stable pseudonym; returns the pseudonym."""
    person = await _person(unit, key)
    pseudonym = f"Former staff member {person.id}"
    await unit.privacy.erase_person(person.id, PersonKey.parse(key).id, pseudonym, now)
    return pseudonym


async def _person(unit: Unit, key: str) -> Person:
    person = await unit.people.by_key(key)
    if person is None:
        raise UnknownPerson(key)
    return person


def _closed_and_unheld(case: Case) -> bool:
    return (
        case.status is Status.CLOSED
        and case.closed_at is not None
        and case.legal_hold is None
        and case.purged_at is None
    )


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
