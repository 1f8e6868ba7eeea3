"""The report as JSON (for tools) and CSV (for spreadsheets): the schema is in README.md.

JSON keeps to the documented keys; CSV holds the same figures and the weekly and category tables
as one long table (table, platform, measure, value), which every spreadsheet can pivot.
A suppressed count is the text "<5"; an estimate that cannot be made is null (JSON) or empty.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from handlers.evidence import escalation
from handlers.evidence.figures import STILL_UP_DAYS, PlatformFigures, Report


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def platform_dict(figures: PlatformFigures) -> dict[str, Any]:
    return {
        "platform": figures.platform,
        "cases": figures.cases,
        "reported": figures.reported,
        "removed": figures.removed,
        "km_median_days": figures.km_median_days,
        "km_median_ci": list(figures.km_median_ci) if figures.km_median_ci else None,
        "km_p90_days": figures.km_p90_days,
        "still_up_after_days": {
            str(days): _share(share) for days, share in figures.still_up_after_days.items()
        },
        "naive_median_days": figures.naive_median_days,
    }


def to_json(report: Report) -> str:
    document = {
        "period": {"from": report.since.isoformat(), "until": report.until.isoformat()},
        "deployments": report.deployments,
        "schools": report.schools,
        "cases": report.cases,
        "platforms": [platform_dict(p) for p in report.platforms],
        "escalation": [escalation.as_dict(e) for e in report.escalation],
    }
    return json.dumps(document, indent=2) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("table", "platform", "measure", "value"))
    summary = (
        ("from", report.since.isoformat()),
        ("until", report.until.isoformat()),
        ("deployments", report.deployments),
        ("schools", report.schools),
        ("cases", report.cases),
    )
    for measure, shown in summary:
        writer.writerow(("summary", "all", measure, shown))
    for figures in report.platforms:
        low, high = figures.km_median_ci or (None, None)
        p90_low, p90_high = figures.km_p90_ci or (None, None)
        rows: list[tuple[str, object]] = [
            ("cases", figures.cases),
            ("schools", figures.schools),
            ("reported", figures.reported),
            ("removed", figures.removed),
            ("share_reported", _share(figures.share_reported)),
            ("share_removed", _share(figures.share_removed)),
            ("km_median_days", figures.km_median_days),
            ("km_median_ci_low", low),
            ("km_median_ci_high", high),
            ("km_p90_days", figures.km_p90_days),
            ("km_p90_ci_low", p90_low),
            ("km_p90_ci_high", p90_high),
            *(
                (f"still_up_after_{days}_days", _share(figures.still_up_after_days[days]))
                for days in STILL_UP_DAYS
            ),
            ("naive_median_days", figures.naive_median_days),
        ]
        for measure, value in rows:
            writer.writerow(("platforms", figures.platform, measure, _cell(value)))
    for platform, counts in report.weekly.items():
        for week, count in zip(report.weeks, counts, strict=True):
            writer.writerow(("weekly", platform, week, count))
    for platform, mix in report.category_mix.items():
        for category, count in mix.items():
            writer.writerow(("categories", platform, category, count))
    writer.writerows(escalation.csv_rows(report.escalation))
    return out.getvalue()


def _cell(value: object) -> object:
    return "" if value is None else value
