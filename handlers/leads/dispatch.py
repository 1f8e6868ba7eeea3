"""`/cases …`: who may run a lead command, in which school, and which command a line names.

A lead sees only the cases of the schools they lead. Case numbers are looked up within the lead's
school, so a number that exists only in another school gets exactly the answer a missing one gets.
"""

from __future__ import annotations

import dataclasses
import shlex

from handlers import messages
from handlers.context import Request
from handlers.events import Outgoing
from handlers.evidence.chat import school_report
from handlers.leads import changes, escalated, places, show
from handlers.leads.lookup import Command, Refusal, is_case_number
from handlers.roles import lead_schools
from handlers.text import printable, without_bidi_overrides
from storage.models import AuditAction, AuditEntry

# Every `/cases` verb: each feature module names its own.
COMMANDS: dict[str, Command] = {
    **show.COMMANDS,
    **changes.COMMANDS,
    **escalated.COMMANDS,
    **places.COMMANDS,
    "evidence": school_report,
}


async def handle(request: Request, text: str) -> list[Outgoing]:
    """Run one `/cases …` command for a lead; refuse (and audit) anyone else.

    Names, notes and reporters' words reach leads here; none of them may carry bidirectional
    overrides, which would reorder what the lead reads.
    """
    return [
        dataclasses.replace(reply, text=without_bidi_overrides(reply.text))
        for reply in await _handle(request, text)
    ]


async def _handle(request: Request, text: str) -> list[Outgoing]:
    led = lead_schools(request.config, request.incoming.user)
    if not led:
        await _audit_refusal(request, "not a lead")
        return [request.private_reply(messages.NOT_A_LEAD)]
    try:
        words = _words(text)
    except ValueError:
        return [request.private_reply(messages.BAD_QUOTES)]
    chosen = None
    if len(words) >= 2 and words[0] == "--school":
        wanted = words[1].casefold()
        chosen = next((s for s in led if s.name.casefold() == wanted), None)
        if chosen is None:
            await _audit_refusal(request, "not a lead of the named school")
            return [request.private_reply(messages.not_your_school(words[1]))]
        words = words[2:]
    verb = words[0].lower() if words else "list"
    arguments = words[1:]
    if verb == "help":
        return [request.private_reply(messages.LEAD_HELP)]
    if verb == "page":
        verb, arguments = "list", arguments
    command = COMMANDS.get(verb)
    if command is None and is_case_number(verb):
        command, arguments = show.show_case, [verb, *arguments]  # "/cases 14" is "/cases show 14"
    if command is None:
        return [request.private_reply(messages.unknown_lead_command(printable(verb)))]
    if chosen is None:
        if verb == "list" and len(led) > 1:
            replies: list[Outgoing] = []
            for school_config in led:
                replies += await _run(request, school_config.name, show.list_cases, arguments)
            return replies
        if len(led) > 1:
            return [request.private_reply(messages.which_school([s.name for s in led]))]
        chosen = led[0]
    return await _run(request, chosen.name, command, arguments)


def _words(text: str) -> list[str]:
    """Words, with double quotes grouping a school's name (`--school "Northfield Academy"`).

    An apostrophe is an ordinary letter: leads write notes like "spoke to the pupil's parents".
    """
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


async def _run(
    request: Request, school_name: str, command: Command, args: list[str]
) -> list[Outgoing]:
    school = await request.unit.schools.by_name(school_name)
    school_config = request.config.school(school_name)
    assert school is not None and school_config is not None
    ctx = request.in_school(school, school_config)
    try:
        return await command(ctx, args)
    except Refusal as refusal:
        await ctx.audit(AuditAction.REFUSED, None, to_value="/cases", reason=refusal.code)
        return [ctx.private_reply(str(refusal))]


async def _audit_refusal(request: Request, reason: str) -> None:
    school = None
    if request.incoming.school is not None:
        school = await request.unit.schools.by_name(request.incoming.school)
    await request.unit.audit.append(
        AuditEntry(
            case_id=None,
            school_id=None if school is None else school.id,
            actor_id=request.person.id,
            action=AuditAction.REFUSED,
            at=request.now,
            to_value="/cases",
            reason=reason,
        )
    )
