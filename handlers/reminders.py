"""The escalation ladder: which reminders a case should have, sending those due, and their buttons.

Which reminders are pending is worked out from the case itself (`reconcile`), every time the case
is saved, so closing, removing or reporting a case cancels or creates them without special cases.
Sending marks each row sent in the same transaction that queues its message in the outbox, so a
reminder is queued exactly once however many loops or processes share the database.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers import messages, questions
from handlers.context import Context, Request, leads_places
from handlers.escalation import ROUTES, escalated
from handlers.events import Button, Outgoing, PersonKey, Place, PlaceKind, Transport, User
from handlers.roles import is_lead
from handlers.settings import Config, RemindersConfig, SchoolConfig
from handlers.text import whole_number
from storage.models import (
    AuditAction,
    AuditEntry,
    Case,
    Conversation,
    Reminder,
    ReminderAnswer,
    ReminderKind,
    Status,
    police_matter,
)
from storage.unit import Unit

_PREFIX = "r"
_ANSWERS = {answer.value: answer for answer in ReminderAnswer}
# Which answers each kind of reminder offers: a forged button for another kind is refused.
_ANSWERS_BY_KIND = {
    ReminderKind.STILL_UP: frozenset({ReminderAnswer.STILL_UP, ReminderAnswer.REMOVED}),
    ReminderKind.ESCALATE: frozenset({ReminderAnswer.ESCALATED, ReminderAnswer.REMOVED}),
}
_FINISHED = (Status.CLOSED, Status.REMOVED)


# --- Working hours ----------------------------------------------------------------------------


def in_working_hours(moment: datetime, zone: ZoneInfo, hours: RemindersConfig) -> bool:
    local = moment.astimezone(zone)
    return (
        local.weekday() in hours.working_days
        and hours.working_start <= local.time().replace(tzinfo=None) < hours.working_end
    )


# --- Which reminders a case should have -------------------------------------------------------


def _active(case: Case) -> bool:
    """Still being followed up: not finished, and not merged into another case."""
    return case.status not in _FINISHED and case.merged_into is None


def _wanted(case: Case, ladder: RemindersConfig) -> dict[ReminderKind, datetime]:
    """The ladder reminders a case in this state should have pending, and when each is due."""
    wanted: dict[ReminderKind, datetime] = {}
    active = _active(case)
    if active and case.reported_to_platform_at is None:
        wanted[ReminderKind.NOT_REPORTED] = case.created_at + ladder.not_reported
    elif active and case.reported_to_platform_at is not None:
        since = case.checked_at or case.reported_to_platform_at
        wanted[ReminderKind.STILL_UP] = since + ladder.still_up
        if case.status is not Status.ESCALATED:
            wanted[ReminderKind.ESCALATE] = case.reported_to_platform_at + ladder.escalate
    return wanted


async def case_created(unit: Unit, case: Case, now: datetime, ladder: RemindersConfig) -> None:
    """The ladder reminders of a case just created: it has none yet to cancel or keep."""
    for kind, due in _wanted(case, ladder).items():
        await unit.reminders.add(case.id, kind, due, now)


async def reconcile(unit: Unit, case: Case, now: datetime, ladder: RemindersConfig) -> None:
    """Make the case's pending ladder reminders match its state: add missing, cancel stale."""
    wanted = _wanted(case, ladder)
    active = _active(case)
    for reminder in await unit.reminders.pending_for_case(case.id):
        if reminder.kind is ReminderKind.UNANSWERED:
            if not active:
                await unit.reminders.cancel(reminder.id, now)
        elif wanted.get(reminder.kind) != reminder.due_at:
            await unit.reminders.cancel(reminder.id, now)
    for kind, due in wanted.items():
        await unit.reminders.add(case.id, kind, due, now)


async def questions_started(
    unit: Unit, conversation: Conversation, now: datetime, ladder: RemindersConfig
) -> None:
    """One reminder to the reporter if the questions are still unanswered after a while."""
    await unit.reminders.add(
        conversation.case_ids[0],
        ReminderKind.UNANSWERED,
        now + ladder.unanswered,
        now,
        conversation_id=conversation.id,
    )


async def questions_finished(unit: Unit, conversation: Conversation, now: datetime) -> None:
    await unit.reminders.cancel_conversation(conversation.id, now)


# --- Sending what is due ----------------------------------------------------------------------


async def send_due(
    unit: Unit, now: datetime, config: Config, transports: frozenset[Transport]
) -> list[Outgoing]:
    """Messages for every reminder due now whose school is in working hours; each once."""
    replies: list[Outgoing] = []
    for reminder in await unit.reminders.due(now):
        case = await unit.cases.get(reminder.case_id)
        school = None if case is None else await unit.schools.get(case.school_id)
        school_config = None if school is None else config.school(school.name)
        if case is None or school is None or school_config is None:
            await unit.reminders.cancel(reminder.id, now)  # its school left the config
            continue
        if not in_working_hours(now, school_config.zone, config.reminders):
            continue
        if not await unit.reminders.mark_sent(reminder.id, now):
            continue
        replies.extend(await _messages(unit, reminder, case, school_config, transports, now))
        await unit.audit.append(
            AuditEntry(
                case.id, school.id, None, AuditAction.REMINDER, now, to_value=reminder.kind.value
            )
        )
    return replies


async def _messages(
    unit: Unit,
    reminder: Reminder,
    case: Case,
    school: SchoolConfig,
    transports: frozenset[Transport],
    now: datetime,
) -> list[Outgoing]:
    if reminder.kind is ReminderKind.UNANSWERED:
        return await _unanswered(unit, reminder, case)
    places = await _follow_up_places(unit, case, school, transports)
    if reminder.kind is ReminderKind.NOT_REPORTED:
        hours = int((now - case.created_at).total_seconds() // 3600)
        text = messages.reminder_not_reported(case.number, case.platform, hours)
        buttons: tuple[Button, ...] = ()
    elif reminder.kind is ReminderKind.STILL_UP:
        reported = case.reported_to_platform_at or case.created_at
        text = messages.reminder_still_up(case.number, case.platform, (now - reported).days)
        buttons = (
            Button(messages.STILL_UP, _button_value(reminder, ReminderAnswer.STILL_UP)),
            Button(messages.REMOVED, _button_value(reminder, ReminderAnswer.REMOVED)),
        )
    else:
        reported = case.reported_to_platform_at or case.created_at
        days = (now - reported).days
        police = police_matter(case.categories)
        text = messages.reminder_escalate(case.number, case.platform, days, police)
        buttons = (
            *(
                Button(label, _button_value(reminder, ReminderAnswer.ESCALATED, route.value))
                for route, label in messages.ESCALATED_BUTTONS.items()
            ),
            Button(messages.REMOVED, _button_value(reminder, ReminderAnswer.REMOVED)),
        )
    return [Outgoing(place=p, text=text, buttons=buttons, case_id=case.id) for p in places]


async def _unanswered(unit: Unit, reminder: Reminder, case: Case) -> list[Outgoing]:
    conversation = (
        None
        if reminder.conversation_id is None
        else await unit.conversations.get(reminder.conversation_id)
    )
    if conversation is None or conversation.finished_at is not None or not conversation.question:
        return []
    person = await unit.people.get(conversation.person_id)
    transport = Transport(conversation.place.transport)
    place = Place(transport, conversation.place.place_id, conversation.place.place_kind)
    user = None if person is None else User(transport, PersonKey.parse(person.key).id, person.name)
    question = questions.Question(conversation.question)
    return [
        Outgoing(
            place=place,
            text=messages.reminder_unanswered(case.number),
            thread=conversation.place.thread,
            to_user=user,
            case_id=case.id,
        ),
        Outgoing(
            place=place,
            text=questions.text_of(question),
            buttons=questions.buttons(conversation.id, question),
            thread=conversation.place.thread,
            to_user=user,
            case_id=case.id,
        ),
    ]


async def _follow_up_places(
    unit: Unit, case: Case, school: SchoolConfig, transports: frozenset[Transport]
) -> list[Place]:
    """The assignee's direct chat when they have one on a running transport, else the leads."""
    if case.assignee_id is not None:
        person = await unit.people.get(case.assignee_id)
        if person is not None:
            key = PersonKey.parse(person.key)
            if key.transport is not None and key.transport in transports:
                return [Place(key.transport, key.id, PlaceKind.DIRECT)]
    return leads_places(school, transports)


# --- The reminders' buttons -------------------------------------------------------------------


def is_reminder_button(value: str) -> bool:
    return value.startswith(f"{_PREFIX}:")


async def answer_button(request: Request, value: str) -> list[Outgoing]:
    """Still up / Removed / Escalated to …, pressed by a lead or the case's assignee.

    An escalation button names its route (`r:ID:escalated:posh`); one sent before buttons did
    (`r:ID:escalated`) still marks the case escalated, with no route."""
    parts = value.split(":")
    reminder = None
    reminder_id = whole_number(parts[1]) if len(parts) in (3, 4) else None
    answer = _ANSWERS.get(parts[2]) if reminder_id is not None else None
    route = ROUTES.get(parts[3]) if len(parts) == 4 else None
    if len(parts) == 4 and (route is None or answer is not ReminderAnswer.ESCALATED):
        answer = None
    if reminder_id is not None and answer is not None:
        reminder = await request.unit.reminders.get(reminder_id)
    case = None if reminder is None else await request.unit.cases.get(reminder.case_id)
    school = None if case is None else await request.unit.schools.get(case.school_id)
    school_config = None if school is None else request.config.school(school.name)
    if (
        answer is None
        or reminder is None
        or case is None
        or school is None
        or school_config is None
    ):
        return [request.private_reply(messages.STALE_BUTTON)]
    ctx = request.in_school(school, school_config)
    if not (is_lead(school_config, request.incoming.user) or case.assignee_id == ctx.person.id):
        await ctx.audit(
            AuditAction.REFUSED, case.id, to_value=answer.value, reason="not a lead or assignee"
        )
        return [ctx.private_reply(messages.REMINDER_NOT_YOURS)]
    if not is_current(reminder, answer):
        return [ctx.private_reply(messages.REMINDER_NOT_CURRENT)]
    answered = case.status not in _FINISHED and await ctx.unit.reminders.answer(
        reminder.id, answer, ctx.now
    )
    if not answered:
        return [ctx.private_reply(messages.STALE_BUTTON)]
    if answer is ReminderAnswer.STILL_UP:
        await save_case(ctx, dataclasses.replace(case, checked_at=ctx.now, updated_at=ctx.now))
        await ctx.audit(AuditAction.CHECKED, case.id, to_value="still up")
        hours = int(ctx.config.reminders.still_up.total_seconds() // 3600)
        text = messages.still_up_recorded(case.number, max(hours, 1))
    elif answer is ReminderAnswer.REMOVED:
        changed = dataclasses.replace(
            case,
            status=Status.REMOVED,
            removed_at=ctx.now,
            reported_to_platform_at=case.reported_to_platform_at or ctx.now,
            updated_at=ctx.now,
        )
        await save_case(ctx, changed)
        await ctx.audit(
            AuditAction.STATUS, case.id, from_value=case.status.value, to_value=Status.REMOVED.value
        )
        text = messages.status_set(case.number, Status.REMOVED)
    elif route is not None:
        await save_case(ctx, escalated(case, route, ctx.now))
        await ctx.audit(
            AuditAction.ESCALATED, case.id, from_value=case.status.value, to_value=route.value
        )
        text = messages.escalation_recorded(case.number, route)
    else:
        await save_case(ctx, dataclasses.replace(case, status=Status.ESCALATED, updated_at=ctx.now))
        await ctx.audit(
            AuditAction.STATUS,
            case.id,
            from_value=case.status.value,
            to_value=Status.ESCALATED.value,
        )
        text = messages.status_set(case.number, Status.ESCALATED)
    replies = [ctx.private_reply(text)]
    if request.incoming.message_ref is not None:
        replies.insert(
            0,
            Outgoing(
                place=request.incoming.place,
                text=text,
                replace_ref=request.incoming.message_ref,
                case_id=case.id,
            ),
        )
    return replies


def _button_value(reminder: Reminder, answer: ReminderAnswer, route: str | None = None) -> str:
    value = f"{_PREFIX}:{reminder.id}:{answer.value}"
    return value if route is None else f"{value}:{route}"


def is_current(reminder: Reminder, answer: ReminderAnswer) -> bool:
    """Only a reminder that was sent, and not cancelled since, takes an answer its kind offers.

    Telegram clients can send any callback data, so a button is never trusted to match the row.
    """
    return (
        reminder.sent_at is not None
        and reminder.cancelled_at is None
        and answer in _ANSWERS_BY_KIND.get(reminder.kind, frozenset())
    )


async def save_case(ctx: Context, case: Case) -> None:
    """Save a changed case and bring its reminders in line with it."""
    await ctx.unit.cases.save(case)
    await reconcile(ctx.unit, case, ctx.now, ctx.config.reminders)
