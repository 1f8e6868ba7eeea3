"""The report as one self-contained web page: inline CSS and SVG, no script, nothing fetched.

A Content-Security-Policy in the page forbids loading anything, so a mistake shows up as a blocked
request in a browser's console (the Chromium test looks for exactly that). The layout is one
column that narrows to a phone and prints on A4; charts are SVG with a viewBox, so they scale.
"""

from __future__ import annotations

import math
from datetime import date
from html import escape

from handlers import messages
from handlers.evidence import escalation_html
from handlers.evidence.figures import (
    ALL,
    OTHERS,
    STILL_UP_DAYS,
    WITHHELD,
    Count,
    PlatformFigures,
    Report,
    StillUp,
)
from handlers.evidence.marks import ReferencePoint, Target, reference_points
from storage.models import Category, Platform

MARK_DAYS = (1, 2, 3)  # the marks set beside the reference points

_COLOURS = {
    "tiktok": "#1b9e77",
    "instagram": "#d95f02",
    "facebook": "#7570b3",
    "snapchat": "#b8a000",
    "x": "#333333",
    "youtube": "#e7298a",
    "threads": "#66a61e",
    "other": "#a6761d",
    "unknown": "#999999",
    OTHERS: "#7f7f7f",
    ALL: "#000000",
}
_GREY = "#c8c8c8"

_CSS = """
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;
margin:0 auto;max-width:60rem;padding:1rem}
h1{font-size:1.6rem;line-height:1.2;margin:.5rem 0}
h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #ddd}
.period{color:#555;margin:0}
.headline{font-size:1.15rem;background:#f4f4f0;border-left:4px solid #1b9e77;padding:.6rem .9rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #e2e2e2;padding:.3rem .4rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{font-weight:600;background:#fafafa}
tr.all td{font-weight:600;border-top:2px solid #999}
figure{margin:.8rem 0}
figcaption,.note{color:#555;font-size:.85rem}
svg{width:100%;height:auto;display:block}
svg text{font:11px system-ui,Arial,sans-serif;fill:#333}
.key{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;margin:.3rem 0}
.key span::before{content:"";display:inline-block;width:.8em;height:.8em;margin-right:.3em;
background:var(--c);vertical-align:-.05em}
footer{margin-top:2rem;color:#666;font-size:.8rem}
@page{size:A4;margin:14mm}
@media print{body{font-size:10pt;max-width:none;padding:0}.headline{background:none}
figure,table,tr{break-inside:avoid}h2{break-after:avoid}.scroll{overflow:visible}}
@media (max-width:40rem){body{font-size:15px;padding:.6rem}table{font-size:.75rem}}
"""


def platform_name(name: str) -> str:
    if name == ALL:
        return messages.EVIDENCE_ALL
    if name == OTHERS:
        return messages.EVIDENCE_OTHERS
    return messages.PLATFORM_NAMES[Platform(name)]


def _count(value: Count, threshold: int) -> str:
    """A count as the page shows it; a withheld one carries the footnote's mark."""
    if value == WITHHELD:
        return f"{messages.EVIDENCE_WITHHELD}<sup>*</sup>"
    return messages.evidence_fewer_than(threshold) if isinstance(value, str) else f"{value:,}"


def _plain_count(value: Count, threshold: int) -> str:
    """A count in running text (escaped by the caller)."""
    if value == WITHHELD:
        return messages.EVIDENCE_WITHHELD
    return messages.evidence_fewer_than(threshold) if isinstance(value, str) else f"{value:,}"


def _pct(value: float | None) -> str:
    return "&#8211;" if value is None else f"{value * 100:.0f} %"


def _still_up(value: StillUp | None) -> str:
    if value is None:
        return "&#8211;"
    return (
        f"{value.share * 100:.0f} %<br><small>({value.low * 100:.0f}&#8211;"
        f"{value.high * 100:.0f})</small>"
    )


def _days_ci(days: int | None, ci: tuple[int, int] | None) -> str:
    if days is None:
        return "&#8211;"
    return f"{days}" + (f" ({ci[0]}&#8211;{ci[1]})" if ci else "")


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def headline(report: Report) -> str:
    start = f"{report.since.day} {report.since:%B}"
    if report.since.year != report.until.year:
        start += f" {report.since.year}"
    text = messages.evidence_headline(
        start,
        _long_date(report.until),
        _plain_count(report.schools, report.threshold),
        _plain_count(report.cases, report.threshold),
        report.school_name,
        one_day=report.since == report.until,
        one_case=report.cases == 1,
    )
    named = {p.value for p in Platform} - {Platform.OTHER.value, Platform.UNKNOWN.value}
    estimated = [p for p in report.platforms if p.platform in named and p.curve is not None]
    estimated.sort(key=lambda p: -(p.reported if isinstance(p.reported, int) else 0))
    for figures in estimated[:2]:
        after_30 = figures.still_up_after_days[30]
        text += " " + messages.evidence_platform_line(
            platform_name(figures.platform),
            figures.km_median_days,
            None if after_30 is None else after_30.share,
        )
    return text


def render(report: Report, made_on: date, targets: tuple[Target, ...] = ()) -> str:
    title = messages.EVIDENCE_TITLE
    if report.school_name is not None:
        title += f": {report.school_name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="period">{_long_date(report.since)} &#8211; {_long_date(report.until)}</p>',
        f'<p class="headline">{escape(headline(report))}</p>',
    ]
    if not isinstance(report.cases, int) or report.cases > 0:
        parts += [
            f"<h2>{messages.EVIDENCE_FIGURES}</h2>",
            _figures_table(report),
            f"<h2>{messages.EVIDENCE_STILL_UP}</h2>",
            _survival_chart(report),
            f"<h2>{messages.EVIDENCE_MARKS}</h2>",
            _time_marks(report, reference_points(), targets),
            f"<h2>{messages.EVIDENCE_WEEKLY}</h2>",
            _weekly_chart(report),
            f"<h2>{messages.EVIDENCE_CATEGORIES}</h2>",
            _category_chart(report),
            _category_table(report),
            *escalation_html.section(report),
        ]
    else:
        parts.append(f"<p>{messages.EVIDENCE_NO_CASES}</p>")
    parts.append(f"<h2>{messages.EVIDENCE_METHODS}</h2>")
    methods = messages.evidence_methods(report.threshold, report.school_name)
    parts += [f"<p>{escape(p)}</p>" for p in methods]
    footer = messages.EVIDENCE_FOOTER.format(
        day=_long_date(made_on), n=report.threshold, below=report.threshold - 1
    )
    parts.append(f"<footer>{escape(footer)}</footer></body></html>\n")
    return "\n".join(parts)


def _figures_table(report: Report) -> str:
    # A school's own page is about one school: a column of ones (or "fewer than 5") says nothing.
    one_school = report.school_name is not None
    columns = [c for n, c in enumerate(messages.EVIDENCE_COLUMNS) if not (one_school and n == 2)]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for p in report.platforms:
        cells = [
            escape(platform_name(p.platform)),
            _count(p.cases, report.threshold),
            *([] if one_school else [_count(p.schools, report.threshold)]),
            _with_share(p.reported, p.share_reported, report.threshold),
            _with_share(p.removed, p.share_removed, report.threshold),
            _days_ci(p.km_median_days, p.km_median_ci),
            _days_ci(p.km_p90_days, p.km_p90_ci),
            *(_still_up(p.still_up_after_days[d]) for d in STILL_UP_DAYS),
            "&#8211;" if p.naive_median_days is None else f"{p.naive_median_days:g}",
        ]
        css = ' class="all"' if p.platform == ALL else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
        + _footnotes(report)
    )


def _footnotes(report: Report) -> str:
    """The withheld mark's footnote, and which platforms "other platforms" holds."""
    notes = []
    if report.grouped:
        members = ", ".join(platform_name(name) for name in report.grouped)
        notes.append(messages.evidence_others_note(members, report.threshold))
    if any(
        p.cases == WITHHELD or p.reported == WITHHELD or p.removed == WITHHELD
        for p in report.platforms
    ) or WITHHELD in (report.schools, report.cases):
        notes.append("* " + messages.evidence_withheld_note(report.threshold))
    return "".join(f'<p class="note">{escape(note)}</p>' for note in notes)


def _with_share(count: Count, share: float | None, threshold: int) -> str:
    text = _count(count, threshold)
    return text if share is None else f"{text} ({_pct(share)})"


def _key(names: list[str]) -> str:
    return (
        '<div class="key">'
        + "".join(
            f'<span style="--c:{_COLOURS.get(n, "#000")}">{escape(platform_name(n))}</span>'
            for n in names
        )
        + "</div>"
    )


def _survival_chart(report: Report) -> str:
    drawn: list[PlatformFigures] = [p for p in report.platforms if p.curve is not None]
    note = messages.EVIDENCE_STILL_UP_NOTE.format(n=report.threshold)
    if not drawn:
        return f'<p class="note">{escape(note)}</p>'
    longest = max(p.curve.longest for p in drawn if p.curve is not None)
    span = max(35, min(longest, 120))
    width, height, left, bottom, top, right = 640, 300, 40, 30, 10, 10
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: float) -> float:
        return left + plot_w * min(day, span) / span

    def y(share: float) -> float:
        return top + plot_h * (1 - share)

    grid = []
    for share in (0, 0.25, 0.5, 0.75, 1):
        grid.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(share):.1f}" y2="{y(share):.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 4}" y="{y(share) + 4:.1f}" '
            f'text-anchor="end">{share * 100:.0f}%</text>'
        )
    for day in STILL_UP_DAYS:
        grid.append(
            f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top}" y2="{top + plot_h}" '
            f'stroke="#999" stroke-dasharray="2 3"/>'
            f'<text x="{x(day):.1f}" y="{height - 14}" text-anchor="middle">{day}</text>'
        )
    grid.append(
        f'<text x="{width - right}" y="{height - 2}" text-anchor="end">'
        f"{escape(messages.evidence_days(span))}</text>"
    )
    lines = []
    for p in drawn:
        assert p.curve is not None
        points = [(0.0, 1.0)]
        for step in p.curve.steps:
            if step.day > span:
                break
            points.append((step.day, points[-1][1]))
            points.append((step.day, step.survival))
        points.append((min(p.curve.longest, span), points[-1][1]))
        path = " ".join(f"{x(d):.1f},{y(s):.1f}" for d, s in points)
        width_px = 3 if p.platform == ALL else 2
        dash = ' stroke-dasharray="6 3"' if p.platform == ALL else ""
        lines.append(
            f'<polyline fill="none" stroke="{_COLOURS.get(p.platform, "#000")}" '
            f'stroke-width="{width_px}"{dash} points="{path}"/>'
        )
    svg = (
        f'<svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(messages.EVIDENCE_STILL_UP)}">'
        + "".join(grid)
        + "".join(lines)
        + "</svg>"
    )
    return (
        f"<figure>{svg}{_key([p.platform for p in drawn])}"
        f"<figcaption>{escape(note)}</figcaption></figure>"
    )


def _removed_within(p: PlatformFigures, days: int) -> tuple[float, float, float] | None:
    """The share removed within `days` (1 - S), with its 95 % interval."""
    if p.curve is None:
        return None
    share, band = p.curve.survival(days), p.curve.survival_ci(days)
    if share is None or band is None:
        return None
    return 1 - share, 1 - band[1], 1 - band[0]


def _within(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return "&#8211;"
    share, low, high = value
    return f"{share * 100:.0f} %<br><small>({low * 100:.0f}&#8211;{high * 100:.0f})</small>"


def _time_marks(report: Report, points: list[ReferencePoint], targets: tuple[Target, ...]) -> str:
    """The share each platform removed within 1, 2 and 3 days, beside the public figures and
    the association's own targets."""
    drawn = [p for p in report.platforms if p.curve is not None]
    parts = []
    if drawn:
        head = f"<th>{messages.EVIDENCE_COLUMNS[0]}</th>" + "".join(
            f"<th>{escape(messages.evidence_removed_within(d))}</th>" for d in MARK_DAYS
        )
        rows = "".join(
            ('<tr class="all">' if p.platform == ALL else "<tr>")
            + f"<td>{escape(platform_name(p.platform))}</td>"
            + "".join(f"<td>{_within(_removed_within(p, d))}</td>" for d in MARK_DAYS)
            + "</tr>"
            for p in drawn
        )
        parts.append(
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
            "</tbody></table></div>"
        )
    else:
        note = messages.EVIDENCE_STILL_UP_NOTE.format(n=report.threshold)
        parts.append(f'<p class="note">{escape(note)}</p>')
    items = [
        messages.evidence_reference_point(
            point.source, point.measure, round(point.share * 100), point.period, point.days
        )
        for point in points
    ]
    by_name = {p.platform: p for p in report.platforms}
    for target in dict.fromkeys(targets):  # a target given twice is one line
        figures = by_name.get(target.platform)
        estimate = None if figures is None else _removed_within(figures, target.days)
        met = None if estimate is None else estimate[0] >= target.share
        percent = round(target.share * 100)
        items.append(
            messages.evidence_target(
                platform_name(target.platform),
                target.days,
                percent,
                None if estimate is None else _agreeing_percent(estimate[0], percent, bool(met)),
                None if estimate is None else (round(estimate[1] * 100), round(estimate[2] * 100)),
                met,
            )
        )
    parts.append(f'<p class="note">{escape(messages.EVIDENCE_MARKS_NOTE)}</p>')
    parts.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")
    return "".join(parts)


def _agreeing_percent(share: float, target_percent: int, met: bool) -> str:
    """`share` as a whole percentage, or with one decimal where the whole one would contradict
    the verdict beside it: 0.5986 is "59.9", not "60", when a 60 % target is not met."""
    whole = round(share * 100)
    if (whole >= target_percent) == met:
        return str(whole)
    tenths = round(share * 100, 1)
    if (tenths >= target_percent) != met:  # 59.96 would round to 60.0: cut it to 59.9
        tenths = (math.ceil if met else math.floor)(share * 1000) / 10
    return f"{tenths:.1f}"


def _weekly_chart(report: Report) -> str:
    names = list(report.weekly)
    weeks = report.weeks
    row_h, gap, left, top = 46, 8, 96, 4
    width = 640
    plot_w = width - left - 8
    bar = plot_w / max(len(weeks), 1)
    height = top + len(names) * (row_h + gap) + 14
    out = []
    for row, name in enumerate(names):
        base = top + row * (row_h + gap) + row_h
        colour = _COLOURS.get(name, "#000")
        # Each row has its own scale (the total would flatten the platforms), labelled.
        counts = report.weekly[name]
        hidden = sum(1 for c in counts if isinstance(c, str))
        peak = max((c for c in counts if isinstance(c, int)), default=0) or 1
        if hidden * 2 > len(counts):
            # Mostly grey bars say nothing: the row gives its count for the whole period.
            total = next(p.cases for p in report.platforms if p.platform == name)
            whole = messages.evidence_weekly_whole_period(_plain_count(total, report.threshold))
            out.append(
                f'<text x="{left - 6}" y="{base - row_h / 2 + 4:.1f}" text-anchor="end">'
                f"{escape(platform_name(name))}</text>"
                f'<text x="{left + 4}" y="{base - row_h / 2 + 4:.1f}" fill="#555">'
                f"{escape(whole)}</text>"
                f'<line x1="{left}" x2="{width - 8}" y1="{base}" y2="{base}" stroke="#ddd"/>'
            )
            continue
        out.append(
            f'<text x="{left - 6}" y="{base - row_h / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(platform_name(name))}</text>"
            f'<text x="{left - 6}" y="{base - row_h / 2 + 17:.1f}" text-anchor="end" '
            f'fill="#777">{escape(messages.evidence_weekly_peak(peak, complete=not hidden))}</text>'
            f'<line x1="{left}" x2="{width - 8}" y1="{base}" y2="{base}" stroke="#ddd"/>'
        )
        bars = []
        for index, count in enumerate(counts):
            left_edge = left + index * bar
            if isinstance(count, str):
                bars.append(
                    f'<rect x="{left_edge:.1f}" y="{base - 2}" width="{max(bar - 0.3, 0.5):.1f}" '
                    f'height="2" fill="{_GREY}"/>'
                )
            elif count:
                h = row_h * count / peak
                bars.append(
                    f'<rect x="{left_edge:.1f}" y="{base - h:.1f}" '
                    f'width="{max(bar - 0.3, 0.5):.1f}" height="{h:.1f}" fill="{colour}"/>'
                )
        out.append("".join(bars))
    first, last = (weeks[0], weeks[-1]) if weeks else ("", "")
    out.append(
        f'<text x="{left}" y="{height - 2}">{escape(first)}</text>'
        f'<text x="{width - 8}" y="{height - 2}" text-anchor="end">{escape(last)}</text>'
    )
    note = messages.EVIDENCE_WEEKLY_NOTE.format(n=report.threshold)
    return (
        f'<figure><svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(messages.EVIDENCE_WEEKLY)}">'
        + "".join(out)
        + f"</svg><figcaption>{escape(note)}</figcaption></figure>"
    )


def _category_label(value: str) -> str:
    return messages.CATEGORY_LABELS[Category(value)]


def _category_chart(report: Report) -> str:
    mix = report.category_mix.get(ALL, {})
    if not mix:
        return ""
    width, row_h, left = 640, 22, 230
    height = row_h * len(mix) + 6
    peak = max((c for c in mix.values() if isinstance(c, int)), default=1) or 1
    out = []
    for row, (category, count) in enumerate(mix.items()):
        y = row * row_h + 3
        out.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">'
            f"{escape(_category_label(category))}</text>"
        )
        if isinstance(count, str):
            label = _plain_count(count, report.threshold)
            out.append(
                f'<rect x="{left}" y="{y + 4}" width="6" height="12" fill="{_GREY}"/>'
                f'<text x="{left + 10}" y="{y + 14}">{escape(label)}</text>'
            )
        else:
            w = (width - left - 60) * count / peak
            out.append(
                f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="12" fill="#1b9e77"/>'
                f'<text x="{left + w + 4:.1f}" y="{y + 14}">{count:,}</text>'
            )
    return (
        f'<figure><svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(messages.EVIDENCE_CATEGORIES)}">'
        + "".join(out)
        + f"</svg><figcaption>{escape(messages.EVIDENCE_CATEGORIES_NOTE)}</figcaption></figure>"
    )


def _category_table(report: Report) -> str:
    names = list(report.category_mix)
    head = f"<th>{messages.EVIDENCE_CATEGORY_COLUMN}</th>" + "".join(
        f"<th>{escape(platform_name(n))}</th>" for n in names
    )
    rows = []
    for category in report.categories:
        cells = "".join(
            f"<td>{_count(report.category_mix[n][category], report.threshold)}</td>" for n in names
        )
        rows.append(f"<tr><td>{escape(_category_label(category))}</td>{cells}</tr>")
    withheld = any(WITHHELD in mix.values() for mix in report.category_mix.values())
    note = messages.evidence_withheld_note(report.threshold)
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
        + (f'<p class="note">* {escape(note)}</p>' if withheld else "")
    )
