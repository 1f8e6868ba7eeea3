"""The report as JSON (for tools) and CSV (for spreadsheets): the schema is in README.md.

JSON keeps to the documented keys; CSV holds the same figures and the weekly and category tables
as one long table (table, platform, measure, value), which every spreadsheet can pivot.
A count below the threshold is the text "<5"; one withheld only to protect another is "withheld";
an estimate that cannot be made is null (JSON) or empty.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from handlers.evidence import escalation
from handlers.evidence.figures import OTHERS, STILL_UP_DAYS, PlatformFigures, Report, StillUp


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _still_up(value: StillUp | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"share": _share(value.share), "ci": [_share(value.low), _share(value.high)]}


def platform_dict(figures: PlatformFigures, grouped: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "platform": figures.platform,
        "cases": figures.cases,
        "reported": figures.reported,
        "removed": figures.removed,
        "km_median_days": figures.km_median_days,
        "km_median_ci": list(figures.km_median_ci) if figures.km_median_ci else None,
        "km_p90_days": figures.km_p90_days,
        "still_up_after_days": {
            str(days): _still_up(value) for days, value in figures.still_up_after_days.items()
        },
        "naive_median_days": figures.naive_median_days,
    }
    if figures.platform == OTHERS:
        document["members"] = grouped
    return document


def to_json(report: Report) -> str:
    document = {
        "period": {"from": report.since.isoformat(), "until": report.until.isoformat()},
        "deployments": report.deployments,
        "schools": report.schools,
        "cases": report.cases,
        "platforms": [platform_dict(p, report.grouped) for p in report.platforms],
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
            *_still_up_rows(figures),
            ("naive_median_days", figures.naive_median_days),
        ]
        for measure, value in rows:
            writer.writerow(("platforms", figures.platform, measure, _cell(value)))
        if figures.platform == OTHERS:
            for member in report.grouped:
                writer.writerow(("platforms", OTHERS, "member", member))
    for platform, counts in report.weekly.items():
        for week, count in zip(report.weeks, counts, strict=True):
            writer.writerow(("weekly", platform, week, count))
    for platform, mix in report.category_mix.items():
        for category, count in mix.items():
            writer.writerow(("categories", platform, category, count))
    writer.writerows(escalation.csv_rows(report.escalation))
    return out.getvalue()


def _still_up_rows(figures: PlatformFigures) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for days in STILL_UP_DAYS:
        value = figures.still_up_after_days[days]
        name = f"still_up_after_{days}_days"
        rows += [
            (name, None if value is None else _share(value.share)),
            (f"{name}_ci_low", None if value is None else _share(value.low)),
            (f"{name}_ci_high", None if value is None else _share(value.high)),
        ]
    return rows


def _cell(value: object) -> object:
    return "" if value is None else value
