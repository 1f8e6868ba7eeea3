"""Time to removal after escalation: Kaplan-Meier from the escalation day, against SciPy, from the
database and from its anonymised export alike, with small counts hidden and none worked out."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import date, timedelta
from html import escape
from pathlib import Path

import pytest
from scipy.stats import CensoredData, ecdf

from handlers import messages
from handlers.evidence.escalation import WITHHELD, escalation_figures
from handlers.evidence.figures import build
from handlers.evidence.html import render
from storage.evidence import EvidenceRow
from tests.test_association_report import (
    UNTIL,
    evidence,
    export,
    make_db,
    random_cases,
)

pytestmark = pytest.mark.filterwarnings("ignore:The confidence interval is undefined")

ROUTES = ("posh", "report-harmful-content", "police")


def _escalate_some(db_path: Path, chance: random.Random) -> None:
    """Escalate about half the reported cases, a few days after the report and before any
    removal or closing, as Casebook lets leads do; a removal or closing may come after."""
    db = sqlite3.connect(db_path)
    rows = db.execute(
        "SELECT id, substr(reported_to_platform_at, 1, 10), substr(removed_at, 1, 10),"
        " substr(closed_at, 1, 10) FROM cases WHERE reported_to_platform_at IS NOT NULL"
    ).fetchall()
    for case_id, reported, removed, closed in rows:
        if chance.random() < 0.5:
            continue
        at = date.fromisoformat(reported) + timedelta(days=chance.randint(0, 6))
        if any(end is not None and date.fromisoformat(end) < at for end in (removed, closed)):
            continue
        db.execute(
            "UPDATE cases SET escalated_to = ?, escalated_at = ? WHERE id = ?",
            (chance.choice(ROUTES), f"{at.isoformat()}T11:00:00Z", case_id),
        )
    db.commit()
    db.close()


def _expected(db_path: Path, route: str | None) -> tuple[list[int], list[int], list[int]]:
    """The rule written out again: (removal days, censoring days) from escalation, and the
    days from report to escalation, for counted cases escalated (by this route) by UNTIL."""
    db = sqlite3.connect(db_path)
    rows = db.execute(
        "SELECT escalated_to, substr(escalated_at, 1, 10), substr(removed_at, 1, 10),"
        " substr(closed_at, 1, 10), close_reason, substr(reported_to_platform_at, 1, 10)"
        " FROM cases WHERE escalated_at IS NOT NULL"
    ).fetchall()
    db.close()
    removed_days, censored_days, waits = [], [], []
    for to, at, removed, closed, reason, reported in rows:
        if reason in ("duplicate", "not-abuse", "withdrawn") or (route and to != route):
            continue
        start = date.fromisoformat(at)
        if start > UNTIL:
            continue
        waits.append((start - date.fromisoformat(reported)).days)
        if removed is not None and date.fromisoformat(removed) <= UNTIL:
            removed_days.append((date.fromisoformat(removed) - start).days)
        else:
            end = UNTIL if closed is None else min(date.fromisoformat(closed), UNTIL)
            censored_days.append((end - start).days)
    return removed_days, censored_days, waits


def test_time_to_removal_after_escalation_matches_scipy_from_the_database_and_the_export(
    tmp_path: Path,
) -> None:
    chance = random.Random(23)
    make_db(tmp_path / "a.db", random_cases(chance, ["Northfield", "Eastfield"], 400))
    _escalate_some(tmp_path / "a.db", chance)
    exported = export(tmp_path / "a.db", tmp_path / "a.json")
    assert any(r["escalated_to"] for r in json.loads(exported.read_text()))
    common = ["--until", UNTIL.isoformat(), "--format", "json"]
    from_db, from_file = tmp_path / "db.json", tmp_path / "file.json"
    assert evidence("--db", str(tmp_path / "a.db"), *common, "--out", str(from_db)) == 0
    assert evidence("--from", str(exported), *common, "--out", str(from_file)) == 0
    report = json.loads(from_db.read_text())
    assert report == json.loads(from_file.read_text())

    by_route = {e["route"]: e for e in report["escalation"]}
    assert set(by_route) == {*ROUTES, "all"}
    for route, figures in by_route.items():
        removed, censored, waits = _expected(tmp_path / "a.db", None if route == "all" else route)
        assert figures["escalated"] == len(removed) + len(censored) >= 5
        sf = ecdf(CensoredData(uncensored=removed, right=censored)).sf
        longest = max(removed + censored)
        for days, share in figures["still_up_after_days"].items():
            expected = None if int(days) > longest else float(sf.evaluate(int(days)))
            assert share == (None if expected is None else pytest.approx(expected, abs=1e-4))
        median = next((d for d in sorted(set(removed)) if sf.evaluate(d) <= 0.5 + 1e-12), None)
        assert figures["km_median_days"] == median
        ordered = sorted(waits)
        middle = len(ordered) // 2
        wait = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        assert figures["days_before_median"] == wait


def _row(
    number: int, route: str | None, escalated: date | None, created: date = date(2026, 10, 1)
) -> EvidenceRow:
    return EvidenceRow(
        "d1",
        f"k{number}",
        "Northfield",
        "x",
        created,
        created,
        None,
        None,
        None,
        ("harassment",),
        created.isoformat(),
        route,
        escalated,
    )


def test_a_small_route_is_hidden_and_the_one_that_would_reveal_it_is_withheld_not_small() -> None:
    rows = [
        *(_row(n, "posh", date(2026, 10, 9)) for n in range(3)),
        *(_row(10 + n, "report-harmful-content", date(2026, 10, 9)) for n in range(7)),
        *(_row(20 + n, "police", date(2026, 10, 9)) for n in range(6)),
        *(_row(30 + n, None, None) for n in range(20)),
    ]
    figures = {f.route: f for f in escalation_figures(rows, UNTIL, None, 5)}
    assert figures["posh"].escalated == "<5"
    assert figures["police"].escalated == WITHHELD  # 6: hidden only to protect posh's 3
    assert figures["report-harmful-content"].escalated == 7
    assert figures["all"].escalated == 16
    assert figures["posh"].km_median_days is None and figures["posh"].curve is None
    assert figures["police"].still_up_after_days[7] is None
    assert figures["all"].still_up_after_days[7] == 1.0  # none removed, followed 46 days

    report = build(rows, UNTIL)
    page = render(report, UNTIL)
    assert messages.EVIDENCE_ESCALATION in page
    assert f"{messages.EVIDENCE_WITHHELD}*" in page and messages.EVIDENCE_WITHHELD_NOTE[2:] in page
    table = list(csv.reader(io.StringIO(_csv(report))))
    cells = {(r[1], r[2]): r[3] for r in table if r[0] == "escalation"}
    assert cells["posh", "escalated"] == "<5" and cells["police", "escalated"] == "withheld"


def _csv(report: object) -> str:
    from handlers.evidence.tables import to_csv

    return to_csv(report)  # type: ignore[arg-type]


def test_a_report_with_no_escalation_says_how_to_record_one() -> None:
    report = build([_row(n, None, None) for n in range(8)], UNTIL)
    assert report.escalation == []
    assert messages.EVIDENCE_NO_ESCALATIONS in render(report, UNTIL)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"escalated_to": "ofcom", "escalated_at": "2026-10-05"}, "'escalated_to' must be"),
        ({"escalated_to": ["posh"], "escalated_at": "2026-10-05"}, "'escalated_to' must be"),
        ({"escalated_to": "posh", "escalated_at": None}, "'escalated_to' must be"),
        (
            {"escalated_to": "posh", "escalated_at": "2026-10-09", "removed_at": "2026-10-06"},
            "'removed_at' (2026-10-06) is before 'escalated_at' (2026-10-09)",
        ),
    ],
)
def test_an_escalation_that_cannot_be_right_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict[str, object], words: str
) -> None:
    record = {
        "id": 4,
        "school": "N",
        "platform": "x",
        "created_at": "2026-10-01",
        "reported_to_platform_at": "2026-10-02",
        "categories": [],
        "deployment": "d1",
        "case_key": "k1",
        **fields,
    }
    path = tmp_path / "e.json"
    path.write_text(json.dumps([record]))
    assert evidence("--from", str(path), "--out", str(tmp_path / "r.html")) == 2
    assert f"{path}: record 1 (case 4): {words}" in capsys.readouterr().err


def test_the_comparison_never_calls_a_withheld_median_too_few_removed() -> None:
    """All platforms' estimates are withheld with their reported count: the comparison under the
    escalation table must say so, not that fewer than half were removed."""
    reported, removed = date(2026, 10, 2), date(2026, 10, 4)
    rows = [
        *(
            EvidenceRow(
                "d1", f"x{n}", "Northfield", "x", reported, reported, removed, removed,
                "resolved", ("harassment",), "2026-10-04", "posh" if n < 6 else None,
                reported if n < 6 else None,
            )
            for n in range(30)
        ),
        *(
            EvidenceRow(
                "d1", f"s{n}", "Northfield", "snapchat", reported, reported, None, None, None,
                ("harassment",), "2026-10-02",
            )
            for n in range(3)
        ),
    ]  # fmt: skip
    report = build(rows, UNTIL)
    everything = next(p for p in report.platforms if p.platform == "all")
    assert not isinstance(everything.reported, int)  # hidden to protect Snapchat's 3
    page = render(report, UNTIL)
    assert "fewer than half of all reported posts" not in page
    assert escape(messages.evidence_escalation_compare(None, None, published=False)) in page


def test_escalations_of_cases_made_before_since_are_left_out_of_the_escalation_figures() -> None:
    """The escalation figures count the cases the rest of the report counts: with --since, a
    case made before that day is left out of them, however late it was escalated."""
    rows = [
        *(_row(n, "posh", date(2026, 10, 9), date(2026, 10, 5)) for n in range(6)),
        *(_row(10 + n, "police", date(2026, 10, 9), date(2026, 9, 1)) for n in range(6)),
        *(_row(20 + n, None, None, date(2026, 10, 5)) for n in range(10)),
    ]
    report = build(rows, UNTIL, date(2026, 10, 1))
    figures = {f.route: f.escalated for f in report.escalation}
    assert figures == {"posh": 6, "all": 6}
    everything = {f.route: f.escalated for f in build(rows, UNTIL).escalation}
    assert everything == {"posh": 6, "police": 6, "all": 12}
