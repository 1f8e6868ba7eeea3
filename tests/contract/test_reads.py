"""What is read back whole: the audit trail, the export, the evidence rows; and the store's
promises about transactions and snapshots."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from typing import Any

import pytest

from handlers.export import FIELDS
from storage.models import AuditEntry, CaseLink, Category, Platform, Status
from storage.protocols import (
    AuditRepository,
    EvidenceRepository,
    ExportRepository,
    TableRepository,
)
from storage.store import Store
from storage.tables import TABLES
from tests.contract.support import T0, covers, new_case, school_and_person

DAY = timedelta(days=1)
CASE_CATEGORIES = next(table for table in TABLES if table.name == "case_categories")


@covers(AuditRepository.append, AuditRepository.for_cases)
async def test_audit_entries_of_several_cases_come_back_interleaved_as_written(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        a = await unit.cases.create(new_case(north, alex, "https://a.org/1"))
        b = await unit.cases.create(new_case(north, alex, "https://a.org/2"))
        c = await unit.cases.create(new_case(north, alex, "https://a.org/3"))
        written = [
            AuditEntry(a.id, north, alex, "created", T0, to_value="new"),
            AuditEntry(b.id, north, None, "created", T0, to_value="new"),
            AuditEntry(c.id, north, alex, "created", T0),
            AuditEntry(a.id, north, alex, "closed", T0 + DAY, "new", "closed", "duplicate"),
            AuditEntry(None, north, alex, "refused", T0 + DAY),
        ]
        for entry in written:
            await unit.audit.append(entry)
    async with store.reading() as unit:
        assert await unit.audit.for_cases([b.id, a.id]) == [written[0], written[1], written[3]]
        assert await unit.audit.for_cases([c.id]) == [written[2]]
        assert await unit.audit.for_cases([c.id + 100]) == []


async def _documents(store: Store, **filters: Any) -> list[dict[str, Any]]:
    async with store.reading() as unit:
        return [
            json.loads(text) async for batch in unit.exports.documents(**filters) for text in batch
        ]


@covers(ExportRepository.documents)
async def test_the_export_holds_every_field_of_every_case_oldest_first(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        lena = await unit.people.ensure("console:lena", "Lena")
        old = await unit.cases.create(new_case(north, alex, "https://tiktok.com/a", T0 - 9 * DAY))
        await unit.cases.add_link(
            old.id, north, CaseLink("https://x.com/u/status/1", "x", Platform.X), T0
        )
        await unit.cases.add_reporter(old.id, lena.id, "me too", T0)
        await unit.cases.save(
            dataclasses.replace(
                old,
                status=Status.REMOVED,
                urgent=True,
                categories=frozenset({Category.THREAT, Category.DOXXING}),
                reported_to_platform_at=T0 - 8 * DAY,
                removed_at=T0 - 5 * DAY - timedelta(hours=12),
                assignee_id=lena.id,
                updated_at=T0,
            )
        )
        new = await unit.cases.create(new_case(north, alex, None, T0))
        await unit.cases.create(new_case(south, alex, "https://tiktok.com/s", T0))
    everything = await _documents(store)
    assert [(d["school"], d["id"]) for d in everything] == [
        ("Northfield", old.number),
        ("Northfield", new.number),
        ("Southgate", 1),
    ]
    first = everything[0]
    assert tuple(first) == FIELDS
    assert {k: first[k] for k in ("status", "urgent", "platform", "url", "categories")} == {
        "status": "removed",
        "urgent": True,
        "platform": "tiktok",
        "url": "https://tiktok.com/a",
        "categories": ["doxxing", "threat"],
    }
    assert first["links"] == ["https://tiktok.com/a", "https://x.com/u/status/1"]
    assert first["reporters"] == ["Alex", "Lena"] and first["assignee"] == "Lena"
    assert first["created_at"] == "2026-11-14T09:00:00Z"
    assert first["removed_at"] == "2026-11-17T21:00:00Z"
    assert first["days_to_removal"] == 2.5  # from the platform report, to a tenth of a day
    assert first["source"] == "console" and first["closed_at"] is None
    assert len({d["deployment"] for d in everything}) == 1
    assert len({d["case_key"] for d in everything}) == 3
    assert everything[1]["url"] is None and everything[1]["days_to_removal"] is None
    assert everything[1]["urgent"] is False and everything[1]["categories"] == []

    only = await _documents(store, school_id=north, since=T0 - DAY)
    assert [d["case_key"] for d in only] == [everything[1]["case_key"]]
    again = await _documents(store)
    assert [d["case_key"] for d in again] == [d["case_key"] for d in everything]

    anonymised = await _documents(store, anonymised=True)
    first = anonymised[0]
    assert tuple(first) == FIELDS
    assert (first["url"], first["links"], first["assignee"]) == (None, None, None)
    assert first["reporters"] == 2
    assert (first["created_at"], first["removed_at"]) == ("2026-11-14", "2026-11-17")
    assert first["case_key"] == everything[0]["case_key"]


@covers(ExportRepository.documents, TableRepository.insert)
async def test_the_export_lists_categories_alphabetically_however_their_rows_were_stored(
    store: Store,
) -> None:
    """Rows come back in the order they lie on disk unless the query sorts them. Casebook writes
    a case's categories in order, so they are written out of order here, as space reused after
    a VACUUM can leave them."""
    north, alex = await school_and_person(store)
    stored = [Category.THREAT, Category.HARASSMENT, Category.DOXXING, Category.DEFAMATION]
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        await unit.tables.insert(
            CASE_CATEGORIES, ("case_id", "category"), [(case.id, c.value) for c in stored]
        )
    for anonymised in (False, True):
        [document] = await _documents(store, anonymised=anonymised)
        assert document["categories"] == [
            "doxxing",
            "false-allegation",
            "harassment",
            "threat",
        ]


@covers(ExportRepository.documents)
async def test_the_export_comes_in_batches_that_hold_every_case_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        for n in range(1001):
            await unit.cases.create(new_case(north, alex, None, T0 + timedelta(seconds=n)))
    async with store.reading() as unit:
        batches = [batch async for batch in unit.exports.documents()]
    assert all(batches)  # no empty batch
    assert [json.loads(text)["id"] for batch in batches for text in batch] == list(range(1, 1002))


@covers(EvidenceRepository.rows)
async def test_evidence_rows_hold_days_and_categories_filtered_by_school_and_days(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        removed = await unit.cases.create(new_case(north, alex, "https://a.org/1", T0 - 3 * DAY))
        await unit.cases.save(
            dataclasses.replace(
                removed,
                status=Status.CLOSED,
                categories=frozenset({Category.HARASSMENT, Category.THREAT}),
                reported_to_platform_at=T0 - 2 * DAY,
                removed_at=T0 - DAY,
                closed_at=T0,
                close_reason="resolved",
                updated_at=T0,
            )
        )
        await unit.cases.create(new_case(north, alex, "https://a.org/2", T0))
        await unit.cases.create(new_case(south, alex, "https://a.org/3", T0 + DAY))
    async with store.reading() as unit:
        every = await unit.evidence.rows()
        north_only = await unit.evidence.rows(schools=("Northfield",))
        between = await unit.evidence.rows(since=T0.date(), until=T0.date())
        nothing = await unit.evidence.rows(schools=("Nowhere",))
    assert sorted((r.school, r.created) for r in every) == [
        ("Northfield", date(2026, 11, 20)),
        ("Northfield", date(2026, 11, 23)),
        ("Southgate", date(2026, 11, 24)),
    ]
    [first] = [r for r in every if r.created == date(2026, 11, 20)]
    assert (first.platform, first.reported, first.removed, first.closed) == (
        "tiktok",
        date(2026, 11, 21),
        date(2026, 11, 22),
        date(2026, 11, 23),
    )
    assert (first.close_reason, sorted(first.categories), first.updated) == (
        "resolved",
        ["harassment", "threat"],
        "2026-11-23",
    )
    assert len({r.key for r in every}) == 3 and len({r.deployment for r in every}) == 1
    assert sorted(r.created for r in north_only) == [date(2026, 11, 20), date(2026, 11, 23)]
    assert [(r.school, r.created) for r in between] == [("Northfield", date(2026, 11, 23))]
    assert nothing == []


async def test_a_long_read_does_not_hold_up_another_process_writing(
    store: Store, another_process: Store
) -> None:
    north, alex = await school_and_person(store)
    async with store.reading() as unit:
        before = await unit.cases.listing()
        async with another_process.transaction() as writer:  # would wait if reads took the lock
            await writer.cases.create(new_case(north, alex, "https://a.org/late"))
        assert await unit.cases.listing() == before  # a snapshot: the new row is not seen
    async with store.reading() as unit:
        assert len(await unit.cases.listing()) == len(before) + 1


async def test_a_write_that_raises_is_rolled_back(store: Store) -> None:
    north, alex = await school_and_person(store)
    with pytest.raises(RuntimeError):
        async with store.transaction() as unit:
            await unit.cases.create(new_case(north, alex, None))
            raise RuntimeError("boom")
    async with store.transaction() as unit:
        assert await unit.cases.listing() == []
