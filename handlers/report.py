"""Intake: a report becomes a case at once, then the reporter is asked the follow-up questions.

Answers are not audited one by one (they are the case's fields, and the reporter is their only
author); the audit records the case being logged, becoming urgent, and its status changing when
the questions are done.

The case row is written in the same transaction as every reply, and replies go through the
outbox, so nothing is said about a case that is not stored.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from enum import StrEnum

from handlers import messages, questions, reminders, report_folds, threads
from handlers.context import Context, leads_places
from handlers.events import Button, Outgoing, PersonKey, Place, PlaceKind, Transport, User
from handlers.links import Link, canonicalise, extract_urls, find_links
from handlers.questions import Question
from handlers.reminders import save_case
from handlers.settings import FollowUp
from handlers.text import MAX_TEXT_LENGTH, capped, clean_text
from storage.models import (
    AuditAction,
    Case,
    CaseLink,
    Category,
    Conversation,
    ConversationPlace,
    LinkAddedBy,
    NewCase,
    Platform,
    ReportedToPlatform,
    Status,
    police_matter,
)


class Outcome(StrEnum):
    """What logging one link did: a new case, a new reporter on an open one, or nothing new."""

    CREATED = "created"
    JOINED = "joined"  # another person had already reported it
    OWN = "own"  # this person had already reported it


WITHDRAW_PREFIX = "w"
# How long after a report without a link its link, sent on its own, is added to it: the time the
# reporter is told they have to send it (messages.case_logged_no_link says so).
LINK_WINDOW = timedelta(minutes=30)
GREETING_WORDS = 3
MAX_LINKS_PER_MESSAGE = 10
# Links Casebook cannot use: script and data schemes, and any `scheme://` that is not the web.
_NON_WEB_LINK = re.compile(
    r"\b(?:javascript|data|vbscript|file):|\b(?!https?://)[a-z][a-z0-9+.-]*://", re.IGNORECASE
)


async def on_message(ctx: Context, text: str) -> list[Outgoing]:
    """A plain message: an answer to the open question (only where it was asked), a reply that
    joins a logged message's case, or a new report."""
    cleaned = clean_text(text)
    links = find_links(cleaned, ctx.incoming.links)
    if not cleaned and not links:
        empty = messages.IMAGE_NOT_KEPT if ctx.incoming.media else messages.EMPTY_MESSAGE
        return [ctx.reply(empty)]
    if not links:
        conversation = await ctx.unit.conversations.current(ctx.person.id)
        waiting = conversation is not None and conversation.question is not None
        if conversation is not None and waiting and _asked_here(ctx, conversation):
            return await answer_typed(ctx, conversation, cleaned)
        if ctx.incoming.reply_to is not None:
            joined = await threads.on_reply(ctx, cleaned)
            if joined is not None:
                return joined
            if not ctx.incoming.to_bot:
                ctx.count("thread_replies_ignored")
                return []  # a conversation under some other message, not a report
        if questions.looks_like_an_answer(cleaned):
            return [
                ctx.reply(messages.ANSWER_WHERE_ASKED if waiting else messages.NO_OPEN_QUESTION)
            ]
        if ctx.incoming.place.kind is PlaceKind.DIRECT and _is_a_greeting(cleaned):
            return [ctx.reply(messages.DIRECT_HELLO)]
    if len(links) == 1:
        added = await _link_for_earlier_report(ctx, cleaned, links[0])
        if added is not None:
            return added
    return await new_report(ctx, cleaned, links)


async def _link_for_earlier_report(ctx: Context, text: str, link: Link) -> list[Outgoing] | None:
    """The link the reporter was asked for after a report without one ("If you have a link…,
    send it"), added to that case rather than made a second one. None when this is a report
    of its own: the link is logged already, the last report had a link, or was made elsewhere
    or longer ago than LINK_WINDOW. Found from the stored conversation, so a restart between
    the two messages changes nothing."""
    conversation = await ctx.unit.conversations.latest(ctx.person.id)
    if (
        conversation is None
        or len(conversation.case_ids) != 1
        or ctx.now - conversation.created_at > LINK_WINDOW
        or conversation.place != _conversation_place(ctx)
        or await ctx.unit.cases.find_active_by_link(ctx.school.id, link.canonical) is not None
    ):
        return None
    case = await ctx.unit.cases.get(conversation.case_ids[0])
    if (
        case is None
        or case.school_id != ctx.school.id
        or case.status is Status.CLOSED
        or case.merged_into is not None
        or await ctx.unit.cases.links(case.id)
    ):
        return None
    await ctx.unit.cases.add_link(
        case.id, ctx.school.id, CaseLink(link.canonical, link.original, link.platform), ctx.now
    )
    if case.platform is Platform.UNKNOWN:
        case = dataclasses.replace(case, platform=link.platform, updated_at=ctx.now)
        await save_case(ctx, case)
    await ctx.audit(
        AuditAction.LINK_ADDED, case.id, LinkAddedBy.LATER_MESSAGE.value, link.platform.value
    )
    words, truncated = capped(" ".join(_words_without_links(text).split()))
    if words:
        await ctx.unit.cases.add_words(case.id, ctx.person.id, words)
    await threads.remember(ctx, case)
    ctx.count("late_links_added")
    replies = [ctx.reply(messages.late_link_added(case.number, case.platform), case_id=case.id)]
    if truncated:
        replies.append(ctx.reply(messages.text_truncated(MAX_TEXT_LENGTH)))
    if conversation.finished_at is None and conversation.question == Question.PLATFORM.value:
        # The link answered the platform question: go on to the next one.
        following = questions.after(Question.PLATFORM, [case])
        if following is None:
            return replies + await _finish(ctx, conversation, [case])
        await ctx.unit.conversations.set_question(conversation.id, following.value, ctx.now)
        replies.append(_ask(ctx, conversation, following, [case]))
    return replies


def _conversation_place(ctx: Context) -> ConversationPlace:
    """Where this message's follow-up questions would be asked: as a report's are stored."""
    place = ctx.reporter_place()
    return ConversationPlace(place.transport, place.id, place.kind, ctx.reporter_thread())


def _words_without_links(text: str) -> str:
    """The words of a message without its links."""
    for url in extract_urls(text):
        text = text.replace(url, " ")
    return text


def _is_a_greeting(text: str) -> bool:
    """A few words with no link, in a direct chat ("hello", "hi there"): the person may not mean
    to report anything yet, so they are asked rather than given a case. In a report channel
    every message is a report, and `/report` always is."""
    return len(text.split()) <= GREETING_WORDS


async def on_report_command(ctx: Context, text: str) -> list[Outgoing]:
    """`/report …` is always a new report, even while a question is open."""
    cleaned = clean_text(text)
    links = find_links(cleaned, ctx.incoming.links)
    if not cleaned and not links:
        return [ctx.reply(messages.REPORT_NEEDS_TEXT)]
    return await new_report(ctx, cleaned, links)


def withdraw_button(case: Case) -> Button:
    """ "Not a report" on the first reply: see handlers/withdraw.py, which answers it."""
    return Button(messages.NOT_A_REPORT, f"{WITHDRAW_PREFIX}:{case.id}")


async def new_report(ctx: Context, text: str, links: list[Link]) -> list[Outgoing]:
    """Log the report's cases, then answer, alert the leads and ask the questions; or, for a
    person sending a flood of reports, add them to the one reply a minute that names them
    (handlers/report_folds.py), unless one is urgent."""
    folding = await report_folds.flooding(ctx)
    logged: list[Case] = []
    replies: list[Outgoing] = []
    description, truncated = capped(text)
    kept, dropped = links[:MAX_LINKS_PER_MESSAGE], links[MAX_LINKS_PER_MESSAGE:]
    created: list[Case] = []
    targets: list[Link | None] = [*kept] if kept else [None]
    ctx.count("reports_received")
    for link in targets:
        case, outcome = await _log_one(ctx, description, link)
        logged.append(case)
        await threads.remember(ctx, case)
        if outcome is not Outcome.OWN:
            ctx.count("cases_created" if outcome is Outcome.CREATED else "duplicates_joined")
        if outcome is Outcome.CREATED:
            created.append(case)
            text_for_reporter = (
                messages.case_logged(case.number, case.platform)
                if link is not None
                else messages.case_logged_no_link(case.number)
            )
        elif outcome is Outcome.JOINED:
            text_for_reporter = messages.already_logged(case.number)
        else:
            text_for_reporter = messages.already_reported_by_you(case.number)
        buttons = (withdraw_button(case),) if outcome is Outcome.CREATED else ()
        replies.append(ctx.reply(text_for_reporter, buttons=buttons, case_id=case.id))
    if dropped:
        replies.append(ctx.reply(messages.too_many_links(len(kept), len(dropped))))
    if truncated:
        replies.append(ctx.reply(messages.text_truncated(MAX_TEXT_LENGTH)))
    urls = [*ctx.incoming.links, *extract_urls(text)]
    if _NON_WEB_LINK.search(text) or any(canonicalise(u) is None for u in urls):
        replies.append(ctx.reply(messages.IGNORED_LINKS))
    for case in created:
        text = messages.new_case_alert(case.number, case.platform)
        replies.extend(_alert(ctx, text, case, combine=True))
    if created and ctx.incoming.form:
        before, created = created, await _apply_form(ctx, created, ctx.incoming.form)
        replies.extend(await _urgent_alerts(ctx, before, created))
    if folding and not any(case.urgent for case in created):
        await report_folds.fold(ctx, [c.number for c in logged], [c.number for c in created])
        return []
    if created and ctx.incoming.anonymous:
        replies.append(ctx.reply(messages.ANONYMOUS_ADMIN))
    elif created:
        replies.extend(await _start_questions(ctx, created))
    return replies


def _asked_here(ctx: Context, conversation: Conversation) -> bool:
    """Answers are read only where the question was asked: the reporter's direct chat, or the
    report's thread in thread mode. A reply to one of Casebook's own messages is addressed to it,
    and the terminal has one stream for everything."""
    incoming = ctx.incoming
    where = conversation.place
    one_stream = ctx.school_config.on(incoming.place.transport).follow_up is FollowUp.STREAM
    if one_stream or incoming.to_bot:
        return where.transport == incoming.place.transport
    if where.transport != incoming.place.transport or where.place_id != incoming.place.id:
        return False
    return where.place_kind is PlaceKind.DIRECT or where.thread == incoming.thread


async def _apply_form(
    ctx: Context, cases: list[Case], form: tuple[tuple[str, str], ...]
) -> list[Case]:
    """Answers given up front (Slack's /report form); only the rest are asked afterwards."""
    answered: dict[Question, list[str]] = {}
    for key, value in form:
        try:
            question = Question(key)
        except ValueError:
            continue
        if value in {option.value for option in questions.options(question)}:
            answered.setdefault(question, []).append(value)
    updated = []
    for case in cases:
        changed = case
        for question, values in answered.items():
            if question is Question.CATEGORIES:
                changed = questions.set_categories(changed, values, ctx.now)
            else:
                changed = questions.apply(question, values[0], changed, ctx.now)
        if changed != case:
            await save_case(ctx, changed)
        updated.append(changed)
    return updated


async def answer_typed(ctx: Context, conversation: Conversation, text: str) -> list[Outgoing]:
    assert conversation.question is not None
    question = Question(conversation.question)
    values = questions.parse_typed(question, text)
    if values is None:
        return [
            ctx.reply(messages.NOT_UNDERSTOOD),
            _ask(ctx, conversation, question, await _cases(ctx, conversation)),
        ]
    return await _answer(ctx, conversation, question, values)


async def waiting_question(ctx: Context) -> list[Outgoing]:
    """The question this person's conversation is waiting on, asked again (after a restart)."""
    conversation = await ctx.unit.conversations.current(ctx.person.id)
    if conversation is None or conversation.question is None:
        return []
    cases = await _cases(ctx, conversation)
    if not cases:
        return []
    return [
        ctx.reply(messages.question_resumed(cases[0].number)),
        _ask(ctx, conversation, Question(conversation.question), cases),
    ]


async def answer_button(ctx: Context, value: str) -> list[Outgoing]:
    answer = questions.parse_button(value)
    conversation = (
        None if answer is None else await ctx.unit.conversations.get(answer.conversation_id)
    )
    if (
        answer is None
        or conversation is None
        or conversation.person_id != ctx.person.id
        or conversation.question != answer.question.value
    ):
        return [ctx.reply(messages.STALE_BUTTON)]
    replies = []
    if ctx.incoming.message_ref is not None:
        shown = questions.label(answer.question, answer.value)
        replies.append(
            Outgoing(
                place=ctx.incoming.place,
                text=messages.answer_recorded(questions.text_of(answer.question), shown),
                thread=ctx.incoming.thread,
                to_user=ctx.incoming.user,
                replace_ref=ctx.incoming.message_ref,
            )
        )
    return replies + await _answer(ctx, conversation, answer.question, [answer.value], typed=False)


async def _log_one(ctx: Context, description: str, link: Link | None) -> tuple[Case, Outcome]:
    """Create a case for this link, or join the open case that already holds it."""
    if link is not None:
        existing = await ctx.unit.cases.find_active_by_link(ctx.school.id, link.canonical)
        if existing is not None:
            added = await ctx.unit.cases.add_reporter(
                existing.id, ctx.person.id, description, ctx.now
            )
            if added:
                await ctx.audit(AuditAction.REPORTER_ADDED, existing.id)
                return existing, Outcome.JOINED
            return existing, Outcome.OWN
    case = await ctx.unit.cases.create(
        NewCase(
            school_id=ctx.school.id,
            platform=Platform.UNKNOWN if link is None else link.platform,
            source=ctx.incoming.place.transport,
            reporter_id=ctx.person.id,
            description=description,
            at=ctx.now,
            link=None if link is None else CaseLink(link.canonical, link.original, link.platform),
        )
    )
    await ctx.audit(AuditAction.CREATED, case.id, to_value=Status.NEW.value)
    await reminders.case_created(ctx.unit, case, ctx.now, ctx.config.reminders)
    return case, Outcome.CREATED


async def _start_questions(ctx: Context, cases: list[Case]) -> list[Outgoing]:
    question = questions.first(cases)
    conversation = await ctx.unit.conversations.start(
        school_id=ctx.school.id,
        person_id=ctx.person.id,
        place=_conversation_place(ctx),
        case_ids=[c.id for c in cases],
        question=None if question is None else question.value,
        at=ctx.now,
    )
    numbers = [c.number for c in cases]
    intro = (
        messages.question_intro(numbers[0])
        if len(numbers) == 1
        else messages.questions_for_cases(numbers)
    )
    if question is None:
        return await _finish(ctx, conversation, cases)
    await reminders.questions_started(ctx.unit, conversation, ctx.now, ctx.config.reminders)
    return [_ask(ctx, conversation, question, cases, intro=intro)]


async def _answer(
    ctx: Context,
    conversation: Conversation,
    question: Question,
    values: list[str],
    typed: bool = True,
) -> list[Outgoing]:
    """Record an answer. For the kind of abuse, choices are picked (a typed one is added, a
    pressed one toggles) and the question stays open until Done or Skip, however it is given."""
    # A case closed while its questions were open (by a version that did not end them) is
    # never changed by a late answer.
    before = [c for c in await _cases(ctx, conversation) if c.status is not Status.CLOSED]
    if not before:
        await ctx.unit.conversations.finish(conversation.id, ctx.now)
        await reminders.questions_finished(ctx.unit, conversation, ctx.now)
        return [ctx.reply(messages.NO_OPEN_QUESTION)]
    ctx.count("questions_answered")
    picks = [v for v in values if v not in (questions.SKIP, questions.DONE)]
    if question is Question.CATEGORIES and picks and typed:
        after = [questions.set_categories(c, picks, ctx.now) for c in before]
    else:
        after = [questions.apply(question, values[0], c, ctx.now) for c in before]
    for old, new in zip(before, after, strict=True):
        if new != old:
            await save_case(ctx, new)
    replies = await _urgent_alerts(ctx, before, after)
    if question is Question.CATEGORIES and questions.DONE not in values and picks:
        chosen = sorted(after[0].categories, key=list(Category).index)
        replies.append(
            ctx.reply(
                messages.categories_chosen([messages.CATEGORY_LABELS[c] for c in chosen]),
                buttons=questions.buttons(conversation.id, question),
            )
        )
        return replies
    following = questions.after(question, after)
    if following is None:
        return replies + await _finish(ctx, conversation, after)
    await ctx.unit.conversations.set_question(conversation.id, following.value, ctx.now)
    return [*replies, _ask(ctx, conversation, following, after)]


async def _finish(ctx: Context, conversation: Conversation, cases: list[Case]) -> list[Outgoing]:
    """Questions done: the case is open (or reported), and the reporter gets guidance."""
    await ctx.unit.conversations.finish(conversation.id, ctx.now)
    await reminders.questions_finished(ctx.unit, conversation, ctx.now)
    for case in cases:
        if case.status is Status.NEW:
            status = (
                Status.REPORTED
                if case.reported_to_platform is ReportedToPlatform.YES
                else Status.OPEN
            )
            await save_case(ctx, dataclasses.replace(case, status=status, updated_at=ctx.now))
            await ctx.audit(
                AuditAction.STATUS, case.id, from_value=Status.NEW.value, to_value=status.value
            )
    platforms = list(dict.fromkeys(c.platform for c in cases))
    urgent = any(c.urgent for c in cases)
    police = any(police_matter(c.categories) for c in cases)
    replies = [
        ctx.reply(messages.questions_finished([c.number for c in cases])),
        ctx.reply(messages.guidance(platforms, urgent=urgent, police=police)),
    ]
    waiting = await ctx.unit.conversations.current(ctx.person.id)
    if waiting is not None and waiting.question is not None:
        earlier = await _cases(ctx, waiting)
        replies.append(ctx.reply(messages.question_resumed(earlier[0].number)))
        replies.append(_ask(ctx, waiting, Question(waiting.question), earlier))
    return replies


async def end_questions(ctx: Context, case: Case, notice: str | None) -> list[Outgoing]:
    """A closed case is asked about no more, and each reporter still being asked is told so
    (with `notice`; None when the reporter closed it themselves).

    Otherwise their answers would go on changing a closed case (or a merged duplicate), and
    "Back to case #N" would bring back questions about it.
    """
    replies: list[Outgoing] = []
    for conversation in await ctx.unit.conversations.active_for_case(case.id):
        await ctx.unit.conversations.drop_case(conversation.id, case.id)
        ended = conversation.case_ids == (case.id,)
        if ended:
            await ctx.unit.conversations.finish(conversation.id, ctx.now)
            await reminders.questions_finished(ctx.unit, conversation, ctx.now)
        person = await ctx.unit.people.get(conversation.person_id)
        if person is None or Transport(conversation.place.transport) not in ctx.transports:
            continue
        if notice is not None:
            replies.append(_to_reporter(conversation, person.key, notice, case_id=case.id))
        waiting = await ctx.unit.conversations.current(person.id) if ended else None
        if waiting is not None and waiting.question is not None:
            earlier = await _cases(ctx, waiting)
            question = Question(waiting.question)
            replies.append(
                _to_reporter(waiting, person.key, messages.question_resumed(earlier[0].number))
            )
            replies.append(
                _to_reporter(
                    waiting,
                    person.key,
                    questions.text_of(question),
                    buttons=questions.buttons(waiting.id, question),
                )
            )
    return replies


def _to_reporter(
    conversation: Conversation,
    person_key: str,
    text: str,
    buttons: tuple[Button, ...] = (),
    case_id: int | None = None,
) -> Outgoing:
    """A message to a reporter where their questions are asked, when they did not just write."""
    transport = Transport(conversation.place.transport)
    return Outgoing(
        place=Place(transport, conversation.place.place_id, conversation.place.place_kind),
        text=text,
        buttons=buttons,
        thread=conversation.place.thread,
        to_user=User(transport, PersonKey.parse(person_key).id, ""),
        case_id=case_id,
    )


def _ask(
    ctx: Context, conversation: Conversation, question: Question, cases: list[Case], intro: str = ""
) -> Outgoing:
    """The question as one message, with what introduces it (the first question after a report)
    on the line before: one message asks, not two."""
    text = questions.text_of(question)
    if question is Question.CATEGORIES and cases and cases[0].categories:
        chosen = sorted(cases[0].categories, key=list(Category).index)
        text += "\n" + messages.categories_chosen([messages.CATEGORY_LABELS[c] for c in chosen])
    if intro:
        text = f"{intro}\n{text}"
    return ctx.reply(text, buttons=questions.buttons(conversation.id, question))


async def _urgent_alerts(ctx: Context, before: list[Case], after: list[Case]) -> list[Outgoing]:
    replies: list[Outgoing] = []
    became_urgent = [
        new for old, new in zip(before, after, strict=True) if new.urgent and not old.urgent
    ]
    for case in became_urgent:
        await ctx.audit(AuditAction.URGENT, case.id, from_value="no", to_value="yes")
        kinds = [
            messages.CATEGORY_LABELS[c] for c in sorted(case.categories, key=list(Category).index)
        ]
        replies.extend(
            _alert(ctx, messages.urgent_case_alert(case.number, case.platform, kinds), case)
        )
    if became_urgent:
        replies.insert(0, ctx.reply(messages.URGENT_DANGER))
    return replies


def _alert(ctx: Context, text: str, case: Case, combine: bool = False) -> list[Outgoing]:
    """The alert to each leads' place. A new case's may share a message with the next ones
    (a burst of reports is one list to the leads); an urgent one always stands alone."""
    return [
        Outgoing(place=place, text=text, case_id=case.id, combine=combine)
        for place in leads_places(ctx.school_config, ctx.transports)
    ]


async def _cases(ctx: Context, conversation: Conversation) -> list[Case]:
    found = [await ctx.unit.cases.get(case_id) for case_id in conversation.case_ids]
    return [case for case in found if case is not None]
