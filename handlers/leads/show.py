"""The lead commands that only read: the list of open cases, one case in full, the term's
summary and the CSV export."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from handlers import export, messages
from handlers.context import Context
from handlers.events import Attachment, Outgoing
from handlers.leads.lookup import Command, category_labels, find_case, name, person_name, when
from handlers.text import whole_number
from storage.models import AuditAction, person_ref_id

PAGE_SIZE = 10


async def list_cases(ctx: Context, args: list[str]) -> list[Outgoing]:
    cases = await ctx.unit.cases.open_for_school(ctx.school.id)
    if not cases:
        return [ctx.private_reply(messages.of_school(ctx.school.name, messages.NO_OPEN_CASES))]
    pages = (len(cases) + PAGE_SIZE - 1) // PAGE_SIZE
    page = whole_number(args[0], digits=4) if args else 1
    if page is None or not 1 <= page <= pages:
        return [ctx.private_reply(messages.of_school(ctx.school.name, messages.pages_exist(pages)))]
    shown = cases[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    lines = [messages.cases_header(ctx.school.name, len(shown), len(cases), page, pages)]
    for case in shown:
        lines.append(
            messages.case_line(
                case.number,
                case.urgent,
                case.platform,
                category_labels(case),
                messages.age((ctx.now - case.created_at).total_seconds() / 3600),
                case.status,
                await person_name(ctx, case.assignee_id),
            )
        )
    if page < pages:
        lines.append(messages.more_cases(page + 1))
    return [ctx.private_reply("\n".join(lines))]


async def show_case(ctx: Context, args: list[str]) -> list[Outgoing]:
    case = await find_case(ctx, args)
    reporters = await ctx.unit.cases.reporters(case.id)
    links = await ctx.unit.cases.links(case.id)
    related = [case.id, *await ctx.unit.cases.merged_from(case.id)]
    fields = [
        (messages.FIELD_CASE, messages.case_heading(case.number, ctx.school.name, case.urgent)),
        (messages.FIELD_STATUS, messages.STATUS_LABELS[case.status]),
        (messages.FIELD_PLATFORM, messages.PLATFORM_NAMES[case.platform]),
        (messages.FIELD_KIND, ", ".join(category_labels(case)) or messages.NOT_GIVEN),
        (
            messages.FIELD_TARGETED,
            messages.TARGET_LABELS[case.targets] if case.targets else messages.NOT_GIVEN,
        ),
        (
            messages.FIELD_REPORTED,
            messages.REPORTED_LABELS[case.reported_to_platform]
            if case.reported_to_platform
            else messages.NOT_GIVEN,
        ),
        (
            messages.FIELD_AUTHOR,
            messages.AUTHOR_LABELS[case.author_is_pupil]
            if case.author_is_pupil
            else messages.NOT_GIVEN,
        ),
        (messages.FIELD_REPORTERS, str(len(reporters))),
        (
            messages.FIELD_ASSIGNEE,
            await person_name(ctx, case.assignee_id) or messages.NOT_GIVEN,
        ),
        (messages.FIELD_LINKS, " ".join(link.canonical for link in links) or messages.NOT_GIVEN),
        (messages.FIELD_LOGGED, when(ctx, case.created_at)),
    ]
    if case.reported_to_platform_at:
        fields.append((messages.FIELD_REPORTED_AT, when(ctx, case.reported_to_platform_at)))
    if case.escalated_to and case.escalated_at:
        escalated = messages.escalated_field(case.escalated_to, when(ctx, case.escalated_at))
        fields.append((messages.FIELD_ESCALATED, escalated))
    if case.removed_at:
        fields.append((messages.FIELD_REMOVED_AT, when(ctx, case.removed_at)))
    if case.legal_hold:
        fields.append((messages.FIELD_LEGAL_HOLD, case.legal_hold))
    if case.purged_at:
        fields.append((messages.FIELD_PURGED, when(ctx, case.purged_at)))
    if case.merged_into:
        target = await ctx.unit.cases.get(case.merged_into)
        merged = messages.case_number(target.number) if target else messages.UNKNOWN
        fields.append((messages.FIELD_MERGED_INTO, merged))
    lines = [messages.case_details(fields)]
    for reporter in reporters:
        if reporter.description:
            words = reporter.description[:1000]
            lines.append(messages.reporter_words(name(reporter.person), words))
    notes = await ctx.unit.notes.for_cases(related)
    if notes:
        lines.append(messages.NOTES)
        for note in notes:
            author = name(note.author) if note.author else messages.UNKNOWN
            lines.append(messages.timeline_line(when(ctx, note.at), author, note.text))
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
                when(ctx, entry.at), name(actor) if actor else messages.NOBODY_NAMED, what
            )
        )
    return [ctx.private_reply("\n".join(lines))]


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


def term_start(local_now: datetime) -> datetime:
    """The first day of the current school term: September, January or April (UK terms)."""
    month = 9 if local_now.month >= 9 else 4 if local_now.month >= 4 else 1
    return local_now.replace(month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


async def _person_ref(ctx: Context, value: str | None) -> str | None:
    """An audit value as shown: "person:7" becomes that person's (possibly pseudonymous) name."""
    person_id = person_ref_id(value)
    return value if person_id is None else await person_name(ctx, person_id)


COMMANDS: dict[str, Command] = {
    "list": list_cases,
    "show": show_case,
    "summary": _summary,
    "export": _export,
}
