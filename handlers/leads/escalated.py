"""`/cases escalated N posh|report-harmful-content|police`: a lead records where a case went."""

from __future__ import annotations

from handlers import messages
from handlers.context import Context
from handlers.escalation import ROUTES, escalated
from handlers.events import Outgoing
from handlers.leads.lookup import Command, Refusal, find_open_case, when
from handlers.reminders import save_case
from handlers.text import printable
from storage.models import AuditAction, Status


async def _escalated(ctx: Context, args: list[str]) -> list[Outgoing]:
    if len(args) < 2:
        raise Refusal("escalated-usage", messages.LEAD_USAGE["escalated"])
    case = await find_open_case(ctx, args)
    word = args[1].lower()
    route = ROUTES.get(word)
    if route is None:
        raise Refusal("bad-escalation-route", messages.bad_escalation_route(printable(word)))
    if case.status is Status.REMOVED:
        raise Refusal("removed-already", messages.escalation_after_removal(case.number))
    changed = escalated(case, route, ctx.now)
    await save_case(ctx, changed)
    await ctx.audit(
        AuditAction.ESCALATED, case.id, from_value=case.status.value, to_value=route.value
    )
    if case.escalated_to is None or case.escalated_at is None:
        text = messages.escalation_recorded(case.number, route)
    else:
        text = messages.escalation_added(
            case.number, route, case.escalated_to, when(ctx, case.escalated_at)
        )
    return [ctx.private_reply(text)]


COMMANDS: dict[str, Command] = {"escalated": _escalated}
