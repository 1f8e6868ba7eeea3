"""Commands any member of staff may use: help and their own cases."""

from __future__ import annotations

from bot import messages
from bot.events import Outgoing
from handlers.context import Context
from storage.models import Status


async def help_text(ctx: Context) -> list[Outgoing]:
    return [ctx.reply(messages.STAFF_HELP)]


async def my_cases(ctx: Context) -> list[Outgoing]:
    """The reporter's own cases in this school, newest first; never anyone else's."""
    cases = [
        c for c in await ctx.unit.cases.reported_by(ctx.person.id) if c.school_id == ctx.school.id
    ]
    if not cases:
        return [ctx.reply(messages.NO_CASES_OF_YOURS)]
    lines = [messages.my_cases_header(len(cases))]
    zone = ctx.school_config.zone
    for case in cases[:25]:
        lines.append(
            messages.my_case_line(
                case.number,
                case.platform,
                Status(case.status),
                case.created_at.astimezone(zone).strftime("%d %b %Y"),
            )
        )
    return [ctx.reply("\n".join(lines))]
