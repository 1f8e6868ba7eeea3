"""The lead commands that change a case: assign, status, note, close, reopen, merge and the legal
hold. Each change is saved (its reminders brought up to date) and audited."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

from handlers import messages
from handlers.context import Context
from handlers.events import Outgoing, PersonKey, Place, PlaceKind
from handlers.leads.lookup import Command, Refusal, find_case, find_open_case, name
from handlers.reminders import save_case
from handlers.report import end_questions
from handlers.roles import lead_ids
from handlers.text import MAX_TEXT_LENGTH, capped, clean_text, printable
from storage.models import (
    LEAD_CLOSE_REASONS,
    AuditAction,
    Case,
    CloseReason,
    Person,
    Platform,
    ReportedToPlatform,
    Status,
    person_ref,
)

# The statuses `/cases status N …` sets, by their stored names.
_SETTABLE = {s.value: s for s in (Status.REPORTED, Status.ESCALATED, Status.REMOVED, Status.OPEN)}


async def _assign(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_open_case(ctx, args)
    if len(args) < 2:
        raise Refusal("assign-needs-person", messages.ASSIGN_NEEDS_PERSON)
    person = await _find_staff(ctx, args[1])
    await save_case(ctx, dataclasses.replace(case, assignee_id=person.id, updated_at=ctx.now))
    # People are referred to by id in the audit, so erasing a person never rewrites history.
    await ctx.audit(
        AuditAction.ASSIGNED,
        case.id,
        from_value=None if case.assignee_id is None else person_ref(case.assignee_id),
        to_value=person_ref(person.id),
    )
    if person.id == ctx.person.id:  # `assign N me`: no message about it to oneself
        return [ctx.private_reply(messages.assigned_to_yourself(case.number))]
    replies = [ctx.private_reply(messages.assigned(case.number, name(person)))]
    key = PersonKey.parse(person.key)
    if key.transport is not None and key.transport in ctx.transports:
        replies.append(
            Outgoing(
                place=Place(key.transport, key.id, PlaceKind.DIRECT),
                text=messages.you_were_assigned(case.number, ctx.school.name, case.platform),
                case_id=case.id,
            )
        )
    return replies


async def _status(ctx: Context, args: list[str]) -> list[Outgoing]:
    if len(args) < 2:
        raise Refusal("status-usage", messages.LEAD_USAGE["status"])
    case = await find_open_case(ctx, args)
    word = args[1].lower()
    status = _SETTABLE.get(word)
    if status is None:
        raise Refusal("bad-status", messages.bad_status(printable(word)))
    if status is case.status:
        raise Refusal("status-unchanged", messages.status_unchanged(case.number, status))
    changed = dataclasses.replace(case, status=status, updated_at=ctx.now)
    if status is Status.REPORTED or (
        status is Status.REMOVED and case.reported_to_platform is None
    ):
        changed = dataclasses.replace(
            changed,
            reported_to_platform=ReportedToPlatform.YES,
            reported_to_platform_at=case.reported_to_platform_at or ctx.now,
        )
    if status is Status.REMOVED:
        changed = dataclasses.replace(changed, removed_at=case.removed_at or ctx.now)
    await save_case(ctx, changed)
    await ctx.audit(
        AuditAction.STATUS, case.id, from_value=case.status.value, to_value=status.value
    )
    return [ctx.private_reply(messages.status_set(case.number, status))]


async def _note(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_case(ctx, args)
    # The same cap as every other stored word (a note written as a thread reply included), and
    # the lead is told when theirs were cut.
    text, truncated = capped(clean_text(" ".join(args[1:])))
    if not text:
        raise Refusal("note-needs-text", messages.NOTE_NEEDS_TEXT)
    await ctx.unit.notes.add(case.id, ctx.person.id, text, ctx.now)
    await ctx.audit(AuditAction.NOTE, case.id)
    replies = [ctx.private_reply(messages.note_added(case.number))]
    if truncated:
        replies.append(ctx.private_reply(messages.text_truncated(MAX_TEXT_LENGTH)))
    return replies


async def _close(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_open_case(ctx, args)
    word = args[1].lower() if len(args) > 1 else CloseReason.RESOLVED.value
    reason = next((r for r in LEAD_CLOSE_REASONS if r.value == word), None)
    if reason is None:
        raise Refusal("bad-close-reason", messages.bad_close_reason(printable(word)))
    told = await _close_case(ctx, case, reason)
    return [ctx.private_reply(messages.closed(case.number, reason)), *told]


async def _reopen(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_case(ctx, args)
    if case.status is not Status.CLOSED:
        raise Refusal("not-closed", messages.case_not_closed(case.number))
    reopened = dataclasses.replace(
        case,
        status=Status.OPEN,
        closed_at=None,
        close_reason=None,
        merged_into=None,
        updated_at=ctx.now,
    )
    await save_case(ctx, reopened)
    await ctx.audit(
        AuditAction.REOPENED, case.id, from_value=Status.CLOSED.value, to_value=Status.OPEN.value
    )
    return [ctx.private_reply(messages.reopened(case.number))]


async def _merge(ctx: Context, args: list[str]) -> list[Outgoing]:
    if len(args) < 2:
        raise Refusal("merge-usage", messages.LEAD_USAGE["merge"])
    keep = await find_open_case(ctx, args)
    fold = await find_open_case(ctx, args[1:])
    if keep.id == fold.id:
        raise Refusal("merge-same-case", messages.MERGE_SAME_CASE)
    await ctx.unit.cases.move_into(fold.id, keep.id)
    await ctx.unit.notes.move(fold.id, keep.id)
    await save_case(ctx, merged_case(keep, fold, ctx.now))
    await ctx.audit(AuditAction.MERGED_FROM, keep.id, from_value=str(fold.number))
    told = await _close_case(
        ctx,
        dataclasses.replace(fold, merged_into=keep.id),
        CloseReason.DUPLICATE,
        merged_into=keep.number,
    )
    await ctx.audit(AuditAction.MERGED_INTO, fold.id, to_value=str(keep.number))
    return [ctx.private_reply(messages.merged(keep.number, fold.number)), *told]


def merged_case(keep: Case, fold: Case, now: datetime) -> Case:
    """The surviving case with what the duplicate's reporters told: its kinds, its urgency, and
    the answers the surviving case lacks (a platform, who is targeted, the platform report…)."""
    first = min(
        (keep, fold), key=lambda c: (c.escalated_at is None, c.escalated_at or now, c is fold)
    )
    return dataclasses.replace(
        keep,
        urgent=keep.urgent or fold.urgent,
        categories=keep.categories | fold.categories,
        platform=fold.platform if keep.platform is Platform.UNKNOWN else keep.platform,
        targets=keep.targets or fold.targets,
        reported_to_platform=keep.reported_to_platform or fold.reported_to_platform,
        reported_to_platform_at=keep.reported_to_platform_at or fold.reported_to_platform_at,
        author_is_pupil=keep.author_is_pupil or fold.author_is_pupil,
        # An escalation of either is one of the surviving case; the earlier one counts.
        escalated_to=first.escalated_to,
        escalated_at=first.escalated_at,
        updated_at=now,
    )


async def _hold(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_case(ctx, args)
    reason = " ".join(args[1:]).strip()[:500]
    if not reason:
        raise Refusal("hold-needs-reason", messages.HOLD_NEEDS_REASON)
    if case.purged_at is not None:
        raise Refusal("purged", messages.case_purged(case.number))
    await save_case(ctx, dataclasses.replace(case, legal_hold=reason, updated_at=ctx.now))
    await ctx.audit(AuditAction.HOLD, case.id, reason=reason)
    return [ctx.private_reply(messages.held(case.number))]


async def _unhold(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_case(ctx, args)
    if case.legal_hold is None:
        raise Refusal("not-held", messages.not_held(case.number))
    await save_case(ctx, dataclasses.replace(case, legal_hold=None, updated_at=ctx.now))
    await ctx.audit(AuditAction.UNHOLD, case.id)
    return [ctx.private_reply(messages.unheld(case.number))]


COMMANDS: dict[str, Command] = {
    "assign": _assign,
    "status": _status,
    "note": _note,
    "close": _close,
    "reopen": _reopen,
    "merge": _merge,
    "hold": _hold,
    "unhold": _unhold,
}


async def _close_case(
    ctx: Context, case: Case, reason: CloseReason, merged_into: int | None = None
) -> list[Outgoing]:
    """Close the case; its reporters still being asked about it are told the questions end."""
    await save_case(
        ctx,
        dataclasses.replace(
            case, status=Status.CLOSED, closed_at=ctx.now, close_reason=reason, updated_at=ctx.now
        ),
    )
    await ctx.audit(
        AuditAction.CLOSED,
        case.id,
        from_value=case.status.value,
        to_value=Status.CLOSED.value,
        reason=reason,
    )
    return await end_questions(ctx, case, messages.questions_ended(case.number, merged_into))


async def _find_staff(ctx: Context, handle: str) -> Person:
    """`me`, a lead of this school, or a member of it, by @name, <@U123> (Slack) or id, on the
    lead's own transport. Leads count even before Casebook has seen them in a school's place."""
    # "<@T1/U123>": a Slack id qualified by its workspace, where Slack is installed by OAuth.
    wanted = re.sub(r"^<@([A-Z0-9/]+)(?:\|[^>]*)?>$", r"\1", handle.strip()).lstrip("@").casefold()
    if wanted == "me":
        return ctx.person
    transport = ctx.incoming.user.transport
    members = [
        p
        for p in await ctx.unit.schools.members(ctx.school.id)
        if PersonKey.parse(p.key).transport == transport
    ]
    known = {p.key for p in members}
    for lead in lead_ids(ctx.school_config, transport):
        key = str(PersonKey.of(transport, str(lead)))
        if key not in known:
            members.append(await ctx.unit.people.ensure(key, ""))
    exact = [p for p in members if PersonKey.parse(p.key).id.casefold() == wanted]
    named = [p for p in members if p.name.casefold() == wanted]
    found = exact or named
    if not found:
        raise Refusal("no-such-person", messages.no_such_person(printable(handle)))
    if len(found) > 1:
        raise Refusal("ambiguous-person", messages.several_people(printable(handle)))
    return found[0]
