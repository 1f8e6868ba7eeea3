"""Telegram updates into neutral Incoming values: pure functions over python-telegram-bot objects.

Links come from the message's `url` and `text_link` entities as well as its text; a photo's or
video's caption counts as its text, and the media itself is never fetched.
"""

from __future__ import annotations

from telegram import Message, Update

from handlers.events import Incoming, IncomingKind, Place, PlaceKind, Transport, User
from handlers.settings import Config

_GROUPS = ("group", "supergroup")


def school_of_chat(config: Config, chat_id: int) -> str | None:
    for school in config.schools:
        if chat_id in school.telegram_report_chats:
            return school.name
    return None


def incoming(config: Config, update: Update, bot_username: str) -> Incoming | None:
    """The update as a message, command or button press; None for what Casebook ignores."""
    event_id = f"update:{update.update_id}"
    if update.callback_query is not None:
        return _button(config, update, event_id)
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None  # edits, channel posts, service messages and other bots
    chat = message.chat
    user = User(
        Transport.TELEGRAM,
        str(message.from_user.id),
        message.from_user.username or message.from_user.full_name,
    )
    text = message.text or message.caption or ""
    command, arguments = _command(message, text)
    if command is not None:
        if command.partition("@")[2] not in ("", bot_username.lower()):
            return None  # addressed to another bot in the group
        name = command.partition("@")[0]
        place, school = _place(config, chat.id, chat.type, user.id)
        return Incoming(
            kind=IncomingKind.COMMAND,
            place=place or Place(Transport.TELEGRAM, str(chat.id), PlaceKind.CHANNEL),
            user=user,
            text=arguments,
            command=name,
            school=school,
            links=_links(message),
            thread=str(message.message_id),
            event_id=event_id,
        )
    place, school = _place(config, chat.id, chat.type, user.id)
    if place is None:
        return None
    return Incoming(
        kind=IncomingKind.MESSAGE,
        place=place,
        user=user,
        text=text,
        school=school,
        links=_links(message),
        thread=str(message.message_id),
        event_id=event_id,
    )


def unconfigured_chat(config: Config, update: Update) -> tuple[int, str] | None:
    """The id and title of a group Casebook does not know that a person wrote in, for the log
    line that names it; None for anything else (a report or leads' group, a private chat)."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    chat = message.chat
    if chat.type not in _GROUPS or school_of_chat(config, chat.id) is not None:
        return None
    if any(chat.id == school.telegram_digest_chat for school in config.schools):
        return None
    return chat.id, chat.title or ""


def _button(config: Config, update: Update, event_id: str) -> Incoming | None:
    query = update.callback_query
    assert query is not None
    message = query.message
    if not isinstance(message, Message) or not query.data:
        return None
    user = User(Transport.TELEGRAM, str(query.from_user.id), query.from_user.username or "")
    place, school = _place(config, message.chat.id, message.chat.type, user.id)
    return Incoming(
        kind=IncomingKind.BUTTON,
        place=place or Place(Transport.TELEGRAM, str(message.chat.id), PlaceKind.CHANNEL),
        user=user,
        school=school,
        button_value=query.data,
        message_ref=f"{message.chat.id}|{message.message_id}",
        event_id=event_id,
    )


def _place(
    config: Config, chat_id: int, chat_type: str, user_id: str
) -> tuple[Place | None, str | None]:
    if chat_type == "private":
        return Place(Transport.TELEGRAM, user_id, PlaceKind.DIRECT), None
    if chat_type in _GROUPS:
        school = school_of_chat(config, chat_id)
        if school is not None:
            return Place(Transport.TELEGRAM, str(chat_id), PlaceKind.CHANNEL), school
    return None, None


def _command(message: Message, text: str) -> tuple[str | None, str]:
    """("cases@bot", "show 1") for "/cases@bot show 1"; (None, text) for anything else."""
    entities = message.entities or ()
    if not text.startswith("/") or not any(
        e.type == "bot_command" and e.offset == 0 for e in entities
    ):
        return None, text
    word, _, rest = text[1:].partition(" ")
    return word.lower(), rest.strip()


def _links(message: Message) -> tuple[str, ...]:
    found: list[str] = []
    for parse in (message.parse_entities, message.parse_caption_entities):
        for entity, shown in parse(["url", "text_link"]).items():
            found.append(entity.url if entity.type == "text_link" and entity.url else shown)
    return tuple(found)
