"""`/cases evidence`: a lead's own school's evidence report, sent to them privately.

The same figures and page as the association's report, over this school's cases only, with the
school named in the title (it is the lead's own). Small numbers are still suppressed: the page is
made to be forwarded, to a platform or a regulator, and must not single out a member of staff.
"""

from __future__ import annotations

import re

from handlers import messages
from handlers.context import Context
from handlers.events import HTML_PAGE, Attachment, Outgoing
from handlers.evidence import figures, html
from storage.models import AuditAction


async def school_report(ctx: Context, args: list[str]) -> list[Outgoing]:
    until = ctx.now.astimezone(ctx.school_config.zone).date()
    rows = await ctx.unit.evidence.rows(schools=(ctx.school.name,), until=until)
    report = figures.build(rows, until, school_name=ctx.school.name)
    page = html.render(report, until).encode("utf-8")
    name = re.sub(r"[^a-z0-9]+", "-", ctx.school.name.lower()).strip("-") or "school"
    attachment = Attachment(f"casebook-evidence-{name}-{until:%Y-%m-%d}.html", page, HTML_PAGE)
    await ctx.audit(AuditAction.EVIDENCE_REPORT, None, to_value=str(len(rows)))
    return [ctx.private_reply(messages.evidence_ready(ctx.school.name), attachment=attachment)]
