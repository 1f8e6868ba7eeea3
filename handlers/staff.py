"""Commands any member of staff may use: help, their own cases, and /whoami."""

from __future__ import annotations

from handlers import commands, messages
from handlers.context import Context
from handlers.events import Incoming, Outgoing, PlaceKind
from handlers.roles import is_lead
from handlers.settings import TransportNames
from storage.models import CloseReason, Status


async def help_text(ctx: Context) -> list[Outgoing]:
    """The staff's commands; a lead of this school is also told where the lead commands are."""
    text = commands.staff_help()
    if is_lead(ctx.school_config, ctx.incoming.user):
        text += "\n" + messages.HELP_FOR_LEADS
    return [ctx.reply(text)]


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
                withdrawn=case.close_reason is CloseReason.WITHDRAWN,
            )
        )
    return [ctx.reply("\n".join(lines))]


def whoami(incoming: Incoming, names: TransportNames) -> Outgoing:
    """The person's id and the chat's id, privately, for anyone at all: it is how the person
    setting Casebook up finds the ids the configuration needs, before anyone is configured.

    In a group, if the person cannot be written to privately (a Telegram user who never started
    the bot), the answer goes to the group as a reply: the ids are not secret, and the person
    setting up has no other way to find the group's id.
    """
    place = incoming.place
    shared = place.kind is not PlaceKind.DIRECT
    return Outgoing(
        place=place,
        text=messages.whoami(names, incoming.user.id, place.id if shared else None),
        to_user=incoming.user,
        private=True,
        fallback=place if shared else None,
        fallback_thread=incoming.thread if shared else None,
    )
