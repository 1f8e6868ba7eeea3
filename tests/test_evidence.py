"""Evidence figures and exports on hand-built cases whose answers are known."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import itertools
import json
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.export import FIELDS, days_to_removal, documents, export_rows, to_csv
from handlers.stats import percentile, platform_stats
from storage.db import Database
from storage.models import (
    AuthorIsPupil,
    Case,
    CaseLink,
    Category,
    EscalationRoute,
    NewCase,
    Platform,
    ReportedToPlatform,
    Status,
    Target,
    Transport,
)

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
_SERIAL = itertools.count(1)  # unique links and people across the cases a test makes


async def _make(
    database: Database,
    platform: Platform,
    *,
    reported_after: float | None = None,
    removed_after: float | None = None,
    closed: str | None = None,
) -> Case:
    n = next(_SERIAL)
    async with database.transaction() as unit:
        school = await unit.schools.ensure("Northfield", "Europe/London")
        person = await unit.people.ensure(f"slack:U{n}", f"Reporter {n}")
        url = f"https://{platform.value}.com/post/{n}"
        case = await unit.cases.create(
            NewCase(
                school.id,
                platform,
                Transport("slack"),
                person.id,
                "Mr X is called a liar",
                T0,
                CaseLink(url, url, platform),
            )
        )
        reported = None if reported_after is None else T0 + timedelta(days=reported_after)
        changed = dataclasses.replace(
            case,
            status=Status.CLOSED
            if closed
            else Status.REMOVED
            if removed_after is not None
            else Status.REPORTED
            if reported
            else Status.OPEN,
            reported_to_platform=ReportedToPlatform.YES if reported else None,
            reported_to_platform_at=reported,
            removed_at=None
            if removed_after is None or reported is None
            else reported + timedelta(days=removed_after),
            close_reason=closed,
            categories=frozenset({Category.DEFAMATION}),
            targets=Target.COLLEAGUE,
        )
        await unit.cases.save(changed)
        return changed


def test_percentiles_at_the_edges() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.5) == 3.0 and percentile([3.0], 0.9) == 3.0
    assert percentile([1.0, 2.0], 0.5) == 1.5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9.1
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5


async def test_stats_medians_exclude_open_cases_and_duplicates(database: Database) -> None:
    # TikTok: removed after 1, 2, 3 and 10 days; one reported 30 days ago and still up; one open.
    for days in (1, 2, 3, 10):
        await _make(database, Platform.TIKTOK, reported_after=0, removed_after=days)
    await _make(database, Platform.TIKTOK, reported_after=5)
    await _make(database, Platform.TIKTOK)
    await _make(database, Platform.TIKTOK, reported_after=0, removed_after=100, closed="duplicate")
    # Instagram: exactly one removal. YouTube: none.
    await _make(database, Platform.INSTAGRAM, reported_after=1, removed_after=4)
    await _make(database, Platform.YOUTUBE, reported_after=2)
    async with database.transaction() as unit:
        cases = await unit.cases.listing()
    rows = {r.platform: r for r in platform_stats(cases, NOW)}
    tiktok = rows["tiktok"]
    assert (tiktok.cases, tiktok.reported, tiktok.removed) == (6, 5, 4)
    assert tiktok.median_days_to_removal == 2.5
    assert tiktok.p90_days_to_removal == 7.9
    assert tiktok.still_up_after_7_days == 1
    assert rows["instagram"].median_days_to_removal == 4.0 == rows["instagram"].p90_days_to_removal
    assert rows["youtube"].removed == 0 and rows["youtube"].median_days_to_removal is None
    assert rows["youtube"].still_up_after_7_days == 1
    assert rows["all"].cases == 8 and rows["all"].removed == 5
    assert list(rows) == ["tiktok", "instagram", "youtube", "all"]


@pytest.mark.sqlite_only
async def test_stats_command_prints_the_medians(database: Database) -> None:
    for days in (2, 4, 9):
        await _make(database, Platform.SNAPCHAT, reported_after=0, removed_after=days)
    # Another process reads the file while this connection stays open, as beside a running bot.
    out = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--db", str(database.path), "--format", "json"],
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    [snapchat, total] = json.loads(out.stdout)
    assert snapchat["platform"] == "snapchat" and snapchat["median_days_to_removal"] == 4.0
    assert total["removed"] == 3
    table = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--db", str(database.path)],
        capture_output=True,
        cwd=ROOT,
        check=True,
        text=True,
    ).stdout
    assert table.splitlines()[1].split() == ["Snapchat", "3", "3", "3", "4.0", "8.0", "0"]


async def test_anonymised_export_holds_no_url_name_or_free_text(database: Database) -> None:
    case = await _make(database, Platform.TIKTOK, reported_after=0.5, removed_after=2)
    async with database.transaction() as unit:
        sam = await unit.people.ensure("slack:USAM", "Sam Jones")
        await unit.cases.save(
            dataclasses.replace(
                case,
                assignee_id=sam.id,
                author_is_pupil=AuthorIsPupil.YES,
                escalated_to=EscalationRoute.POSH,
                escalated_at=T0 + timedelta(days=1, hours=5),
            )
        )
        await unit.notes.add(case.id, sam.id, "spoke to parent of Jo Bloggs", T0)
        [row] = await export_rows(unit, anonymised=True)
        [full] = await export_rows(unit)
    # Random, but the same in every export of this database, anonymised or not.
    assert re.fullmatch("[0-9a-f]{16}", row.deployment) and row.deployment == full.deployment
    assert re.fullmatch("[0-9a-f]{16}", row.case_key) and row.case_key == full.case_key
    expected = {
        "id": 1,
        "school": "Northfield",
        "status": "removed",
        "urgent": False,
        "platform": "tiktok",
        "url": None,
        "categories": ["false-allegation"],
        "targets": "colleague",
        "reported_to_platform": "yes",
        "reported_to_platform_at": "2026-10-01",
        "removed_at": "2026-10-03",
        "days_to_removal": 2.0,
        "reporters": 1,
        "source": "slack",
        "assignee": None,
        "created_at": "2026-10-01",
        "updated_at": "2026-10-01",
        "closed_at": None,
        "close_reason": None,
        "deployment": row.deployment,
        "case_key": row.case_key,
        "links": None,
        "author_is_pupil": "yes",  # the last question's answer names no one
        "escalated_to": "posh",
        "escalated_at": "2026-10-02",  # the day only, as every anonymised time
    }
    assert dataclasses.asdict(row) == expected
    assert list(FIELDS)[-2:] == ["escalated_to", "escalated_at"]  # earlier columns keep places
    assert full.author_is_pupil == "yes"
    assert (full.escalated_to, full.escalated_at) == ("posh", "2026-10-02T14:00:00Z")
    assert set(expected) == set(FIELDS)
    flat = json.dumps(dataclasses.asdict(row)) + to_csv([row])
    for secret in (
        "https://",
        "tiktok.com/post",
        "Reporter",
        "Sam",
        "Jones",
        "liar",
        "Bloggs",
        "USAM",
        "U1",
    ):
        assert secret not in flat
    assert full.url is not None and full.url.startswith("https://tiktok.com/post/")
    assert full.assignee == "Sam Jones"
    assert full.reported_to_platform_at == "2026-10-01T21:00:00Z"


async def test_csv_cells_cannot_run_as_spreadsheet_formulas(database: Database) -> None:
    async with database.transaction() as unit:
        school = await unit.schools.ensure('=HYPERLINK("http://evil")', "Europe/London")
        person = await unit.people.ensure("console:+44", "@SUM(A1)")
        await unit.cases.create(
            NewCase(school.id, Platform.OTHER, Transport("console"), person.id, "x", T0)
        )
        rows = await export_rows(unit)
    csv_text = to_csv(rows)
    assert "'=HYPERLINK" in csv_text and "'@SUM(A1)" in csv_text


async def test_the_export_and_the_figures_round_days_to_removal_alike(database: Database) -> None:
    """SQLite computes the export's days, Python the figures': both must round half up."""
    # Seconds from the platform report to removal: exact halves, either side of them, and a
    # removal stamped before the report (counted as no time at all).
    offsets = [0, 1, 4319, 4320, 4321, 12960, 43199, 43200, 194400, 609120, 2_592_000, -600]
    cases = []
    for seconds in offsets:
        case = await _make(database, Platform.TIKTOK, reported_after=0.25)
        assert case.reported_to_platform_at is not None
        removed = dataclasses.replace(
            case,
            status=Status.REMOVED,
            removed_at=case.reported_to_platform_at + timedelta(seconds=seconds),
        )
        async with database.transaction() as unit:
            await unit.cases.save(removed)
        cases.append(removed)
    async with database.reading() as unit:
        rows = await export_rows(unit)
    exported = [row.days_to_removal for row in rows]
    expected = [
        float((Decimal(max(s, 0)) / 86400).quantize(Decimal("0.1"), ROUND_HALF_UP)) for s in offsets
    ]
    assert exported == expected
    assert [days_to_removal(case) for case in cases] == expected
    assert expected[3] == 0.1 and expected[7] == 0.5 and expected[-1] == 0.0


async def test_sqlite_builds_every_export_field_in_order(database: Database) -> None:
    await _make(database, Platform.SNAPCHAT, reported_after=1, removed_after=2)
    async with database.reading() as unit:
        for anonymised in (False, True):
            batches = [b async for b in documents(unit, anonymised=anonymised)]
            [[document]] = batches
            assert list(json.loads(document)) == list(FIELDS)
        assert [b async for b in documents(unit, school="No Such School")] == []


_STORED_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)), max_size=200
)  # anything UTF-8 can hold: control characters, quotes, backslashes, emoji, right-to-left


@pytest.mark.slow
@settings(max_examples=50, deadline=None)
@given(name=_STORED_TEXT, reason=_STORED_TEXT, school=_STORED_TEXT.filter(str.strip))
def test_the_json_sqlite_builds_reads_back_as_the_text_stored(
    name: str, reason: str, school: str
) -> None:
    """Names, school names and close reasons come from people: SQLite's JSON must escape them
    as Python's would, or the export is not valid JSON (or says something else)."""

    async def scenario(path: Path) -> tuple[dict[str, object], str]:
        database = await Database.open(path)
        try:
            async with database.transaction() as unit:
                place = await unit.schools.ensure(school, "Europe/London")
                person = await unit.people.ensure("slack:UHOSTILE", name)
                case = await unit.cases.create(
                    NewCase(place.id, Platform.OTHER, Transport("slack"), person.id, "x", T0)
                )
                await unit.cases.save(
                    dataclasses.replace(
                        case, status=Status.CLOSED, close_reason=reason, assignee_id=person.id
                    )
                )
            async with database.reading() as unit:
                [[document]] = [batch async for batch in documents(unit)]
                csv_text = to_csv(await export_rows(unit))
            return json.loads(document), csv_text
        finally:
            await database.close()

    with tempfile.TemporaryDirectory() as folder:
        row, csv_text = asyncio.run(scenario(Path(folder) / "e.db"))
    shown = name if name != "" else "slack:UHOSTILE"
    assert (row["school"], row["close_reason"]) == (school, reason)
    assert row["reporters"] == [shown] and row["assignee"] == shown
    [header, record] = list(csv.reader(io.StringIO(csv_text)))
    assert header == list(FIELDS) and len(record) == len(FIELDS)
