"""Teams activities into neutral Incoming values: pure functions over the SDK's Activity model.

A person is their Entra object id (`aadObjectId`), the id that stays the same for them in every
team and chat. A channel is its channel id: a reply in a thread arrives in a conversation named
`<channel>;messageid=<first post>`, and that first post is the thread. Both are qualified with
their tenant outside the config's own (tenants.py), so two tenants' ids never meet. Button
presses come as a message carrying the card's `value` (Action.Submit) or as an
`adaptiveCard/action` invoke (Action.Execute); both say which card they were on with
`replyToId`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes

from bot.adapters.teams.config import TEAMS, TeamsConfig
from bot.adapters.teams.tenants import qualified, tenant_of
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config

BUTTON_KEY = "casebook"  # the key of an answer's value in a card's submit data
EXECUTE = "adaptiveCard/action"
_THREAD_MARK = ";messageid="
_AT = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"""<a\s[^>]*href=["']([^"']+)["'][^>]*>""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)


@dataclass(frozen=True)
class Added:
    """The bot was added to a team, a group chat or a person's chat: the ids to configure."""

    conversation: str
    team: str
    channel: str


def incoming(config: Config, activity: Activity) -> Incoming | None:
    """A person's message, command or button press, or the bot added to or removed from a team
    or group chat; None for everything Casebook ignores (typing, reactions, edits it is not
    told of, the bot's own messages, other member changes)."""
    if activity.type in (ActivityTypes.conversation_update, ActivityTypes.installation_update):
        return _membership(config, activity)
    user = _person(config, activity)
    if user is None or activity.conversation is None or not activity.id:
        return None
    if activity.type == ActivityTypes.invoke:
        value = _execute_value(activity)
        return None if value is None else _button(config, activity, user, value)
    if activity.type != ActivityTypes.message:
        return None
    submitted = _submit_value(activity.value)
    if submitted is not None:
        return _button(config, activity, user, submitted)
    text, links = _text(activity)
    if not text and not activity.attachments:
        return None
    conversation = place_of(config, activity)
    place, school = _place(config, activity, user)
    root = thread_of(activity)
    key = f"{_key_of(config, activity, user)}|{activity.id}"
    command, arguments = _command(text)
    if command is not None:
        return Incoming(
            kind=IncomingKind.COMMAND,
            place=place or Place(TEAMS, conversation, PlaceKind.CHANNEL),
            user=user,
            text=arguments,
            command=command,
            school=school,
            links=links,
            thread=root,
            event_id=f"message:{key}",
            message_key=key,
        )
    if place is None:
        return None
    replying = root is not None and root != activity.id
    return Incoming(
        kind=IncomingKind.MESSAGE,
        place=place,
        user=user,
        text=text,
        school=school,
        links=links,
        thread=root,
        event_id=f"message:{key}",
        message_key=key,
        reply_to=f"{conversation}|{root}" if replying else None,
        media=any(_is_media(a.content_type) for a in activity.attachments or ()),
    )


def added(activity: Activity) -> Added | None:
    """An update that adds the bot itself, with the ids to configure; None for every other."""
    if activity.conversation is None or activity.type not in (
        ActivityTypes.conversation_update,
        ActivityTypes.installation_update,
    ):
        return None
    if _bot_change(activity) is not IncomingKind.ADDED:
        return None
    data = _channel_data(activity)
    return Added(
        conversation=channel_of(activity),
        team=str((data.get("team") or {}).get("id") or ""),
        channel=str((data.get("channel") or {}).get("id") or ""),
    )


def _membership(config: Config, activity: Activity) -> Incoming | None:
    """The bot added to a team or group chat of no school (said there once: how to set it
    up), or removed from one (the place is gone). Teams says both with a conversationUpdate
    naming the bot among the members, and with an installationUpdate; each is stored once."""
    if activity.conversation is None or _kind(activity) == "personal":
        return None
    change = _bot_change(activity)
    if change is None:
        return None
    where = place_of(config, activity)
    place = Place(TEAMS, where, PlaceKind.CHANNEL)
    user = _person(config, activity) or User(TEAMS, where)  # whoever did it, if Teams says
    if change is IncomingKind.REMOVED:
        # Each removal once: by the activity's id, or when it has none, its time.
        stamp = activity.id or (activity.timestamp.isoformat() if activity.timestamp else "")
        return Incoming(change, place, user, event_id=f"removed:{where}|{stamp}")
    known = school_of_channel(config, where) is not None or any(
        where == school.on(TEAMS).digest_place for school in config.schools
    )
    return None if known else Incoming(change, place, user, event_id=f"added:{where}")


def _bot_change(activity: Activity) -> IncomingKind | None:
    if activity.type == ActivityTypes.installation_update:
        # "add-upgrade" and "remove-upgrade" are a new version of the app, not a change.
        return {"add": IncomingKind.ADDED, "remove": IncomingKind.REMOVED}.get(
            activity.action or ""
        )
    bot = activity.recipient.id if activity.recipient is not None else None
    if not bot:
        return None
    if any(member.id == bot for member in activity.members_added or ()):
        return IncomingKind.ADDED
    if any(member.id == bot for member in activity.members_removed or ()):
        return IncomingKind.REMOVED
    return None


def unconfigured_channel(config: Config, activity: Activity) -> str | None:
    """The channel or group chat of a person's message that belongs to no school, for the log
    line that names it; None for report and leads' channels, personal chats and non-messages."""
    if activity.type != ActivityTypes.message or _person(config, activity) is None:
        return None
    if activity.conversation is None or _kind(activity) == "personal":
        return None
    conversation = place_of(config, activity)
    if school_of_channel(config, conversation) is not None:
        return None
    if any(conversation == school.on(TEAMS).digest_place for school in config.schools):
        return None
    return conversation


def school_of_channel(config: Config, conversation: str) -> str | None:
    for school in config.schools:
        if conversation in school.on(TEAMS).report_places:
            return school.name
    return None


def channel_of(activity: Activity) -> str:
    """The channel or chat an activity is in, without the thread Teams appends to it."""
    assert activity.conversation is not None
    data = _channel_data(activity)
    channel = (data.get("channel") or {}).get("id")
    if isinstance(channel, str) and channel:
        return channel
    return activity.conversation.id.split(_THREAD_MARK)[0]


def place_of(config: Config, activity: Activity) -> str:
    """The channel or chat an activity is in, as Casebook keeps it (qualified with its tenant)."""
    return qualified(home_tenant(config), tenant_of(activity), channel_of(activity))


def team_of(activity: Activity) -> str:
    """The team a channel's activity is in, as Teams names it ('' outside a team)."""
    team = (_channel_data(activity).get("team") or {}).get("id")
    return team if isinstance(team, str) else ""


def home_tenant(config: Config) -> str:
    """The config's own tenant, whose ids are kept bare."""
    settings = config.transports.get(TEAMS)
    return settings.tenant_id if isinstance(settings, TeamsConfig) else ""


def thread_of(activity: Activity) -> str | None:
    """The first post of the thread an activity is in (itself, for a new post in a channel);
    None in a chat, which has no threads."""
    if activity.conversation is None or _kind(activity) != "channel":
        return None
    _, marked, root = activity.conversation.id.partition(_THREAD_MARK)
    if marked and root:
        return root
    return activity.id


def _button(config: Config, activity: Activity, user: User, value: str) -> Incoming:
    conversation = place_of(config, activity)
    place, school = _place(config, activity, user)
    assert activity.conversation is not None
    card = activity.reply_to_id
    where = qualified(home_tenant(config), tenant_of(activity), activity.conversation.id)
    return Incoming(
        kind=IncomingKind.BUTTON,
        place=place or Place(TEAMS, conversation, PlaceKind.CHANNEL),
        user=user,
        school=school,
        button_value=value,
        # The card is updated in the conversation it was sent to, thread and all.
        message_ref=f"{where}|{card}" if card else None,
        thread=thread_of(activity),
        event_id=f"button:{_key_of(config, activity, user)}|{activity.id}",
    )


def _key_of(config: Config, activity: Activity, user: User) -> str:
    """What an event id names the conversation by: a channel or group chat by its id, a
    person's own chat by the person (as a direct place is), so erasing them erases it too."""
    return user.id if _kind(activity) == "personal" else place_of(config, activity)


def _person(config: Config, activity: Activity) -> User | None:
    """The person who did it, by Entra object id; None for the bot itself and for anything
    without one (other bots, connectors)."""
    sender = activity.from_property
    if sender is None or not sender.aad_object_id:
        return None
    if activity.recipient is not None and sender.id == activity.recipient.id:
        return None
    person = qualified(home_tenant(config), tenant_of(activity), sender.aad_object_id)
    return User(TEAMS, person, sender.name or "")


def _place(config: Config, activity: Activity, user: User) -> tuple[Place | None, str | None]:
    if _kind(activity) == "personal":
        return Place(TEAMS, user.id, PlaceKind.DIRECT), None
    conversation = place_of(config, activity)
    school = school_of_channel(config, conversation)
    if school is None:
        return None, None
    return Place(TEAMS, conversation, PlaceKind.CHANNEL), school


def _kind(activity: Activity) -> str:
    assert activity.conversation is not None
    return activity.conversation.conversation_type or "personal"


def _text(activity: Activity) -> tuple[str, tuple[str, ...]]:
    """The text without the bot's @mention; other mentions keep the name; HTML made plain."""
    raw = activity.text or ""
    bot = activity.recipient.id if activity.recipient is not None else None
    for entity in activity.entities or ():
        mentioned = getattr(entity, "mentioned", None)
        shown = getattr(entity, "text", None)
        if mentioned is not None and mentioned.id == bot and isinstance(shown, str) and shown:
            raw = raw.replace(shown, " ")
    links = tuple(html.unescape(url) for url in _LINK.findall(raw))
    raw = _AT.sub(r"@\1", raw)
    raw = _BREAK.sub("\n", raw)
    plain = html.unescape(_TAG.sub("", raw))
    return "\n".join(line.strip() for line in plain.strip().splitlines()).strip(), links


def _command(text: str) -> tuple[str | None, str]:
    """("cases", "show 1") for "/cases show 1"; (None, text) for anything else."""
    if not text.startswith("/") or len(text) < 2 or not text[1].isalpha():
        return None, text
    word, _, rest = text[1:].partition(" ")
    return word.lower(), rest.strip()


def _submit_value(value: Any) -> str | None:
    if isinstance(value, dict):
        answer = value.get(BUTTON_KEY)
        if isinstance(answer, str) and answer:
            return answer
    return None


def _execute_value(activity: Activity) -> str | None:
    if activity.name != EXECUTE or not isinstance(activity.value, dict):
        return None
    action = activity.value.get("action")
    return _submit_value(action.get("data")) if isinstance(action, dict) else None


def _channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    if isinstance(data, dict):
        return data
    dumped = getattr(data, "model_dump", None)
    return dumped(by_alias=True) if callable(dumped) else {}


def _is_media(content_type: str | None) -> bool:
    kind = content_type or ""
    return not (kind.startswith("text/") or kind.startswith("application/vnd.microsoft.card"))
