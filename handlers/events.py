"""Transport-neutral events: what adapters turn platform events into, and what handlers send back.

They are plain frozen dataclasses so they can be serialised into the inbox and outbox tables and
replayed after a restart without any platform library.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

# Storage writes an erased person's key, and the kinds of place a conversation keeps.
from storage.models import ERASED_SCHEME
from storage.models import PlaceKind as PlaceKind

# Defined with the stored data (a case keeps its transport), named here with the events.
from storage.models import Transport as Transport

T = TypeVar("T")


class IncomingKind(StrEnum):
    MESSAGE = "message"
    COMMAND = "command"
    BUTTON = "button"
    EDIT = "edit"  # a message was changed: `message_key` says which, `text` is its new text
    DELETE = "delete"  # a message was deleted: `message_key` says which
    ADDED = "added"  # the bot was added to a group that belongs to no school
    REMOVED = "removed"  # the bot was removed from a group (or a channel): it is gone
    MOVED = "moved"  # the platform gave the place a new id, in `text` (a group upgraded)


@dataclass(frozen=True)
class PersonKey:
    """A person's identity across the database, stored as "transport:id" ("slack:U123").

    An erased person's key names no transport ("erased:7"), so the scheme is kept as written
    and `transport` is None for it.
    """

    scheme: str
    id: str

    @classmethod
    def of(cls, transport: Transport, platform_id: str) -> PersonKey:
        return cls(transport, platform_id)

    @classmethod
    def parse(cls, key: str) -> PersonKey:
        scheme, _, platform_id = key.partition(":")
        return cls(scheme, platform_id)

    @property
    def transport(self) -> Transport | None:
        """The transport this person is reached on; None for an erased one."""
        return None if self.scheme in ("", ERASED_SCHEME) else Transport(self.scheme)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.id}"


@dataclass(frozen=True)
class User:
    transport: Transport
    id: str
    name: str = ""

    @property
    def key(self) -> str:
        """A stable identity across the database: transport plus platform id."""
        return str(PersonKey.of(self.transport, self.id))


@dataclass(frozen=True)
class Place:
    transport: Transport
    id: str
    kind: PlaceKind = PlaceKind.CHANNEL


@dataclass(frozen=True)
class Button:
    label: str
    value: str


HTML_PAGE = "text/html"  # an attachment's type when it is a web page to open, not text to read


@dataclass(frozen=True)
class Attachment:
    """A small file sent with a message: a CSV export, the digest's chart or an evidence page."""

    name: str
    data: bytes
    mime: str = "text/csv"

    @property
    def is_text(self) -> bool:
        return self.mime.startswith("text/")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "data": base64.b64encode(self.data).decode(), "mime": self.mime}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Attachment:
        return cls(data["name"], base64.b64decode(data["data"]), data.get("mime", "text/csv"))


PAYLOAD_FORMAT = 3  # written into every queued payload; bump when its fields change
# Formats this version reads: a field added since has a default (2 added `Outgoing.combine`,
# 3 `Outgoing.invitation_for`).
READABLE_FORMATS = (1, 2, 3)


class UndecodablePayload(ValueError):
    """A queued row this version cannot read: damaged, or written by another version."""


@dataclass(frozen=True)
class Incoming:
    """One thing a person did: a message, a command or a button press."""

    kind: IncomingKind
    place: Place
    user: User
    text: str = ""
    school: str | None = None  # name of the configured school the place belongs to
    links: tuple[str, ...] = ()  # URLs the platform marked up (entities, <url|label>)
    command: str = ""  # e.g. "report" for "/report …"
    thread: str | None = None
    event_id: str | None = None
    button_value: str = ""
    message_ref: str | None = None  # the platform message a button was on
    form: tuple[tuple[str, str], ...] = ()  # (question, value) pairs from a filled-in form
    # "place|message" on the platform: the same message delivered twice has the same key, and
    # a thread reply, an edit or a deletion finds its case by it.
    message_key: str | None = None
    reply_to: str | None = None  # the key of the message this replies to (thread or reply)
    to_bot: bool = False  # a reply to one of Casebook's own messages
    media: bool = False  # a photo or file came with it (never fetched, never stored)
    anonymous: bool = False  # posted as the group itself: nobody to ask follow-up questions
    external: bool = False  # from another organisation in a shared channel

    def to_json(self) -> str:
        return json.dumps({"format": PAYLOAD_FORMAT, **_fields(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Incoming:
        """Read a queued event; UndecodablePayload when it is not one this version wrote."""
        return _decoded(raw, cls._decode, "incoming")

    @classmethod
    def _decode(cls, data: dict[str, Any]) -> Incoming:
        user = data.pop("user")
        place = data.pop("place")
        return cls(
            kind=IncomingKind(data.pop("kind")),
            user=User(_transport(user["transport"]), user["id"], user.get("name", "")),
            place=_place(place),
            links=tuple(data.pop("links", ())),
            form=tuple((str(k), str(v)) for k, v in data.pop("form", ())),
            **data,
        )


@dataclass(frozen=True)
class Outgoing:
    """One message to send.

    `private` means only `to_user` may see it: a transport that cannot show a message to one person
    in a shared place (an ephemeral message in Slack) sends it to them directly instead.
    """

    place: Place
    text: str
    buttons: tuple[Button, ...] = ()
    thread: str | None = None
    to_user: User | None = None
    private: bool = False
    case_id: int | None = None  # for logs and retries, never shown
    replace_ref: str | None = None  # update this earlier message instead of posting a new one
    attachment: Attachment | None = None
    # Where to post instead when a direct chat cannot be opened (Telegram: the bot was never
    # started by that person), and the message there to reply to.
    fallback: Place | None = None
    fallback_thread: str | None = None
    # An alert that may go out as one message with the alerts queued right after it in its
    # chat: a burst of new cases is a few messages to the leads, not hundreds (the platforms
    # take about one message a second into one chat, and a lead reads a list faster).
    combine: bool = False
    # An invitation for a lead of this school: the code is made, and put in place of
    # handlers.joining.CODE_MARK, only as the message is sent, so no table ever holds it.
    invitation_for: int | None = None

    def to_json(self) -> str:
        data = {"format": PAYLOAD_FORMAT, **_fields(self)}
        if self.attachment is not None:
            data["attachment"] = self.attachment.to_dict()
        return json.dumps(data, ensure_ascii=False)

    def outbox_row(self) -> tuple[str, str, int | None]:
        """What the outbox keeps of this message: its transport, its payload, and its case."""
        return self.place.transport, self.to_json(), self.case_id

    @classmethod
    def from_json(cls, raw: str) -> Outgoing:
        """Read a queued message; UndecodablePayload when it is not one this version wrote."""
        return _decoded(raw, cls._decode, "outgoing")

    @classmethod
    def _decode(cls, data: dict[str, Any]) -> Outgoing:
        place = data.pop("place")
        user = data.pop("to_user")
        attachment = data.pop("attachment", None)
        fallback = data.pop("fallback", None)
        return cls(
            attachment=None if attachment is None else Attachment.from_dict(attachment),
            fallback=None if fallback is None else _place(fallback),
            place=_place(place),
            to_user=None
            if user is None
            else User(_transport(user["transport"]), user["id"], user.get("name", "")),
            buttons=tuple(Button(b["label"], b["value"]) for b in data.pop("buttons", ())),
            **data,
        )


def _fields(event: object) -> dict[str, Any]:
    """An event's fields as JSON-ready values, as `dataclasses.asdict` gives them but without
    its deep copy of every value: serialising replies was a sixth of handling's time."""
    names = _field_names(cast(Hashable, type(event)))  # a class is hashable; mypy cannot see it
    fields: dict[str, Any] = {}
    for name in names:
        value = getattr(event, name)
        # Most fields are plain strings, numbers, flags or None: kept as they are, without a call.
        fields[name] = value if type(value) in _SCALARS else _plain(value)
    return fields


@functools.cache
def _field_names(kind: Any) -> tuple[str, ...]:
    """A dataclass's field names, in order (asked once per class: `fields` is not free)."""
    return tuple(field.name for field in dataclasses.fields(kind))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:  # most values: one set lookup rather than a run of isinstance calls
        return value
    if isinstance(value, str | int | float):  # enums are str's too
        return value
    if kind is tuple or kind is list:
        return [item if type(item) in _SCALARS else _plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return value


def _decoded(raw: str, decode: Callable[[dict[str, Any]], T], what: str) -> T:
    """`decode` applied to a queued payload, any failure of it an UndecodablePayload."""
    try:
        return decode(_payload(raw))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UndecodablePayload(f"{what}: {type(error).__name__}") from error


def _payload(raw: str) -> dict[str, Any]:
    """The fields of a queued payload, once its format is known to be one this version reads
    (rows queued before formats were numbered are format 1)."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("not an object")
    version = data.pop("format", 1)
    if type(version) is not int or version not in READABLE_FORMATS:
        raise ValueError(f"format {version!r}")
    return data


def _place(data: dict[str, Any]) -> Place:
    return Place(_transport(data["transport"]), data["id"], PlaceKind(data["kind"]))


def _transport(name: object) -> Transport:
    if not isinstance(name, str) or not name:
        raise ValueError("transport")
    return Transport(name)
