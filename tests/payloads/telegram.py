"""Telegram updates built with python-telegram-bot's classes, as the Bot API delivers them.

Each function returns the update as the JSON dict Telegram would post (`Update.to_dict()`), so a
test can send it to the webhook or queue it for getUpdates.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from telegram import (
    Chat,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
)

GROUP_ANONYMOUS_BOT = User(1087968824, "Group", is_bot=True, username="GroupAnonymousBot")
TELEGRAM_SERVICE = User(777000, "Telegram", is_bot=False)
_ids = itertools.count(5000)
_WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def group(chat_id: int, title: str = "Northfield staff") -> Chat:
    return Chat(chat_id, Chat.SUPERGROUP, title=title)


def person(user_id: int = 501, username: str = "alex") -> User:
    return User(user_id, username.title(), is_bot=False, username=username)


def bot_user(username: str = "casebook_test_bot", user_id: int = 4242) -> User:
    return User(user_id, "Casebook", is_bot=True, username=username)


def message(
    text: str | None,
    chat: Chat,
    sender: User | None = None,
    *,
    message_id: int | None = None,
    **fields: Any,
) -> Message:
    """A message with its URLs marked as `url` entities, as Telegram marks them."""
    entities = tuple(
        MessageEntity(MessageEntity.URL, text.index(word), len(word))
        for word in (text or "").split()
        if word.startswith("https://")
    )
    return Message(
        message_id or next(_ids),
        _WHEN,
        chat,
        from_user=sender or person(),
        text=text,
        entities=entities or None,
        **fields,
    )


def command(text: str, chat_id: int, sender: User) -> Message:
    """A command as Telegram marks it, with a `bot_command` entity over its first word."""
    chat = Chat(chat_id, Chat.PRIVATE) if chat_id > 0 else group(chat_id)
    word = text.split(" ", 1)[0]
    return Message(
        next(_ids),
        _WHEN,
        chat,
        from_user=sender,
        text=text,
        entities=(MessageEntity(MessageEntity.BOT_COMMAND, 0, len(word)),),
    )


def update(item: Message, *, edited: bool = False) -> dict[str, Any]:
    built = Update(next(_ids), edited_message=item) if edited else Update(next(_ids), message=item)
    return built.to_dict()


def anonymous_admin(text: str, chat: Chat) -> Message:
    """An admin of the group posting "as the group": the sender is @GroupAnonymousBot and
    `sender_chat` is the group itself."""
    return message(text, chat, GROUP_ANONYMOUS_BOT, sender_chat=chat, author_signature="Head")


def reply(text: str, chat: Chat, to: Message, sender: User | None = None) -> Message:
    return message(text, chat, sender, reply_to_message=to)


def edited(original: Message, text: str) -> Message:
    """The same message (same id) with new text, as `edited_message` carries it."""
    return message(
        text,
        original.chat,
        original.from_user,
        message_id=original.message_id,
        edit_date=datetime(2026, 11, 26, 9, 35, tzinfo=UTC),
    )


def photo(chat: Chat, caption: str | None = None, media_group_id: str | None = None) -> Message:
    sizes = (
        PhotoSize("AgACAgQAAxkBAAIPHOTOSMALL", "UNIQUE-SMALL", 90, 90),
        PhotoSize("AgACAgQAAxkBAAIPHOTOLARGE", "UNIQUE-LARGE", 1280, 1280),
    )
    return Message(
        next(_ids),
        _WHEN,
        chat,
        from_user=person(),
        photo=sizes,
        caption=caption,
        media_group_id=media_group_id,
    )


def members_joined(chat: Chat, *joined: User, by: User | None = None) -> Message:
    return Message(
        next(_ids), _WHEN, chat, from_user=by or person(), new_chat_members=tuple(joined)
    )


def member_left(chat: Chat, left: User) -> Message:
    return Message(next(_ids), _WHEN, chat, from_user=left, left_chat_member=left)


def pinned(chat: Chat, what: Message) -> Message:
    return Message(next(_ids), _WHEN, chat, from_user=person(), pinned_message=what)


def automatic_forward(text: str, chat: Chat) -> Message:
    """A post of the group's linked channel, forwarded into the group by Telegram itself."""
    channel = Chat(-100777, Chat.CHANNEL, title="Northfield news")
    return message(text, chat, TELEGRAM_SERVICE, sender_chat=channel, is_automatic_forward=True)


def in_topic(text: str, chat: Chat, topic_id: int) -> Message:
    """A message in a forum topic: it "replies" to the topic's first message."""
    opener = Message(topic_id, _WHEN, chat, from_user=person(), text="Topic")
    return message(
        text,
        chat,
        message_thread_id=topic_id,
        is_topic_message=True,
        reply_to_message=opener,
    )
