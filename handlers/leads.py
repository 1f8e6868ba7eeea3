"""Lead commands (`/cases …`): list, show, assign, status, note, close, reopen, merge, summary…

A lead sees only the cases of the schools they lead. Case numbers are looked up within the lead's
school, so a number that exists only in another school gets exactly the answer a missing one gets.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime

from handlers import export, messages
from handlers.context import Context, Request
from handlers.events import Attachment, Outgoing, PersonKey, Place, PlaceKind
from handlers.evidence.chat import school_report
from handlers.reminders import save_case
from handlers.report import end_questions
from handlers.roles import lead_ids, lead_schools
from handlers.text import printable, whole_number, without_bidi_overrides
from storage.models import (
    LEAD_CLOSE_REASONS,
    AuditAction,
    AuditEntry,
    Case,
    Category,
    CloseReason,
    Person,
    Platform,
    ReportedToPlatform,
    Status,
    person_ref,
    person_ref_id,
)

PAGE_SIZE = 10
MAX_NOTE_LENGTH = 4000
_SETTABLE = {
    "reported": Status.REPORTED,
    "escalated": Status.ESCALATED,
    "removed": Status.REMOVED,
    "open": Status.OPEN,
}
_CASE_NUMBER = re.compile(r"^#?(\d{1,9})$")

Command = Callable[[Context, list[str]], Awaitable[list[Outgoing]]]


class _Refusal(Exception):
    """A command that cannot go ahead: a code for the audit (never the user's own words, which
    the append-only audit could not forget) and a polite message for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


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
    command = _COMMANDS.get(verb)
    if command is None and _CASE_NUMBER.match(verb):
        command, arguments = _show, [verb, *arguments]  # "/cases 14" is "/cases show 14"
    if command is None:
        return [request.private_reply(messages.unknown_lead_command(printable(verb)))]
    if chosen is None:
        if verb == "list" and len(led) > 1:
            replies: list[Outgoing] = []
            for school_config in led:
                replies += await _run(request, school_config.name, _list, arguments)
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
    except _Refusal as refusal:
        await ctx.audit(AuditAction.REFUSED, None, to_value="/cases", reason=refusal.code)
        return [ctx.private_reply(str(refusal))]


async def _list(ctx: Context, args: list[str]) -> list[Outgoing]:
    cases = await ctx.unit.cases.open_for_school(ctx.school.id)
    if not cases:
        return [ctx.private_reply(f"{ctx.school.name}: {messages.NO_OPEN_CASES}")]
    pages = (len(cases) + PAGE_SIZE - 1) // PAGE_SIZE
    page = whole_number(args[0], digits=4) if args else 1
    if page is None or not 1 <= page <= pages:
        return [ctx.private_reply(f"{ctx.school.name}: {messages.pages_exist(pages)}")]
    shown = cases[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [messages.cases_header(ctx.school.name, len(shown), len(cases), page, pages)]
    for case in shown:
        lines.append(
            messages.case_line(
                case.number,
                case.urgent,
                case.platform,
                _category_labels(case),
                messages.age((ctx.now - case.created_at).total_seconds() / 3600),
                case.status,
                await _person_name(ctx, case.assignee_id),
            )
        )
    if page < pages:
        lines.append(messages.more_cases(page + 1))
    return [ctx.private_reply("\n".join(lines))]


async def _show(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _case(ctx, args)
    reporters = await ctx.unit.cases.reporters(case.id)
    links = await ctx.unit.cases.links(case.id)
    related = [case.id, *await ctx.unit.cases.merged_from(case.id)]
    fields = [
        ("Case", f"#{case.number} · {ctx.school.name}" + (" · URGENT" if case.urgent else "")),
        ("Status", messages.STATUS_LABELS[case.status]),
        ("Platform", messages.PLATFORM_NAMES[case.platform]),
        ("Kind", ", ".join(_category_labels(case)) or messages.NOT_GIVEN),
        ("Targeted", messages.TARGET_LABELS[case.targets] if case.targets else messages.NOT_GIVEN),
        (
            "Reported to platform",
            messages.REPORTED_LABELS[case.reported_to_platform]
            if case.reported_to_platform
            else messages.NOT_GIVEN,
        ),
        (
            "Author a pupil",
            messages.AUTHOR_LABELS[case.author_is_pupil]
            if case.author_is_pupil
            else messages.NOT_GIVEN,
        ),
        ("Reporters", str(len(reporters))),
        ("Assigned to", await _person_name(ctx, case.assignee_id) or messages.NOT_GIVEN),
        ("Links", " ".join(link.canonical for link in links) or messages.NOT_GIVEN),
        ("Logged", _when(ctx, case.created_at)),
    ]
    if case.reported_to_platform_at:
        fields.append(("Reported at", _when(ctx, case.reported_to_platform_at)))
    if case.removed_at:
        fields.append(("Removed at", _when(ctx, case.removed_at)))
    if case.legal_hold:
        fields.append(("Legal hold", case.legal_hold))
    if case.purged_at:
        fields.append(("Purged", _when(ctx, case.purged_at)))
    if case.merged_into:
        target = await ctx.unit.cases.get(case.merged_into)
        fields.append(("Merged into", f"#{target.number}" if target else "?"))
    lines = [messages.case_details(fields)]
    for reporter in reporters:
        if reporter.description:
            lines.append(f"{_name(reporter.person)}: {reporter.description[:1000]}")
    notes = await ctx.unit.notes.for_cases(related)
    if notes:
        lines.append(messages.NOTES)
        for note in notes:
            author = _name(note.author) if note.author else "?"
            lines.append(messages.timeline_line(_when(ctx, note.at), author, note.text))
    lines.append(messages.TIMELINE)
    numbers = {case.id: case.number}
    for other_id in related[1:]:
        other = await ctx.unit.cases.get(other_id)
        numbers[other_id] = other.number if other else 0
    for entry in await ctx.unit.audit.for_cases(related):
        actor = await ctx.unit.people.get(entry.actor_id) if entry.actor_id else None
        what = messages.audit_text(
            entry.action,
            await _person_ref(ctx, entry.from_value),
            await _person_ref(ctx, entry.to_value),
            entry.reason,
        )
        if entry.case_id is not None and entry.case_id != case.id:
            what = messages.from_merged_case(numbers.get(entry.case_id, 0), what)
        lines.append(
            messages.timeline_line(
                _when(ctx, entry.at), _name(actor) if actor else messages.NOBODY_NAMED, what
            )
        )
    return [ctx.private_reply("\n".join(lines))]


async def _assign(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _open_case(ctx, args)
    if len(args) < 2:
        raise _Refusal("assign-needs-person", messages.ASSIGN_NEEDS_PERSON)
    person = await _find_staff(ctx, args[1])
    await save_case(ctx, dataclasses.replace(case, assignee_id=person.id, updated_at=ctx.now))
    # People are referred to by id in the audit, so erasing a person never rewrites history.
    await ctx.audit(
        AuditAction.ASSIGNED,
        case.id,
        from_value=None if case.assignee_id is None else person_ref(case.assignee_id),
        to_value=person_ref(person.id),
    )
    replies = [ctx.private_reply(messages.assigned(case.number, _name(person)))]
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
        raise _Refusal("status-usage", messages.LEAD_USAGE["status"])
    case = await _open_case(ctx, args)
    word = args[1].lower()
    status = _SETTABLE.get(word)
    if status is None:
        raise _Refusal("bad-status", messages.bad_status(printable(word)))
    if status is case.status:
        raise _Refusal("status-unchanged", messages.status_unchanged(case.number, status))
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
    case = await _case(ctx, args)
    text = " ".join(args[1:]).strip()[:MAX_NOTE_LENGTH]
    if not text:
        raise _Refusal("note-needs-text", messages.NOTE_NEEDS_TEXT)
    await ctx.unit.notes.add(case.id, ctx.person.id, text, ctx.now)
    await ctx.audit(AuditAction.NOTE, case.id)
    return [ctx.private_reply(messages.note_added(case.number))]


async def _close(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _open_case(ctx, args)
    word = args[1].lower() if len(args) > 1 else CloseReason.RESOLVED.value
    reason = next((r for r in LEAD_CLOSE_REASONS if r.value == word), None)
    if reason is None:
        raise _Refusal("bad-close-reason", messages.bad_close_reason(printable(word)))
    told = await _close_case(ctx, case, reason)
    return [ctx.private_reply(messages.closed(case.number, reason)), *told]


async def _reopen(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _case(ctx, args)
    if case.status is not Status.CLOSED:
        raise _Refusal("not-closed", messages.case_not_closed(case.number))
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
        raise _Refusal("merge-usage", messages.LEAD_USAGE["merge"])
    keep = await _open_case(ctx, args)
    fold = await _open_case(ctx, args[1:])
    if keep.id == fold.id:
        raise _Refusal("merge-same-case", messages.MERGE_SAME_CASE)
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
    return dataclasses.replace(
        keep,
        urgent=keep.urgent or fold.urgent,
        categories=keep.categories | fold.categories,
        platform=fold.platform if keep.platform is Platform.UNKNOWN else keep.platform,
        targets=keep.targets or fold.targets,
        reported_to_platform=keep.reported_to_platform or fold.reported_to_platform,
        reported_to_platform_at=keep.reported_to_platform_at or fold.reported_to_platform_at,
        author_is_pupil=keep.author_is_pupil or fold.author_is_pupil,
        updated_at=now,
    )


async def _hold(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _case(ctx, args)
    reason = " ".join(args[1:]).strip()[:500]
    if not reason:
        raise _Refusal("hold-needs-reason", messages.HOLD_NEEDS_REASON)
    if case.purged_at is not None:
        raise _Refusal("purged", messages.case_purged(case.number))
    await save_case(ctx, dataclasses.replace(case, legal_hold=reason, updated_at=ctx.now))
    await ctx.audit(AuditAction.HOLD, case.id, reason=reason)
    return [ctx.private_reply(messages.held(case.number))]


async def _unhold(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await _case(ctx, args)
    if case.legal_hold is None:
        raise _Refusal("not-held", messages.not_held(case.number))
    await save_case(ctx, dataclasses.replace(case, legal_hold=None, updated_at=ctx.now))
    await ctx.audit(AuditAction.UNHOLD, case.id)
    return [ctx.private_reply(messages.unheld(case.number))]


async def _summary(ctx: Context, args: list[str]) -> list[Outgoing]:
    since = term_start(ctx.now.astimezone(ctx.school_config.zone))
    cases = await ctx.unit.cases.listing(school_id=ctx.school.id, since=since)
    by_status = Counter(messages.STATUS_LABELS[c.status] for c in cases)
    by_platform = Counter(messages.PLATFORM_NAMES[c.platform] for c in cases)
    return [
        ctx.private_reply(
            messages.summary(
                ctx.school.name,
                since.strftime("%d %b %Y"),
                dict(by_status.most_common()),
                dict(by_platform.most_common()),
            )
        )
    ]


async def _export(ctx: Context, args: list[str]) -> list[Outgoing]:
    rows = await export.export_rows(ctx.unit, school=ctx.school.name)
    name = re.sub(r"[^a-z0-9]+", "-", ctx.school.name.lower()).strip("-") or "school"
    csv_bytes = export.to_csv(rows).encode("utf-8-sig")  # the mark lets spreadsheets read UTF-8
    attachment = Attachment(f"casebook-{name}-{ctx.now:%Y-%m-%d}.csv", csv_bytes)
    await ctx.audit(AuditAction.EXPORTED, None, to_value=str(len(rows)))
    return [ctx.private_reply(messages.export_ready(len(rows)), attachment=attachment)]


_COMMANDS: dict[str, Command] = {
    "list": _list,
    "show": _show,
    "assign": _assign,
    "status": _status,
    "note": _note,
    "close": _close,
    "reopen": _reopen,
    "merge": _merge,
    "hold": _hold,
    "unhold": _unhold,
    "summary": _summary,
    "export": _export,
    "evidence": school_report,
}


def term_start(local_now: datetime) -> datetime:
    """The first day of the current school term: September, January or April (UK terms)."""
    month = 9 if local_now.month >= 9 else 4 if local_now.month >= 4 else 1
    return local_now.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


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


async def _case(ctx: Context, args: list[str]) -> Case:
    """The case numbered in args[0], of this school only."""
    match = _CASE_NUMBER.match(args[0]) if args else None
    if match is None:
        raise _Refusal("case-number-needed", messages.CASE_NUMBER_NEEDED)
    case = await ctx.unit.cases.by_number(ctx.school.id, int(match.group(1)))
    if case is None:
        raise _Refusal("no-such-case", messages.no_such_case(match.group(1).lstrip("0") or "0"))
    return case


async def _open_case(ctx: Context, args: list[str]) -> Case:
    case = await _case(ctx, args)
    if case.status is Status.CLOSED:
        raise _Refusal("closed", messages.case_closed_already(case.number))
    return case


async def _find_staff(ctx: Context, handle: str) -> Person:
    """`me`, a lead of this school, or a member of it, by @name, <@U123> (Slack) or id, on the
    lead's own transport. Leads count even before Casebook has seen them in a school's place."""
    wanted = re.sub(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$", r"\1", handle.strip()).lstrip("@").casefold()
    if wanted == "me":
        return ctx.person
    transport = ctx.incoming.user.transport
    members = [
        p
        for p in await ctx.unit.schools.members(ctx.school.id)
        if PersonKey.parse(p.key).transport is transport
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
        raise _Refusal("no-such-person", messages.no_such_person(printable(handle)))
    if len(found) > 1:
        raise _Refusal("ambiguous-person", messages.several_people(printable(handle)))
    return found[0]


async def _person_name(ctx: Context, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await ctx.unit.people.get(person_id)
    return None if person is None else _name(person)


async def _person_ref(ctx: Context, value: str | None) -> str | None:
    """An audit value as shown: "person:7" becomes that person's (possibly pseudonymous) name."""
    person_id = person_ref_id(value)
    return value if person_id is None else await _person_name(ctx, person_id)


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


def _name(person: Person) -> str:
    return person.name or PersonKey.parse(person.key).id


def _when(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ctx.school_config.zone).strftime("%d %b %Y %H:%M %Z")


def _category_labels(case: Case) -> list[str]:
    return [messages.CATEGORY_LABELS[c] for c in Category if c in case.categories]
