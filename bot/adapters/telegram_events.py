"""Telegram updates into neutral Incoming values: pure functions over python-telegram-bot objects.

Links come from the message's `url` and `text_link` entities as well as its text; a photo's or
video's caption counts as its text, and the media itself is never fetched. Service messages,
automatic forwards and the caption-less later items of an album are not messages from staff and
give None; a reply keeps the key of the message it answers, so it can join that message's case.
"""

from __future__ import annotations

from telegram import ChatMember, ChatMemberUpdated, Message, Update

from bot.adapters.telegram_config import TELEGRAM
from handlers import messages
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config

_GROUPS = ("group", "supergroup")
_OUTSIDE = (ChatMember.LEFT, ChatMember.BANNED)  # "left", "kicked": the bot is not in the chat
_TELEGRAM_SERVICE = 777000  # "Telegram": automatic forwards from a linked channel


def school_of_chat(config: Config, chat_id: int) -> str | None:
    for school in config.schools:
        if str(chat_id) in school.on(TELEGRAM).report_places:
            return school.name
    return None


def incoming(config: Config, update: Update, bot_username: str) -> Incoming | None:
    """The update as a message, edit, command or button press; None for what Casebook ignores.

    A message's event id is its chat and message id, not the update id: the same message
    delivered again in another update is then stored once.
    """
    if update.callback_query is not None:
        return _button(config, update, f"update:{update.update_id}")
    if update.edited_message is not None:
        return _edit(config, update.edited_message)
    if update.my_chat_member is not None:
        return _membership(config, update.my_chat_member, update.update_id)
    message = update.message
    if message is None or message.from_user is None:
        return None
    if message.migrate_to_chat_id is not None:
        return Incoming(
            kind=IncomingKind.MOVED,
            place=Place(TELEGRAM, str(message.chat.id), PlaceKind.CHANNEL),
            user=User(TELEGRAM, str(message.from_user.id)),
            text=str(message.migrate_to_chat_id),
            event_id=f"moved:{message.chat.id}",
        )
    if _added_to_unknown_group(config, message, bot_username):
        return Incoming(
            kind=IncomingKind.ADDED,
            place=Place(TELEGRAM, str(message.chat.id), PlaceKind.CHANNEL),
            user=User(TELEGRAM, str(message.from_user.id)),
            event_id=f"added:{message.chat.id}",  # said once per group
        )
    user = _sender(message)
    if user is None or _ignored(message):
        return None
    chat = message.chat
    key = f"{chat.id}|{message.message_id}"
    text = message.text or message.caption or ""
    command, arguments = _command(message, text)
    if command is not None:
        if command.partition("@")[2] not in ("", bot_username.lower()) or _is_anonymous(message):
            return None  # addressed to another bot, or from someone no answer can reach
        name = command.partition("@")[0]
        place, school = _place(config, chat.id, chat.type, user.id)
        return Incoming(
            kind=IncomingKind.COMMAND,
            place=place or Place(TELEGRAM, str(chat.id), PlaceKind.CHANNEL),
            user=user,
            text=arguments,
            command=name,
            school=school,
            links=_links(message),
            thread=str(message.message_id),
            event_id=f"message:{key}",
            message_key=key,
        )
    place, school = _place(config, chat.id, chat.type, user.id)
    if place is None:
        return None
    replied = _replied_to(message)
    return Incoming(
        kind=IncomingKind.MESSAGE,
        place=place,
        user=user,
        text=text,
        school=school,
        links=_links(message),
        thread=str(message.message_id),
        event_id=f"message:{key}",
        message_key=key,
        reply_to=None if replied is None else f"{chat.id}|{replied.message_id}",
        to_bot=replied is not None
        and replied.from_user is not None
        and (replied.from_user.username or "").lower() == bot_username.lower() != "",
        media=_has_media(message),
        anonymous=_is_anonymous(message),
    )


def _membership(config: Config, change: ChatMemberUpdated, update_id: int) -> Incoming | None:
    """The bot's own membership of a group changed: added (say once how to set it up), or
    removed (the place is gone). Only a person's change is read: Telegram's own, when a group
    becomes a supergroup, is the migration's business."""
    chat = change.chat
    if chat.type not in _GROUPS or change.from_user.is_bot:
        return None
    place = Place(TELEGRAM, str(chat.id), PlaceKind.CHANNEL)
    user = User(TELEGRAM, str(change.from_user.id))
    was_in = change.old_chat_member.status not in _OUTSIDE
    is_in = change.new_chat_member.status not in _OUTSIDE
    known = school_of_chat(config, chat.id) is not None or _leads_group(config, chat.id)
    if is_in and not was_in and not known:
        return Incoming(IncomingKind.ADDED, place, user, event_id=f"added:{chat.id}")
    if was_in and not is_in:
        return Incoming(IncomingKind.REMOVED, place, user, event_id=f"removed:{update_id}")
    return None


def _edit(config: Config, message: Message) -> Incoming | None:
    user = _sender(message)
    if user is None or _ignored(message):
        return None
    text = message.text or message.caption or ""
    if _command(message, text)[0] is not None:
        return None
    place, school = _place(config, message.chat.id, message.chat.type, user.id)
    if place is None:
        return None
    key = f"{message.chat.id}|{message.message_id}"
    edited = int(message.edit_date.timestamp()) if message.edit_date else 0
    return Incoming(
        kind=IncomingKind.EDIT,
        place=place,
        user=user,
        text=text,
        school=school,
        links=_links(message),
        thread=str(message.message_id),
        event_id=f"edit:{key}:{edited}",
        message_key=key,
        anonymous=_is_anonymous(message),
    )


def _sender(message: Message) -> User | None:
    """Who wrote it: a person, or a group's anonymous admin (posting as the group itself);
    None for bots, channels posting into the group and Telegram's own forwards."""
    sender = message.from_user
    if sender is None:
        return None
    if _is_anonymous(message):
        chat = message.chat
        return User(TELEGRAM, str(chat.id), messages.anonymous_admin(chat.title or ""))
    if sender.is_bot or sender.id == _TELEGRAM_SERVICE or message.is_automatic_forward:
        return None
    return User(TELEGRAM, str(sender.id), sender.username or sender.full_name)


def _is_anonymous(message: Message) -> bool:
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def _ignored(message: Message) -> bool:
    """Service messages (joins, leaves, pins, title changes) carry neither text nor media; the
    later items of an album carry no caption, and the first item already said what it is."""
    if message.text or message.caption:
        return False
    return message.media_group_id is not None or not _has_media(message)


def _has_media(message: Message) -> bool:
    return bool(message.photo or message.video or message.document or message.animation) or (
        message.video_note is not None
    )


def _replied_to(message: Message) -> Message | None:
    """The message this one answers; in a forum topic every message "replies" to the topic's
    first message, which is not a reply."""
    replied = message.reply_to_message
    if replied is None:
        return None
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return replied


def _added_to_unknown_group(config: Config, message: Message, bot_username: str) -> bool:
    chat = message.chat
    if chat.type not in _GROUPS or school_of_chat(config, chat.id) is not None or not bot_username:
        return False
    if _leads_group(config, chat.id):
        return False  # the leads' group
    return any(
        member.is_bot and (member.username or "").lower() == bot_username.lower()
        for member in message.new_chat_members or ()
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
    if _leads_group(config, chat.id):
        return None
    return chat.id, chat.title or ""


def _button(config: Config, update: Update, event_id: str) -> Incoming | None:
    query = update.callback_query
    assert query is not None
    message = query.message
    if not isinstance(message, Message) or not query.data:
        return None
    user = User(TELEGRAM, str(query.from_user.id), query.from_user.username or "")
    place, school = _place(config, message.chat.id, message.chat.type, user.id)
    return Incoming(
        kind=IncomingKind.BUTTON,
        place=place or Place(TELEGRAM, str(message.chat.id), PlaceKind.CHANNEL),
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
        return Place(TELEGRAM, user_id, PlaceKind.DIRECT), None
    if chat_type in _GROUPS:
        school = school_of_chat(config, chat_id)
        if school is not None:
            return Place(TELEGRAM, str(chat_id), PlaceKind.CHANNEL), school
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


def _leads_group(config: Config, chat_id: int) -> bool:
    return any(str(chat_id) == school.on(TELEGRAM).digest_place for school in config.schools)
