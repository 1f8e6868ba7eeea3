"""Messages about a message already logged: a thread reply (or Telegram reply) under a report,
an edit of a report, and a report deleted from the chat.

A case remembers the chat messages that made or joined it (`case_messages`), so each of these
finds its case by the platform's own message key, whatever its text says. None of them starts
questions or alerts the leads: the case exists already.
"""

from __future__ import annotations

import dataclasses

from handlers import messages
from handlers.context import Context
from handlers.events import Outgoing
from handlers.links import find_links
from handlers.roles import is_lead
from handlers.text import MAX_TEXT_LENGTH, MAX_WORDS_PER_CASE, capped, clean_text
from storage.models import AuditAction, Case, CaseLink, LinkAddedBy, Platform


async def remember(ctx: Context, case: Case) -> None:
    """This message made or joined `case`: its replies, edits and deletion will find it."""
    key = ctx.incoming.message_key
    if key is not None:
        await ctx.unit.case_messages.add(ctx.incoming.place.transport, key, case.id)


async def on_reply(ctx: Context, text: str) -> list[Outgoing] | None:
    """A reply without a link under a logged message joins that message's case(s): a lead's
    words become a note, anyone else's are added to the case and they become a reporter.
    None when the message replied to made no case (then the reply is ordinary chat)."""
    assert ctx.incoming.reply_to is not None
    cases = await _cases_of(ctx, ctx.incoming.reply_to)
    if not cases:
        return None
    lead = is_lead(ctx.school_config, ctx.incoming.user)
    text, truncated = capped(text)
    added: list[int] = []
    full: list[int] = []  # cases that already hold as many of this person's words as they keep
    for case in cases:
        if lead:
            await ctx.unit.notes.add(case.id, ctx.person.id, text, ctx.now)
            await ctx.audit(AuditAction.NOTE, case.id)
            added.append(case.number)
        elif await ctx.unit.cases.add_reporter(case.id, ctx.person.id, text, ctx.now):
            await ctx.audit(AuditAction.REPORTER_ADDED, case.id)
            added.append(case.number)
        else:
            kept = await _more_words(ctx, case, text)
            if kept:
                await ctx.audit(AuditAction.WORDS_ADDED, case.id)
                added.append(case.number)
            if len(kept) < len(text):
                full.append(case.number)
        await remember(ctx, case)
    ctx.count("thread_replies_joined")
    replies = []
    if added:
        said = messages.reply_added_as_note(added) if lead else messages.reply_added(added)
        replies.append(ctx.private_reply(said))
    if truncated:
        replies.append(ctx.private_reply(messages.text_truncated(MAX_TEXT_LENGTH)))
    if full:
        replies.append(ctx.private_reply(messages.words_full(full, MAX_WORDS_PER_CASE)))
    return replies


async def _more_words(ctx: Context, case: Case, text: str) -> str:
    """Adds as much of `text` to this reporter's words on `case` as its cap leaves room for,
    and returns what was added: one message is capped, and so is what many add up to."""
    held = sum(
        len(reporter.description)
        for reporter in await ctx.unit.cases.reporters(case.id)
        if reporter.person.id == ctx.person.id
    )
    kept = text[: max(0, MAX_WORDS_PER_CASE - held - 1)]  # 1 for the line they are joined by
    if kept:
        await ctx.unit.cases.add_words(case.id, ctx.person.id, kept)
    return kept


async def on_edit(ctx: Context) -> list[Outgoing]:
    """An edit that adds a link adds it to the message's case, and the reporter is told; an edit
    that changes only words changes nothing (the case keeps what was first reported)."""
    key = ctx.incoming.message_key
    cases = [] if key is None else await _cases_of(ctx, key)
    if not cases:
        return []
    known = {link.canonical for case in cases for link in await ctx.unit.cases.links(case.id)}
    added = [
        link
        for link in find_links(clean_text(ctx.incoming.text), ctx.incoming.links)
        if link.canonical not in known
    ]
    replies: list[Outgoing] = []
    words, truncated = capped(clean_text(ctx.incoming.text))
    joined = False
    case = cases[0]
    for link in added:
        elsewhere = await ctx.unit.cases.find_active_by_link(ctx.school.id, link.canonical)
        if elsewhere is not None:
            if await ctx.unit.cases.add_reporter(elsewhere.id, ctx.person.id, words, ctx.now):
                joined = True
                await ctx.audit(AuditAction.REPORTER_ADDED, elsewhere.id)
                replies.append(
                    ctx.reply(messages.already_logged(elsewhere.number), case_id=elsewhere.id)
                )
            await remember(ctx, elsewhere)
            continue
        await ctx.unit.cases.add_link(
            case.id, ctx.school.id, CaseLink(link.canonical, link.original, link.platform), ctx.now
        )
        if case.platform is Platform.UNKNOWN:
            case = dataclasses.replace(case, platform=link.platform, updated_at=ctx.now)
            await ctx.unit.cases.save(case)
        await ctx.audit(
            AuditAction.LINK_ADDED, case.id, LinkAddedBy.EDIT.value, link.platform.value
        )
        replies.append(ctx.reply(messages.link_added(case.number, link.platform), case_id=case.id))
    if joined and truncated:
        replies.append(ctx.reply(messages.text_truncated(MAX_TEXT_LENGTH)))
    ctx.count("edits_with_new_links", len(added))
    return replies


async def on_delete(ctx: Context) -> list[Outgoing]:
    """The message a case was made from is gone from the chat; the case stays as evidence and its
    timeline says so, for the leads."""
    key = ctx.incoming.message_key
    for case in [] if key is None else await _cases_of(ctx, key):
        await ctx.audit(AuditAction.ORIGINAL_DELETED, case.id)
    return []


async def _cases_of(ctx: Context, key: str) -> list[Case]:
    """The cases of this school a message made or joined, followed through any merge."""
    found: dict[int, Case] = {}
    for case_id in await ctx.unit.case_messages.cases(ctx.incoming.place.transport, key):
        case = await ctx.unit.cases.get(case_id)
        while case is not None and case.merged_into is not None:
            case = await ctx.unit.cases.get(case.merged_into)
        if case is not None and case.school_id == ctx.school.id:
            found.setdefault(case.id, case)
    return list(found.values())
