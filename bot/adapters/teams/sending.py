"""Neutral Outgoing values into Bot Connector calls through the SDK's ConnectorClient.

A reply in a report's thread goes to `v3/conversations/{channel}/activities/{first post}`, a new
message to `.../activities`, a card's update is a PUT of its activity, and a person's own chat
is opened with `POST v3/conversations`. Questions are Adaptive Cards with one Action.Submit
button per option. The bot's token is only ever sent to a serviceUrl a validated activity named
and `service_urls` allows.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import aiohttp
import pydantic
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
)
from microsoft_agents.hosting.core import CardFactory
from microsoft_agents.hosting.core.connector.client import ConnectorClient

from bot.adapters import text_limits
from bot.adapters.teams.auth import TokenSource, TokenUnavailable
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.events import BUTTON_KEY
from bot.adapters.teams.references import Reference, References
from bot.delivery import PermanentSendError, TemporarySendError
from handlers import messages
from handlers.events import Outgoing, PlaceKind

log = logging.getLogger(__name__)

TEXT_LIMIT = 20_000  # characters; Teams refuses an activity over about 28 KB
CARD_VERSION = "1.4"  # what Teams renders on desktop, web and mobile
_GONE = frozenset({403, 404})  # the bot was removed from the team, or the chat is no more


class NoReference(Exception):
    """No validated activity has said where this conversation is reached yet."""


def card(outgoing: Outgoing) -> dict[str, Any]:
    """An Adaptive Card: the text, then one button per option."""
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [{"type": "TextBlock", "text": _fitted(outgoing), "wrap": True}],
        "actions": [
            {"type": "Action.Submit", "title": button.label, "data": {BUTTON_KEY: button.value}}
            for button in outgoing.buttons
        ],
    }


def activity(outgoing: Outgoing) -> Activity:
    """The message as an activity: plain text, or a card when it has buttons."""
    attachments: list[Attachment] = []
    if outgoing.buttons:
        attachments.append(CardFactory.adaptive_card(card(outgoing)))
    if outgoing.attachment is not None:
        # Sent inline: a bot's file upload needs the person's consent card first, and an
        # attachment must never be dropped on the way.
        file = outgoing.attachment
        attachments.append(
            Attachment(
                content_type=file.mime,
                content_url=f"data:{file.mime};base64,{base64.b64encode(file.data).decode()}",
                name=file.name,
            )
        )
    if outgoing.buttons:
        return Activity(type=ActivityTypes.message, attachments=attachments)
    plain = Activity(type=ActivityTypes.message, text=_fitted(outgoing), text_format="plain")
    if attachments:
        plain.attachments = attachments
    return plain


class TeamsSender:
    """Sends one outbox row; returns "conversation|activity id" so a card can be updated."""

    def __init__(self, settings: TeamsConfig, tokens: TokenSource, references: References) -> None:
        self._settings = settings
        self._tokens = tokens
        self._references = references
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def send(self, outgoing: Outgoing) -> str | None:
        try:
            return await self._send(outgoing)
        except aiohttp.ClientResponseError as error:
            if error.status == 401:
                self._tokens.forget()
            if error.status == 429 or error.status >= 500 or error.status == 401:
                retry = error.headers.get("Retry-After") if error.headers else None
                raise TemporarySendError(f"teams {error.status}", _seconds(retry)) from None
            if error.status in _GONE:
                log.warning(
                    "teams: %s refused for good (%s): the bot was removed or the chat is gone",
                    outgoing.place.id,
                    error.status,
                )
            raise PermanentSendError(f"teams refused: {error.status}") from None
        except TokenUnavailable as error:
            raise TemporarySendError(str(error)) from None
        except NoReference as error:
            raise TemporarySendError(str(error)) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TemporarySendError(f"teams network error {type(error).__name__}") from None
        except (pydantic.ValidationError, ValueError) as error:
            reason = f"teams: an answer not understood ({type(error).__name__})"
            raise TemporarySendError(reason) from None

    async def _send(self, outgoing: Outgoing) -> str | None:
        body = activity(outgoing)
        if outgoing.replace_ref:
            conversation, _, activity_id = outgoing.replace_ref.partition("|")
            client = await self._client(self._service_url(conversation))
            _, own_id = self._references.tenant(conversation)
            await client.conversations.update_activity(own_id, activity_id, body)
            return outgoing.replace_ref
        person = _direct_person(outgoing)
        if person is None:
            return await self._post(outgoing.place.id, outgoing.thread, body)
        try:
            reference = await self._personal(person)
            client = await self._client(reference.service_url)
            sent = await client.conversations.send_to_conversation(reference.conversation, body)
        except aiohttp.ClientResponseError as error:
            if error.status not in _GONE or outgoing.fallback is None:
                raise
            # No chat with the person (the app is not installed for them): answer where they
            # wrote, as a reply to their message.
            return await self._post(outgoing.fallback.id, outgoing.fallback_thread, body)
        tenant, _ = self._references.tenant(person)
        return f"{self._references.kept(tenant, reference.conversation)}|{sent.id or ''}"

    async def _post(self, conversation: str, thread: str | None, body: Activity) -> str:
        """A reply in a channel's thread, or a new message in a channel or chat; `conversation`
        is its id as Casebook keeps it, and so is the reference returned."""
        client = await self._client(self._service_url(conversation))
        _, own_id = self._references.tenant(conversation)
        if thread:
            sent = await client.conversations.reply_to_activity(own_id, thread, body)
        else:
            sent = await client.conversations.send_to_conversation(own_id, body)
        return f"{conversation}|{sent.id or ''}"

    async def _personal(self, person: str) -> Reference:
        """The person's chat with the bot: known from their own messages, or opened now in
        their tenant."""
        known = self._references.personal(person)
        if known is not None:
            return known
        service_url = self._service_url(person)  # their tenant's
        client = await self._client(service_url)
        tenant, _ = self._references.tenant(person)
        created = await client.conversations.create_conversation(
            ConversationParameters(  # "bot" is the wire name of the SDK's `agent` field
                is_group=False,
                bot=ChannelAccount(id=f"28:{self._settings.app_id}"),
                members=[ChannelAccount(id=self._references.member(person))],
                tenant_id=tenant,
                channel_data={"tenant": {"id": tenant}},
            )
        )
        if not created.id:
            raise TemporarySendError("teams: no conversation id for a new chat")
        reference = Reference(created.service_url or service_url, created.id)
        if not self._settings.allows(reference.service_url):
            reference = Reference(service_url, created.id)
        self._references.opened(person, reference)
        return reference

    def _service_url(self, conversation: str) -> str:
        service_url = self._references.service_url(conversation)
        if service_url is None:
            raise NoReference("teams: no activity has named a serviceUrl for this tenant yet")
        if not self._settings.allows(service_url):  # never learnt, but the rule is kept here
            raise PermanentSendError("teams: serviceUrl outside [teams] service_urls")
        return service_url

    async def _client(self, service_url: str) -> ConnectorClient:
        # aiohttp joins "v3/…" onto a base URL with a path only when the path ends with "/".
        service_url = service_url if service_url.endswith("/") else f"{service_url}/"
        token = await self._tokens.token()
        session = self._sessions.get(service_url)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                base_url=service_url, timeout=aiohttp.ClientTimeout(total=15)
            )
            self._sessions[service_url] = session
        return ConnectorClient(service_url, token, session=session)


def _direct_person(outgoing: Outgoing) -> str | None:
    """Whose own chat a message goes to: a direct place's, or a private message's person
    (Teams has no message only one person in a channel can see)."""
    if outgoing.place.kind is PlaceKind.DIRECT:
        return outgoing.to_user.id if outgoing.to_user else outgoing.place.id
    if outgoing.private and outgoing.to_user is not None:
        return outgoing.to_user.id
    return None


def _fitted(outgoing: Outgoing) -> str:
    return text_limits.fit(outgoing.text or " ", TEXT_LIMIT, messages.more_text)


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
