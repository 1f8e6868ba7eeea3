"""What a chat platform says about a channel or group: whether it exists, whether the bot is in
it, and what it is called.

Two people need this. The person setting Casebook up, through `casebook check-config --online`,
to find a mistyped id before staff post into a channel nobody reads. And anyone reading the log
when Casebook ignores a message from a chat of no school: the log line names the chat and the
config key that would add it, which is how a missing id is noticed after set-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot
from telegram.error import BadRequest, Forbidden

# Slack's answers to conversations.info that mean "no such channel, as far as this bot can see".
_SLACK_NOT_FOUND = frozenset({"channel_not_found", "not_in_channel"})
# A Telegram member status that means the bot is not (or no longer) in the chat.
_TELEGRAM_GONE = frozenset({"left", "kicked"})


class Presence(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not found"
    NOT_MEMBER = "bot not a member"


@dataclass(frozen=True)
class PlaceInfo:
    presence: Presence
    title: str = ""


async def slack_channel(client: AsyncWebClient, channel: str) -> PlaceInfo:
    """conversations.info: a public channel the bot was not invited to is found but not joined;
    a private one it is not in looks, to the bot, like no channel at all."""
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        if code in _SLACK_NOT_FOUND:
            return PlaceInfo(Presence.NOT_FOUND)
        raise
    data = response.get("channel") or {}
    name = str(data.get("name") or "")
    if data.get("is_im"):
        return PlaceInfo(Presence.FOUND, name)
    member = bool(data.get("is_member"))
    return PlaceInfo(Presence.FOUND if member else Presence.NOT_MEMBER, name)


async def telegram_chat(bot: Bot, chat_id: int, bot_id: int) -> PlaceInfo:
    """getChat, then getChatMember for the bot itself: Telegram shows a public group to anyone,
    so finding it says nothing about whether the bot was added."""
    try:
        chat = await bot.get_chat(chat_id)
    except Forbidden:
        return PlaceInfo(Presence.NOT_MEMBER)
    except BadRequest:
        return PlaceInfo(Presence.NOT_FOUND)
    title = chat.title or ""
    try:
        member = await bot.get_chat_member(chat_id, bot_id)
    except (Forbidden, BadRequest):
        return PlaceInfo(Presence.NOT_MEMBER, title)
    status = str(member.status)
    return PlaceInfo(Presence.NOT_MEMBER if status in _TELEGRAM_GONE else Presence.FOUND, title)


class SlackChannelNames:
    """Channel names for log lines, asked for once per channel: a busy channel of no school must
    not cost a Web API call per message."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names: dict[str, str] = {}

    async def name(self, channel: str) -> str:
        if channel not in self._names:
            try:
                self._names[channel] = (await slack_channel(self._client, channel)).title
            except (SlackApiError, OSError, TimeoutError):
                return ""  # asked again next time; the log line goes out without it
        return self._names[channel]


def log_ignored(
    log: logging.Logger,
    platform: str,
    chat_id: str,
    title: str,
    config_key: str,
    held: int = 0,
    hosting: bool = False,
) -> None:
    """The one line for a person's message in a chat that belongs to no school (and for the
    `held` messages from it since the last such line: see bot/log_throttle.py). Where schools
    join from the chat (`hosting`), a lead claims the chat there; else its id goes in the file."""
    how = (
        "a lead of its school types /cases here reports in it"
        if hosting
        else f"add {chat_id} to {config_key} of a [[schools]] entry"
    )
    log.warning(
        "%s: message in %s (%s) ignored%s: that chat belongs to no school; to take reports "
        "there, %s",
        platform,
        chat_id,
        f"title {title!r}" if title else "title unknown",
        f", with {held} more since the last line about it" if held else "",
        how,
    )
