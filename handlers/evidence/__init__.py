"""Evidence for an association: figures across many schools that name no one.

`sources` reads anonymised exports (or `storage.evidence` the database), `figures` counts and
estimates with small numbers suppressed, `survival` is the Kaplan-Meier estimator, and `html` and
`tables` write the report. `report` below puts them together for the command line and for chat.
"""

from __future__ import annotations

from datetime import date

from handlers.evidence import figures, html, tables
from handlers.evidence.marks import Target
from storage.evidence import EvidenceRow
from storage.unit import Unit

FORMATS = ("html", "json", "csv")


async def rows_from(
    unit: Unit, schools: tuple[str, ...], since: date | None, until: date
) -> list[EvidenceRow]:
    """The database's cases for the report (of these schools, created in the period)."""
    return await unit.evidence.rows(schools=schools, since=since, until=until)


def report_text(
    report: figures.Report, fmt: str, made_on: date, targets: tuple[Target, ...] = ()
) -> str:
    """The report in one of FORMATS; the targets are set beside the figures in the page."""
    if fmt == "json":
        return tables.to_json(report)
    if fmt == "csv":
        return tables.to_csv(report)
    return html.render(report, made_on, targets)
