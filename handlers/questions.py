"""The follow-up questions: their order, their options, and how an answer changes a case, all
from one table (`TABLE`, at the end) that the Slack /report form is built from too.

The next question is always worked out from the stored case and conversation, never from memory,
so a restart resumes at the same place.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from handlers import messages
from handlers.events import Button
from handlers.text import whole_number
from storage.models import (
    URGENT_CATEGORIES,
    AuthorIsPupil,
    Case,
    Category,
    Platform,
    ReportedToPlatform,
    Target,
    ThreatAnswer,
)


class Question(StrEnum):
    PLATFORM = "platform"
    TARGETS = "targets"
    CATEGORIES = "categories"
    THREAT = "threat"
    REPORTED = "reported"
    AUTHOR = "author"


SKIP = "skip"
DONE = "done"
ORDER: tuple[Question, ...] = tuple(Question)
_BUTTON_PREFIX = "q"


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class ButtonAnswer:
    conversation_id: int
    question: Question
    value: str


def text_of(question: Question) -> str:
    return TABLE[question].text


def options(question: Question) -> list[Option]:
    """The answers offered, without Skip and Done, in the order they are numbered."""
    return list(TABLE[question].options)


def choices(question: Question) -> list[Option]:
    """Everything a person can pick, numbered from 1: the options, then Done, then Skip."""
    extra = [Option(DONE, messages.DONE_LABEL)] if TABLE[question].several else []
    return [*options(question), *extra, Option(SKIP, messages.SKIP_LABEL)]


def buttons(conversation_id: int, question: Question) -> tuple[Button, ...]:
    return tuple(
        Button(option.label, f"{_BUTTON_PREFIX}:{conversation_id}:{question.value}:{option.value}")
        for option in choices(question)
    )


def parse_button(value: str) -> ButtonAnswer | None:
    """Read a button value back; None for anything we did not make."""
    parts = value.split(":")
    number = whole_number(parts[1]) if len(parts) == 4 else None
    if number is None or parts[0] != _BUTTON_PREFIX:
        return None
    try:
        question = Question(parts[2])
    except ValueError:
        return None
    if parts[3] not in {option.value for option in choices(question)}:
        return None
    return ButtonAnswer(number, question, parts[3])


def parse_typed(question: Question, text: str) -> list[str] | None:
    """Typed answers: a number, label or value; for the kind of abuse, several numbers, with or
    without Done (`1 9`, `1 9 13`, `1 9 done`). None if unclear."""
    cleaned = _fold(text).rstrip(".!")
    if cleaned in messages.SKIP_WORDS:
        return [SKIP]
    offered = choices(question)
    tokens = [t for t in re.split(r"[\s,;]+", cleaned) if t]
    numbers = [_typed_number(offered, t) for t in tokens]
    if tokens and None not in numbers and len(tokens) <= len(offered):
        picked = []
        for index in numbers:
            if index is None or not 1 <= index <= len(offered):
                return None
            picked.append(offered[index - 1].value)
        several = len(set(picked)) > 1
        if several and (not TABLE[question].several or SKIP in picked):
            return None
        return list(dict.fromkeys(picked))
    for option in offered:
        if cleaned in (option.value, _fold(option.label)):
            return [option.value]
    return None


def _typed_number(offered: list[Option], token: str) -> int | None:
    """One of several typed picks as its number: `1 9 done` ends with Done as `1 9 13` does."""
    if token in (DONE, _fold(messages.DONE_LABEL)):
        return next((i for i, option in enumerate(offered, 1) if option.value == DONE), None)
    return whole_number(token, digits=3)


def _fold(text: str) -> str:
    """Typed text as compared with labels: lower case, phone punctuation made plain."""
    plain = text.translate(_PHONE_PUNCTUATION).strip().lower()
    return re.sub(r"\s+", " ", plain)


# Phones type curly quotes and apostrophes; labels are written with plain ones.
_PHONE_PUNCTUATION = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'}
)


def looks_like_an_answer(text: str) -> bool:
    """True for text that only makes sense as an answer, such as '2', 'skip' or 'yes'."""
    return any(parse_typed(q, text) is not None for q in ORDER)


def label(question: Question, value: str) -> str:
    for option in choices(question):
        if option.value == value:
            return option.label
    return value


def applies(question: Question, cases: list[Case]) -> bool:
    """A question is asked while some case still lacks its answer (a form may have given it)."""
    return any(TABLE[question].unanswered(c) for c in cases)


def first(cases: list[Case]) -> Question | None:
    return _next_from(0, cases)


def after(question: Question, cases: list[Case]) -> Question | None:
    return _next_from(ORDER.index(question) + 1, cases)


def _next_from(start: int, cases: list[Case]) -> Question | None:
    for question in ORDER[start:]:
        if applies(question, cases):
            return question
    return None


def apply(question: Question, value: str, case: Case, now: datetime) -> Case:
    """The case with this answer recorded; Skip and Done change nothing."""
    if value in (SKIP, DONE):
        return case
    changed = TABLE[question].record(case, value, now)
    if changed is case:
        return case
    urgent = case.urgent or bool(changed.categories & URGENT_CATEGORIES)
    return dataclasses.replace(changed, urgent=urgent, updated_at=now)


def set_categories(case: Case, values: list[str], now: datetime) -> Case:
    """Typed choices are added to the selection (typing `1 9` twice never undoes it)."""
    chosen = case.categories | frozenset(Category(v) for v in values if v not in (SKIP, DONE))
    urgent = case.urgent or bool(chosen & URGENT_CATEGORIES)
    return dataclasses.replace(case, categories=chosen, urgent=urgent, updated_at=now)


# --- The table: one row per question ----------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """Everything about one question: its wording, its answers, which case field it fills and
    how. The chat flow asks from it, the Slack /report form is built from it, and `field` names
    the case field (and the export column) the answer ends up in."""

    question: Question
    text: str
    options: tuple[Option, ...]
    field: str
    unanswered: Callable[[Case], bool]
    # The case with one answer recorded (its urgency and time are set by `apply`); the case
    # itself, unchanged, when the answer cannot change it.
    record: Callable[[Case, str, datetime], Case]
    several: bool = False  # more than one answer may be picked
    form_text: str | None = None  # its wording in a form that asks it up front; None: not asked


def _platform(case: Case, value: str, now: datetime) -> Case:
    if case.platform is not Platform.UNKNOWN:
        return case  # a detected platform is never overwritten by an answer
    return dataclasses.replace(case, platform=Platform(value))


def _reported(case: Case, value: str, now: datetime) -> Case:
    answer = ReportedToPlatform(value)
    return dataclasses.replace(
        case,
        reported_to_platform=answer,
        reported_to_platform_at=now if answer is ReportedToPlatform.YES else None,
    )


_THREAT_AND_DOXXING = frozenset({Category.THREAT, Category.DOXXING})

TABLE: dict[Question, Asked] = {
    row.question: row
    for row in (
        Asked(
            Question.PLATFORM,
            messages.Q_PLATFORM,
            tuple(
                Option(p.value, messages.PLATFORM_OPTION_LABELS[p])
                for p in Platform
                if p is not Platform.UNKNOWN
            ),
            field="platform",
            unanswered=lambda case: case.platform is Platform.UNKNOWN,
            record=_platform,
            form_text=messages.Q_PLATFORM,
        ),
        Asked(
            Question.TARGETS,
            messages.Q_TARGETS,
            tuple(Option(t.value, messages.TARGET_LABELS[t]) for t in Target),
            field="targets",
            unanswered=lambda case: case.targets is None,
            record=lambda case, value, now: dataclasses.replace(case, targets=Target(value)),
            form_text=messages.Q_TARGETS,
        ),
        Asked(
            Question.CATEGORIES,
            messages.Q_CATEGORIES,
            tuple(Option(c.value, messages.CATEGORY_LABELS[c]) for c in Category),
            field="categories",
            unanswered=lambda case: not case.categories,
            # A pressed button toggles its choice; typed choices go through set_categories.
            record=lambda case, value, now: dataclasses.replace(
                case, categories=case.categories ^ {Category(value)}
            ),
            several=True,
            form_text=messages.Q_CATEGORIES_FORM,
        ),
        Asked(
            Question.THREAT,
            messages.Q_THREAT,
            tuple(Option(t.value, messages.THREAT_LABELS[t]) for t in ThreatAnswer),
            field="categories",
            unanswered=lambda case: not case.categories >= _THREAT_AND_DOXXING,
            record=lambda case, value, now: dataclasses.replace(
                case, categories=case.categories | ThreatAnswer(value).categories
            ),
        ),
        Asked(
            Question.REPORTED,
            messages.Q_REPORTED,
            tuple(Option(r.value, messages.REPORTED_LABELS[r]) for r in ReportedToPlatform),
            field="reported_to_platform",
            unanswered=lambda case: case.reported_to_platform is None,
            record=_reported,
            form_text=messages.Q_REPORTED,
        ),
        Asked(
            Question.AUTHOR,
            messages.Q_AUTHOR,
            tuple(Option(a.value, messages.AUTHOR_LABELS[a]) for a in AuthorIsPupil),
            field="author_is_pupil",
            unanswered=lambda case: case.author_is_pupil is None,
            record=lambda case, value, now: dataclasses.replace(
                case, author_is_pupil=AuthorIsPupil(value)
            ),
            form_text=messages.Q_AUTHOR,
        ),
    )
}
# The questions a form asks up front, in order; the threat question is left to the chat.
FORM: tuple[Asked, ...] = tuple(row for row in TABLE.values() if row.form_text is not None)
