"""A flood of reports from one person: every report is still a case, but the replies fold.

One person made 300 cases in six seconds; storing each was right, but they got 604 messages and
the leads 58. After FOLD_AFTER reports in FOLD_WINDOW, a person's further reports are stored as
usual, and what would be said about them waits in a fold: one message to the reporter naming the
cases ("3 more reports logged: #41 to #43"), and one alert to each leads' place naming the count,
sent when the fold is due, FOLD_EVERY after it was begun. Reports that come before then join it.
No follow-up questions are asked about folded reports: asking is the flood.

The fold is written in the transaction that stores the case, and the scheduler's round turns a
due fold into outbox rows in the transaction that marks it sent, so a restart neither loses nor
repeats one. An urgent report is never folded: it is answered and alerted at once, as always.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from handlers import messages
from handlers.context import Context, leads_places
from handlers.events import Outgoing, Transport
from storage.unit import Unit

FOLD_AFTER = 10  # reports a person may make in FOLD_WINDOW before their replies fold
FOLD_WINDOW = timedelta(minutes=10)
FOLD_EVERY = timedelta(minutes=1)  # a fold is sent this long after its first report


async def flooding(ctx: Context) -> bool:
    """Whether this person already made FOLD_AFTER reports in this school in FOLD_WINDOW."""
    since = ctx.now - FOLD_WINDOW
    return await ctx.unit.folds.reports_since(ctx.school.id, ctx.person.id, since) >= FOLD_AFTER


async def fold(ctx: Context, numbers: list[int], new_numbers: list[int]) -> None:
    """Add a report's cases to the person's waiting fold, beginning one if there is none."""
    waiting = await ctx.unit.folds.waiting(ctx.school.id, ctx.person.id)
    if waiting is None:
        alerts = [
            Outgoing(place=place, text="").to_json()
            for place in leads_places(ctx.school_config, ctx.transports)
        ]
        fold_id = await ctx.unit.folds.start(
            ctx.school.id,
            ctx.person.id,
            ctx.reply("").to_json(),
            alerts,
            ctx.now,
            ctx.now + FOLD_EVERY,
        )
    else:
        fold_id = waiting.id
    await ctx.unit.folds.add_numbers(fold_id, numbers, new_numbers)


async def send_due(unit: Unit, now: datetime, transports: frozenset[Transport]) -> list[Outgoing]:
    """The messages of every fold due by `now`, each fold marked sent in the caller's
    transaction (which queues these messages), so each is sent once."""
    due: list[Outgoing] = []
    for waiting in await unit.folds.due(now):
        if not await unit.folds.mark_sent(waiting.id, now):
            continue
        reply = Outgoing.from_json(waiting.reply)
        if waiting.numbers and reply.place.transport in transports:
            text = messages.reports_folded(list(waiting.numbers))
            due.append(dataclasses.replace(reply, text=text))
        for raw in waiting.alerts if waiting.new_numbers else ():
            alert = Outgoing.from_json(raw)
            if alert.place.transport in transports:
                text = messages.reports_folded_alert(list(waiting.new_numbers))
                due.append(dataclasses.replace(alert, text=text))
    return due
