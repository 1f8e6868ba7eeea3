"""Withdrawing a report made by mistake: the "Not a report" button on the first reply, or
`/withdraw N`.

Only the person who made the report may withdraw it, only while they are its only reporter,
within a day, and before anyone else (a lead) has done anything with it: after that it is the
leads' case to close. A withdrawn case is closed, not deleted: the audit keeps the trail, the
leads are told, and the figures (stats, digests) leave it out.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from handlers import messages
from handlers.context import Context, Request, leads_places
from handlers.events import Outgoing
from handlers.reminders import save_case
from handlers.report import WITHDRAW_PREFIX, end_questions
from handlers.text import whole_number
from storage.models import AuditAction, Case, CloseReason, Status

WINDOW = timedelta(hours=24)


def is_withdraw_button(value: str) -> bool:
    return value.startswith(f"{WITHDRAW_PREFIX}:")


async def on_command(ctx: Context, text: str) -> list[Outgoing]:
    """`/withdraw N`: N is the case number in the reporter's school; `/withdraw` alone means
    their latest report there."""
    if not text.strip():
        mine = await ctx.unit.cases.reported_by(ctx.person.id)
        latest = next((c for c in mine if c.school_id == ctx.school.id), None)
        if latest is None:
            return [ctx.reply(messages.NOTHING_TO_WITHDRAW)]
        return await _withdraw(ctx, latest, latest.number)
    number = whole_number(text.strip().lstrip("#"), digits=9)
    if number is None:
        return [ctx.reply(messages.WITHDRAW_USAGE)]
    case = await ctx.unit.cases.by_number(ctx.school.id, number)
    return await _withdraw(ctx, case, number)


async def on_button(request: Request, value: str) -> list[Outgoing]:
    """The "Not a report" button; its case is looked up and checked, never trusted."""
    case_id = whole_number(value.partition(":")[2])
    case = None if case_id is None else await request.unit.cases.get(case_id)
    school = None if case is None else await request.unit.schools.get(case.school_id)
    school_config = None if school is None else request.config.school(school.name)
    if case is None or school is None or school_config is None:
        return [request.private_reply(messages.STALE_BUTTON)]
    ctx = request.in_school(school, school_config)
    replies = await _withdraw(ctx, case, case.number)
    done = replies and replies[0].text == messages.withdrawn(case.number)
    if done and request.incoming.message_ref is not None:
        replies.insert(
            0,
            Outgoing(
                place=request.incoming.place,
                text=messages.case_logged_then_withdrawn(case.number),
                thread=request.incoming.thread,
                to_user=request.incoming.user,
                replace_ref=request.incoming.message_ref,
                case_id=case.id,
            ),
        )
    return replies


async def _withdraw(ctx: Context, case: Case | None, number: int) -> list[Outgoing]:
    reporters = [] if case is None else await ctx.unit.cases.reporters(case.id)
    if case is None or ctx.person.id not in {r.person.id for r in reporters}:
        return [ctx.reply(messages.no_case_to_withdraw(number))]
    if case.status is Status.CLOSED:
        return [ctx.reply(messages.withdraw_closed_already(number))]
    if len(reporters) > 1:
        return [ctx.reply(messages.withdraw_shared(number))]
    acted = any(
        entry.actor_id not in (None, ctx.person.id)
        for entry in await ctx.unit.audit.for_cases([case.id])
    )
    if acted or ctx.now - case.created_at > WINDOW:
        return [ctx.reply(messages.withdraw_too_late(number))]
    await save_case(
        ctx,
        dataclasses.replace(
            case,
            status=Status.CLOSED,
            closed_at=ctx.now,
            close_reason=CloseReason.WITHDRAWN,
            updated_at=ctx.now,
        ),
    )
    await ctx.audit(
        AuditAction.CLOSED,
        case.id,
        from_value=case.status.value,
        to_value=Status.CLOSED.value,
        reason=CloseReason.WITHDRAWN.value,
    )
    replies = [ctx.reply(messages.withdrawn(number), case_id=case.id)]
    replies += await end_questions(ctx, case, notice=None)
    replies += [
        Outgoing(place=place, text=messages.withdrawn_alert(number), case_id=case.id)
        for place in leads_places(ctx.school_config, ctx.transports)
    ]
    return replies
