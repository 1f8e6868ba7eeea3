"""The report page's section on escalation: time to removal after it, beside the time before it.

Kept apart from html.py, which lays out the rest of the page; html.py adds this section's parts.
"""

from __future__ import annotations

from html import escape

from handlers import messages
from handlers.evidence.escalation import ALL, WITHHELD, EscalationFigures
from handlers.evidence.figures import Report


def section(report: Report) -> list[str]:
    """The heading, the table (or a line saying none was recorded) and the comparison."""
    parts = [f"<h2>{escape(messages.EVIDENCE_ESCALATION)}</h2>"]
    if not report.escalation:
        return [*parts, f"<p>{escape(messages.EVIDENCE_NO_ESCALATIONS)}</p>"]
    head = "".join(f"<th>{escape(c)}</th>" for c in messages.EVIDENCE_ESCALATION_COLUMNS)
    rows = "".join(_row(figures, report.threshold) for figures in report.escalation)
    everything = next((p for p in report.platforms if p.platform == ALL), None)
    compare = messages.evidence_escalation_compare(
        everything.km_median_days if everything else None,
        everything.km_median_ci if everything else None,
        published=everything is not None and isinstance(everything.reported, int),
    )
    notes = [messages.EVIDENCE_ESCALATION_NOTE, compare]
    if any(figures.escalated == WITHHELD for figures in report.escalation):
        notes.append(messages.EVIDENCE_WITHHELD_NOTE)
    return [
        *parts,
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
        "</tbody></table></div>",
        *(f'<p class="note">{escape(note)}</p>' for note in notes),
    ]


def _row(figures: EscalationFigures, threshold: int) -> str:
    cells = [
        escape(messages.EVIDENCE_ROUTE_NAMES[figures.route]),
        _count(figures.escalated, threshold),
        _days(figures.days_before_median),
        _days_ci(figures.km_median_days, figures.km_median_ci),
        *(_pct(share) for share in figures.still_up_after_days.values()),
    ]
    css = ' class="all"' if figures.route == ALL else ""
    return f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _count(value: int | str, threshold: int) -> str:
    if value == WITHHELD:
        return messages.EVIDENCE_WITHHELD + "*"
    return messages.evidence_fewer_than(threshold) if isinstance(value, str) else f"{value:,}"


def _days(value: float | None) -> str:
    return "&#8211;" if value is None else f"{value:g}"


def _days_ci(days: int | None, ci: tuple[int, int] | None) -> str:
    if days is None:
        return "&#8211;"
    return f"{days}" + (f" ({ci[0]}&#8211;{ci[1]})" if ci else "")


def _pct(value: float | None) -> str:
    return "&#8211;" if value is None else f"{value * 100:.0f} %"
