"""Slack payloads into neutral Incoming values: pure functions, no network, easy to test.

Only what Casebook needs is read; everything else in the payload is ignored. A message from a
channel that belongs to no configured school gives None, and the caller logs and drops it.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.slack_config import SLACK
from handlers import questions
from handlers.commands import Command
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config

# Subtypes that are a person saying something; edits, deletions, joins and bot posts are not.
_REPORTING_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
REPORT_VIEW = "casebook_report"
ANSWER_ACTION_PREFIX = "casebook_answer_"


def school_of_channel(config: Config, channel: str) -> str | None:
    for school in config.schools:
        if channel in school.on(SLACK).report_places:
            return school.name
    return None


def message(config: Config, body: dict[str, Any]) -> Incoming | None:
    """A `message` event (an event callback's body) as a report, an answer, a thread reply, an
    edit or a deletion; None for what Casebook ignores.

    The event id is the message itself (channel and `ts`), not Slack's `event_id`: the same
    message delivered again under a new event id is then stored once.
    """
    event = body.get("event") or {}
    subtype = event.get("subtype")
    if subtype == "message_changed":
        return _edit(config, body, event)
    if subtype == "message_deleted":
        return _deletion(config, event)
    if event.get("bot_id") or subtype not in _REPORTING_SUBTYPES:
        return None
    user_id, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not isinstance(user_id, str) or not isinstance(channel, str) or not isinstance(ts, str):
        return None
    place, school = _place(config, channel, user_id, event.get("channel_type"))
    if place is None:
        return None
    key = f"{channel}|{ts}"
    if _external(body, event):
        # Said once per person and channel, and nothing of what they wrote is kept.
        return Incoming(
            kind=IncomingKind.MESSAGE,
            place=place,
            user=User(SLACK, user_id),
            school=school,
            external=True,
            event_id=f"external:{channel}:{user_id}",
        )
    text, links = _text_and_links(event)
    thread_ts = event.get("thread_ts")
    replying = isinstance(thread_ts, str) and thread_ts != ts
    return Incoming(
        kind=IncomingKind.MESSAGE,
        place=place,
        user=User(SLACK, user_id),
        text=text,
        school=school,
        links=links,
        thread=thread_ts or ts,
        event_id=f"message:{key}",
        message_key=key,
        reply_to=f"{channel}|{thread_ts}" if replying else None,
        media=bool(event.get("files")),
    )


def unescape(text: str) -> str:
    """Slack's text escapes undone: it sends `&` as `&amp;`, `<` as `&lt;`, `>` as `&gt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def unconfigured_channel(config: Config, event: dict[str, Any]) -> str | None:
    """The channel of a person's message in a channel Casebook does not know, for the log line
    that names it; None for a report channel, a leads' channel, a DM, and what is not a person's
    message."""
    channel = event.get("channel")
    if event.get("bot_id") or event.get("subtype") not in _REPORTING_SUBTYPES:
        return None
    if not isinstance(event.get("user"), str) or not isinstance(channel, str):
        return None
    if event.get("channel_type") == "im" or _bare(channel).startswith("D"):
        return None
    if school_of_channel(config, channel) is not None:
        return None
    if any(channel == school.on(SLACK).digest_place for school in config.schools):
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
        place = Place(SLACK, channel, PlaceKind.CHANNEL)
    return Incoming(
        kind=IncomingKind.COMMAND,
        place=place,
        user=User(SLACK, user_id, str(body.get("user_name", ""))),
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
        place = Place(SLACK, channel, PlaceKind.CHANNEL)
    return Incoming(
        kind=IncomingKind.BUTTON,
        place=place,
        user=User(SLACK, user_id, str((body.get("user") or {}).get("username", ""))),
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
    for asked in questions.FORM:
        state = fields.get(asked.question.value) or {}
        if asked.several:
            chosen = state.get("selected_options") or []
        else:
            chosen = [state["selected_option"]] if state.get("selected_option") else []
        form.extend((asked.question.value, str(option.get("value", ""))) for option in chosen)
    channel = str(view.get("private_metadata") or "")
    place, school = _place(config, channel, user_id, None) if channel else (None, None)
    return Incoming(
        kind=IncomingKind.COMMAND,
        place=place or Place(SLACK, user_id, PlaceKind.DIRECT),
        user=User(SLACK, user_id, str((body.get("user") or {}).get("username", ""))),
        text=f"{link}\n{description}".strip(),
        command=Command.REPORT.value,
        school=school,
        form=tuple(form),
        event_id=f"view:{view.get('id', '')}:{view.get('hash', '')}",
    )


def _edit(config: Config, body: dict[str, Any], event: dict[str, Any]) -> Incoming | None:
    """`message_changed`: a person's edit. Slack's own changes (a link's preview unfurled, a
    reply counted) keep the text as it was, and are ignored here."""
    changed = event.get("message") or {}
    before = event.get("previous_message") or {}
    if changed.get("subtype") == "tombstone":
        # A deleted message that has thread replies stays as a "This message was deleted." stub.
        return _deletion(config, {**event, "deleted_ts": changed.get("ts")})
    user_id, channel, ts = changed.get("user"), event.get("channel"), changed.get("ts")
    if changed.get("bot_id") or changed.get("text") == before.get("text"):
        return None
    if not isinstance(user_id, str) or not isinstance(channel, str) or not isinstance(ts, str):
        return None
    place, school = _place(config, channel, user_id, event.get("channel_type"))
    if place is None or _external(body, changed):
        return None
    text, links = _text_and_links(changed)
    edited = (changed.get("edited") or {}).get("ts") or event.get("event_ts") or ""
    return Incoming(
        kind=IncomingKind.EDIT,
        place=place,
        user=User(SLACK, user_id),
        text=text,
        school=school,
        links=links,
        thread=changed.get("thread_ts") or ts,
        event_id=f"edit:{channel}|{ts}:{edited}",
        message_key=f"{channel}|{ts}",
    )


def _deletion(config: Config, event: dict[str, Any]) -> Incoming | None:
    before = event.get("previous_message") or {}
    user_id, channel, ts = before.get("user"), event.get("channel"), event.get("deleted_ts")
    if before.get("bot_id"):
        return None
    if not isinstance(user_id, str) or not isinstance(channel, str) or not isinstance(ts, str):
        return None
    place, school = _place(config, channel, user_id, event.get("channel_type"))
    if place is None:
        return None
    return Incoming(
        kind=IncomingKind.DELETE,
        place=place,
        user=User(SLACK, user_id),
        school=school,
        event_id=f"deleted:{channel}|{ts}",
        message_key=f"{channel}|{ts}",
    )


def _external(body: dict[str, Any], event: dict[str, Any]) -> bool:
    """In a shared channel, a person of another organisation: their team is not the one that
    installed Casebook."""
    home = body.get("team_id")
    theirs = event.get("user_team") or event.get("team")
    return isinstance(home, str) and isinstance(theirs, str) and theirs != home


def _text_and_links(event: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The message's text, unescaped; when it is empty (a message written in the rich text
    editor may carry only blocks), the text and links of its rich_text blocks."""
    text = event.get("text")
    if isinstance(text, str) and text.strip():
        return unescape(text), ()
    words: list[str] = []
    links: list[str] = []
    _walk_rich_text(event.get("blocks"), words, links)
    return "".join(words).strip(), tuple(links)


def _walk_rich_text(node: Any, words: list[str], links: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_rich_text(item, words, links)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "link" and isinstance(node.get("url"), str):
        links.append(node["url"])
        words.append(str(node.get("text") or node["url"]))
    elif kind == "text" and isinstance(node.get("text"), str):
        words.append(node["text"])
    elif kind in (
        "rich_text_section",
        "rich_text_list",
        "rich_text_quote",
        "rich_text_preformatted",
    ):
        _walk_rich_text(node.get("elements"), words, links)
        words.append("\n")
    elif kind == "rich_text":
        _walk_rich_text(node.get("elements"), words, links)


def _place(
    config: Config, channel: str, user_id: str, channel_type: Any
) -> tuple[Place | None, str | None]:
    """A direct chat is the person's own place; a channel counts only if it is a report place."""
    if channel_type == "im" or _bare(channel).startswith("D"):
        return Place(SLACK, user_id, PlaceKind.DIRECT), None
    school = school_of_channel(config, channel)
    if school is None:
        return None, None
    return Place(SLACK, channel, PlaceKind.CHANNEL), school


def _bare(channel: str) -> str:
    """The channel's own id, without the workspace an OAuth install qualifies it with
    ("T1/D123": a direct chat as "D123" is)."""
    return channel.rpartition("/")[2]
