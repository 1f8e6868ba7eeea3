"""The domain's data: cases, conversations and audit entries as the repositories return them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import NewType


class Platform(StrEnum):
    TIKTOK = "tiktok"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"
    SNAPCHAT = "snapchat"
    X = "x"
    YOUTUBE = "youtube"
    THREADS = "threads"
    OTHER = "other"
    UNKNOWN = "unknown"


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    REPORTED = "reported"
    ESCALATED = "escalated"
    REMOVED = "removed"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Open means neither closed nor removed: the post may still be up and someone has work
        to do. `/cases`, the digest and `casebook stats` all use this one rule."""
        return self not in (Status.CLOSED, Status.REMOVED)


class Category(StrEnum):
    HARASSMENT = "harassment"
    HATE_HOMOPHOBIC = "hate-homophobic"
    HATE_TRANSPHOBIC = "hate-transphobic"
    HATE_RACIST = "hate-racist-faith"
    HATE_SEXIST = "hate-sexist"
    HATE_DISABILITY = "hate-disability"
    THREAT = "threat"
    IMPERSONATION = "impersonation"
    DEFAMATION = "false-allegation"
    SEXUALISED_IMAGE = "sexualised-image"
    DOXXING = "doxxing"
    OTHER = "other"


URGENT_CATEGORIES = frozenset({Category.THREAT, Category.DOXXING, Category.SEXUALISED_IMAGE})
HATE_CATEGORIES = frozenset(
    {
        Category.HATE_HOMOPHOBIC,
        Category.HATE_TRANSPHOBIC,
        Category.HATE_RACIST,
        Category.HATE_SEXIST,
        Category.HATE_DISABILITY,
    }
)
_POLICE_CATEGORIES = HATE_CATEGORIES | {Category.THREAT}


def police_matter(categories: Iterable[Category]) -> bool:
    """Whether staff are told to go to the police (999 in danger, 101 otherwise): a threat of
    violence, or hate, which can be a crime. The guidance after the questions and the
    escalation reminder both ask this one rule."""
    return not _POLICE_CATEGORIES.isdisjoint(categories)


class EscalationRoute(StrEnum):
    """Where a lead took a case the platform did not act on (`/cases escalated N ROUTE`)."""

    POSH = "posh"  # the Professionals Online Safety Helpline
    REPORT_HARMFUL_CONTENT = "report-harmful-content"
    POLICE = "police"


class Target(StrEnum):
    ME = "me"
    COLLEAGUE = "colleague"
    SEVERAL = "several-staff"
    SCHOOL = "school"


class ReportedToPlatform(StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class AuthorIsPupil(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ThreatAnswer(StrEnum):
    """The answer to "is there a threat or personal information?": it adds categories."""

    THREAT = "threat"
    PERSONAL = "personal"
    BOTH = "both"
    NEITHER = "neither"

    @property
    def categories(self) -> frozenset[Category]:
        return _THREAT_CATEGORIES[self]


_THREAT_CATEGORIES = {
    ThreatAnswer.THREAT: frozenset({Category.THREAT}),
    ThreatAnswer.PERSONAL: frozenset({Category.DOXXING}),
    ThreatAnswer.BOTH: frozenset({Category.THREAT, Category.DOXXING}),
    ThreatAnswer.NEITHER: frozenset[Category](),
}


class CloseReason(StrEnum):
    """Why a case was closed: a lead's reason, or the reporter withdrawing it."""

    DUPLICATE = "duplicate"
    NOT_ABUSE = "not-abuse"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"  # by its reporter: logged by mistake


# The reasons a lead may give with `/cases close`, in the order they are offered.
LEAD_CLOSE_REASONS = (CloseReason.DUPLICATE, CloseReason.NOT_ABUSE, CloseReason.RESOLVED)

# Closed cases the figures leave out: they were never a distinct piece of abuse.
NOT_COUNTED = frozenset({CloseReason.DUPLICATE, CloseReason.NOT_ABUSE, CloseReason.WITHDRAWN})


class AuditAction(StrEnum):
    """What an audit row records; the values are the text stored in the `audit` table."""

    CREATED = "created"
    REPORTER_ADDED = "reporter-added"
    WORDS_ADDED = "words-added"
    LINK_ADDED = "link-added"
    ORIGINAL_DELETED = "original-deleted"
    STATUS = "status"
    ASSIGNED = "assigned"
    NOTE = "note"
    URGENT = "urgent"
    CLOSED = "closed"
    REOPENED = "reopened"
    MERGED_FROM = "merged-from"
    MERGED_INTO = "merged-into"
    REFUSED = "refused"
    HOLD = "hold"
    UNHOLD = "unhold"
    REMINDER = "reminder"
    CHECKED = "checked"
    EXPORTED = "exported"
    EVIDENCE_REPORT = "evidence-report"
    ESCALATED = "escalated"  # to POSH, Report Harmful Content or the police (`to_value`)
    JOINED = "joined"  # became a lead of a hosted school with an invitation code
    LOCKED_OUT = "locked-out"  # too many wrong invitation codes
    INVITED = "invited"  # a lead asked for a new invitation code
    PLACE = "place"  # a lead claimed, changed or released a place from the chat
    ANSWERED = "answered"  # each answer, by early versions: read in old databases, never written


class LinkAddedBy(StrEnum):
    """How a link joined a case already logged: the `from_value` of its `link-added` audit row,
    so the timeline can say which (rows written before this have none)."""

    EDIT = "edit"  # the report's message was edited to hold it
    LATER_MESSAGE = "later-message"  # sent on its own after a report without a link


# Which chat transport something came through, by name ("slack", "console"): an open value, not
# an enum, because each adapter in bot/ names its own and the store only keeps the text.
Transport = NewType("Transport", str)
# The scheme of an erased person's key ("erased:7"), in place of their transport.
ERASED_SCHEME = "erased"


@dataclass(frozen=True)
class School:
    id: int
    name: str
    timezone: str


@dataclass(frozen=True)
class Person:
    id: int
    key: str  # "slack:U123", "telegram:42", "console:alex"
    name: str


@dataclass(frozen=True)
class CaseLink:
    canonical: str
    original: str
    platform: Platform


@dataclass(frozen=True)
class Case:
    id: int
    school_id: int
    number: int
    status: Status
    platform: Platform
    source: Transport
    created_at: datetime
    updated_at: datetime
    urgent: bool = False
    url: str | None = None
    targets: Target | None = None
    categories: frozenset[Category] = frozenset()
    reported_to_platform: ReportedToPlatform | None = None
    reported_to_platform_at: datetime | None = None
    author_is_pupil: AuthorIsPupil | None = None
    removed_at: datetime | None = None
    assignee_id: int | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    merged_into: int | None = None
    checked_at: datetime | None = None  # a lead last confirmed the post is still up
    legal_hold: str | None = None  # why retention must not purge this case
    purged_at: datetime | None = None  # identities, links and free text were removed then
    reporter_count: int | None = None  # kept when a purge removes the reporters themselves
    escalated_to: EscalationRoute | None = None  # where a lead first escalated the case
    escalated_at: datetime | None = None  # when: time to removal after escalation counts from it


@dataclass(frozen=True, slots=True)
class CaseTiming:
    """What the evidence figures read of a case: a tenth of a `Case`'s cost over 100 000 rows."""

    platform: Platform
    status: Status
    close_reason: CloseReason | None
    created_at: datetime
    reported_to_platform_at: datetime | None
    removed_at: datetime | None


@dataclass(frozen=True)
class NewCase:
    school_id: int
    platform: Platform
    source: Transport
    reporter_id: int
    description: str
    at: datetime
    link: CaseLink | None = None


@dataclass(frozen=True)
class Reporter:
    person: Person
    description: str
    reported_at: datetime


class PlaceKind(StrEnum):
    CHANNEL = "channel"  # a shared staff channel or group
    DIRECT = "direct"  # a private chat between one person and the bot
    LEADS = "leads"  # the safeguarding leads' channel of a school


@dataclass(frozen=True)
class ConversationPlace:
    """Where a conversation's questions go: transport, chat id, kind and thread."""

    transport: str
    place_id: str
    place_kind: PlaceKind
    thread: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: int
    school_id: int
    person_id: int
    place: ConversationPlace
    question: str | None
    case_ids: tuple[int, ...]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Note:
    case_id: int
    author: Person | None
    text: str
    at: datetime


@dataclass(frozen=True)
class AuditEntry:
    case_id: int | None
    school_id: int | None
    actor_id: int | None
    action: AuditAction
    at: datetime
    from_value: str | None = None
    to_value: str | None = None
    reason: str | None = None


_PERSON_REF = "person:"


def person_ref(person_id: int) -> str:
    """How an audit value names a person: by number, so erasing them never rewrites history."""
    return f"{_PERSON_REF}{person_id}"


def person_ref_id(value: str | None) -> int | None:
    """The person an audit value names, if it names one ("person:7" is 7)."""
    if value is None or not value.startswith(_PERSON_REF):
        return None
    number = value[len(_PERSON_REF) :]
    if 0 < len(number) <= 18 and number.isascii() and number.isdigit():
        return int(number)
    return None


class ReminderKind(StrEnum):
    UNANSWERED = "unanswered"
    NOT_REPORTED = "not_reported"
    STILL_UP = "still_up"
    ESCALATE = "escalate"


class ReminderAnswer(StrEnum):
    """A lead's answer to a still-up or escalation reminder: what became of the platform report."""

    STILL_UP = "up"
    REMOVED = "removed"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Reminder:
    id: int
    case_id: int
    kind: ReminderKind
    due_at: datetime
    conversation_id: int | None = None
    sent_at: datetime | None = None
    cancelled_at: datetime | None = None
    answered_at: datetime | None = None
    answer: ReminderAnswer | None = None


@dataclass(frozen=True)
class Fold:
    """A person's reports confirmed together (handlers/report_folds.py): the messages to send
    when it is due, as Outgoing payloads, and the case numbers they will name."""

    id: int
    school_id: int
    person_id: int
    reply: str
    alerts: tuple[str, ...]
    numbers: tuple[int, ...]  # for the reporter: every case their reports logged or joined
    new_numbers: tuple[int, ...]  # for the leads: the cases that are new
    due_at: datetime
    sent_at: datetime | None = None


@dataclass(frozen=True)
class InboxItem:
    id: int
    source: str
    event_id: str
    payload: str
    received_at: datetime
    attempts: int = 0


@dataclass(frozen=True)
class SetAsideItem:
    """An inbox item that failed again and again, or could not be read, kept for a person."""

    id: int
    source: str
    event_id: str
    received_at: datetime
    set_aside_at: datetime
    attempts: int
    error: str
    has_payload: bool


@dataclass(frozen=True)
class OutboxItem:
    id: int
    transport: str
    payload: str
    attempts: int
    case_id: int | None = None


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
