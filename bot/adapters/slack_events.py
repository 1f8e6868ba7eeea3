"""Slack payloads into neutral Incoming values: pure functions, no network, easy to test.

Only what Casebook needs is read; everything else in the payload is ignored. A message from a
channel that belongs to no configured school gives None, and the caller logs and drops it.
"""

from __future__ import annotations

from typing import Any

from handlers.events import Incoming, IncomingKind, Place, PlaceKind, Transport, User
from handlers.settings import Config

# Subtypes that are a person saying something; edits, deletions, joins and bot posts are not.
_REPORTING_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
REPORT_VIEW = "casebook_report"
ANSWER_ACTION_PREFIX = "casebook_answer_"


def school_of_channel(config: Config, channel: str) -> str | None:
    for school in config.schools:
        if channel in school.slack_report_channels:
            return school.name
    return None


def message(config: Config, event: dict[str, Any], event_id: str) -> Incoming | None:
    """A `message` event as a report or an answer; None for what Casebook ignores."""
    if event.get("bot_id") or event.get("subtype") not in _REPORTING_SUBTYPES:
        return None
    user_id = event.get("user")
    channel = event.get("channel")
    if not isinstance(user_id, str) or not isinstance(channel, str):
        return None
    place, school = _place(config, channel, user_id, event.get("channel_type"))
    if place is None:
        return None
    text = event.get("text")
    return Incoming(
        kind=IncomingKind.MESSAGE,
        place=place,
        user=User(Transport.SLACK, user_id),
        text=text if isinstance(text, str) else "",
        school=school,
        thread=event.get("thread_ts") or event.get("ts"),
        event_id=event_id,
    )


def unconfigured_channel(config: Config, event: dict[str, Any]) -> str | None:
    """The channel of a person's message in a channel Casebook does not know, for the log line
    that names it; None for a report channel, a leads' channel, a DM, and what is not a person's
    message."""
    channel = event.get("channel")
    if event.get("bot_id") or event.get("subtype") not in _REPORTING_SUBTYPES:
        return None
    if not isinstance(event.get("user"), str) or not isinstance(channel, str):
        return None
    if event.get("channel_type") == "im" or channel.startswith("D"):
        return None
    if school_of_channel(config, channel) is not None:
        return None
    if any(channel == school.slack_digest_channel for school in config.schools):
        return None
    return channel


def command(config: Config, body: dict[str, Any]) -> Incoming | None:
    """A slash command; `/report` with text is a report, the rest go to their handlers."""
    user_id, channel = body.get("user_id"), body.get("channel_id")
    name = str(body.get("command", "")).lstrip("/")
    if not isinstance(user_id, str) or not isinstance(channel, str) or not name:
        return None
    place, school = _place(config, channel, user_id, None)
    if place is None:
        # A command from a channel of no school still works for leads and known staff.
        place = Place(Transport.SLACK, channel, PlaceKind.CHANNEL)
    return Incoming(
        kind=IncomingKind.COMMAND,
        place=place,
        user=User(Transport.SLACK, user_id, str(body.get("user_name", ""))),
        text=str(body.get("text", "")),
        command=name,
        school=school,
        event_id=f"command:{body.get('trigger_id', '')}",
    )


def button(config: Config, body: dict[str, Any]) -> Incoming | None:
    """A Block Kit button press on one of our questions."""
    actions = body.get("actions") or []
    user_id = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if not actions or not isinstance(user_id, str) or not isinstance(channel, str):
        return None
    value = actions[0].get("value")
    message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get(
        "ts"
    )
    place, school = _place(config, channel, user_id, None)
    if place is None:
        place = Place(Transport.SLACK, channel, PlaceKind.CHANNEL)
    return Incoming(
        kind=IncomingKind.BUTTON,
        place=place,
        user=User(Transport.SLACK, user_id, str((body.get("user") or {}).get("username", ""))),
        school=school,
        button_value=value if isinstance(value, str) else "",
        message_ref=f"{channel}|{message_ts}" if message_ts else None,
        thread=(body.get("message") or {}).get("thread_ts"),
        event_id=f"action:{body.get('trigger_id') or actions[0].get('action_ts', '')}",
    )


def report_form(config: Config, body: dict[str, Any]) -> Incoming | None:
    """The /report modal, submitted: its text and links, and any questions answered in it."""
    user_id = (body.get("user") or {}).get("id")
    view = body.get("view") or {}
    if not isinstance(user_id, str):
        return None
    values: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}
    fields: dict[str, Any] = {}
    for block in values.values():
        for action_id, state in block.items():
            fields[action_id] = state
    link = (fields.get("link") or {}).get("value") or ""
    description = (fields.get("description") or {}).get("value") or ""
    form: list[tuple[str, str]] = []
    for question in ("targets", "reported", "author", "platform"):
        selected = (fields.get(question) or {}).get("selected_option")
        if selected:
            form.append((question, str(selected.get("value", ""))))
    for option in (fields.get("categories") or {}).get("selected_options") or []:
        form.append(("categories", str(option.get("value", ""))))
    channel = str(view.get("private_metadata") or "")
    place, school = _place(config, channel, user_id, None) if channel else (None, None)
    return Incoming(
        kind=IncomingKind.COMMAND,
        place=place or Place(Transport.SLACK, user_id, PlaceKind.DIRECT),
        user=User(Transport.SLACK, user_id, str((body.get("user") or {}).get("username", ""))),
        text=f"{link}\n{description}".strip(),
        command="report",
        school=school,
        form=tuple(form),
        event_id=f"view:{view.get('id', '')}:{view.get('hash', '')}",
    )


def _place(
    config: Config, channel: str, user_id: str, channel_type: Any
) -> tuple[Place | None, str | None]:
    """A direct chat is the person's own place; a channel counts only if it is a report place."""
    if channel_type == "im" or channel.startswith("D"):
        return Place(Transport.SLACK, user_id, PlaceKind.DIRECT), None
    school = school_of_channel(config, channel)
    if school is None:
        return None, None
    return Place(Transport.SLACK, channel, PlaceKind.CHANNEL), school
