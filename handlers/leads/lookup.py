"""What the lead commands share: finding a case of the lead's school, and naming people, times
and kinds as a lead reads them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from handlers import messages
from handlers.context import Context
from handlers.events import Outgoing, PersonKey
from storage.models import Case, Category, Person, Status

_CASE_NUMBER = re.compile(r"^#?(\d{1,9})$")

Command = Callable[[Context, list[str]], Awaitable[list[Outgoing]]]


class Refusal(Exception):
    """A command that cannot go ahead: a code for the audit (never the user's own words, which
    the append-only audit could not forget) and a polite message for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_case_number(word: str) -> bool:
    """`14` or `#14`: "/cases 14" is "/cases show 14"."""
    return _CASE_NUMBER.match(word) is not None


async def find_case(ctx: Context, args: list[str]) -> Case:
    """The case numbered in args[0], of this school only."""
    match = _CASE_NUMBER.match(args[0]) if args else None
    if match is None:
        raise Refusal("case-number-needed", messages.CASE_NUMBER_NEEDED)
    case = await ctx.unit.cases.by_number(ctx.school.id, int(match.group(1)))
    if case is None:
        raise Refusal("no-such-case", messages.no_such_case(match.group(1).lstrip("0") or "0"))
    return case


async def find_open_case(ctx: Context, args: list[str]) -> Case:
    case = await find_case(ctx, args)
    if case.status is Status.CLOSED:
        raise Refusal("closed", messages.case_closed_already(case.number))
    return case


async def person_name(ctx: Context, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await ctx.unit.people.get(person_id)
    return None if person is None else name(person)


def name(person: Person) -> str:
    return person.name or PersonKey.parse(person.key).id


def when(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ctx.school_config.zone).strftime("%d %b %Y %H:%M %Z")


def category_labels(case: Case) -> list[str]:
    return [messages.CATEGORY_LABELS[c] for c in Category if c in case.categories]
