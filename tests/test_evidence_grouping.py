"""A platform with at least the threshold of cases has a row of its own; only those with fewer
are grouped as "other platforms"."""

from __future__ import annotations

from datetime import date

from handlers.evidence.figures import ALL, OTHERS, build
from storage.evidence import EvidenceRow

UNTIL = date(2026, 11, 24)


def _row(number: int, platform: str) -> EvidenceRow:
    created = date(2026, 10, 5)
    return EvidenceRow(
        "d1",
        f"k{number}",
        "Northfield",
        platform,
        created,
        created,
        None,
        None,
        None,
        ("harassment",),
        created.isoformat(),
    )


def test_a_platform_with_exactly_the_threshold_of_cases_keeps_its_own_row() -> None:
    rows = [
        *(_row(n, "x") for n in range(5)),
        *(_row(10 + n, "tiktok") for n in range(2)),
        *(_row(20 + n, "youtube") for n in range(3)),
    ]
    report = build(rows, UNTIL, threshold=5)
    assert [p.platform for p in report.platforms] == ["x", OTHERS, ALL]
    assert report.grouped == ["tiktok", "youtube"]
    by_name = {p.platform: p.cases for p in report.platforms}
    assert by_name["x"] == 5 and by_name[OTHERS] == 5 and by_name[ALL] == 10
