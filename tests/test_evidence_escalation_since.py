"""The escalation figures count the cases the rest of the report counts: with --since, a case
made before that day is left out of them, however late it was escalated."""

from __future__ import annotations

from datetime import date

from handlers.evidence.figures import build
from storage.evidence import EvidenceRow

UNTIL = date(2026, 11, 24)
SINCE = date(2026, 10, 1)


def _row(number: int, created: date, route: str | None, escalated: date | None) -> EvidenceRow:
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


def test_escalations_of_cases_made_before_since_are_left_out_of_the_escalation_figures() -> None:
    rows = [
        *(_row(n, date(2026, 10, 5), "posh", date(2026, 10, 9)) for n in range(6)),
        *(_row(10 + n, date(2026, 9, 1), "police", date(2026, 10, 9)) for n in range(6)),
        *(_row(20 + n, date(2026, 10, 5), None, None) for n in range(10)),
    ]
    report = build(rows, UNTIL, SINCE)
    figures = {f.route: f.escalated for f in report.escalation}
    assert figures == {"posh": 6, "all": 6}
    everything = {f.route: f.escalated for f in build(rows, UNTIL).escalation}
    assert everything == {"posh": 6, "police": 6, "all": 12}
