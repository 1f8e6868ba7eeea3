"""Where the bot can reach each Teams conversation: the serviceUrl a validated activity named
for it, and each person's chat with the bot.

Only activities whose JWT was checked are learnt from, so a serviceUrl here was named by Bot
Framework itself and lies within `service_urls`: the bot's token goes nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.activity import Activity

from bot.adapters.teams.events import channel_of


@dataclass(frozen=True)
class Reference:
    service_url: str
    conversation: str


class References:
    def __init__(self) -> None:
        self._service_urls: dict[str, str] = {}  # conversation (channel or chat) -> serviceUrl
        self._personal: dict[str, Reference] = {}  # Entra object id -> their chat with the bot
        self._members: dict[str, str] = {}  # Entra object id -> their Bot Framework id
        self._latest = ""  # the serviceUrl of the tenant's most recent activity

    def learn(self, activity: Activity) -> None:
        """Remember what a validated activity says about where its conversation lives."""
        service_url = activity.service_url
        if not service_url or activity.conversation is None:
            return
        self._latest = service_url
        conversation = channel_of(activity)
        self._service_urls[conversation] = service_url
        sender = activity.from_property
        if sender is None or not sender.aad_object_id:
            return
        if sender.id:
            self._members[sender.aad_object_id] = sender.id
        if activity.conversation.conversation_type in (None, "personal"):
            self._personal[sender.aad_object_id] = Reference(service_url, activity.conversation.id)

    def service_url(self, conversation: str) -> str | None:
        """Where a conversation is reached: its own serviceUrl, or else the tenant's (a
        configured leads' channel the bot has not heard from is in the same tenant)."""
        return self._service_urls.get(conversation.split(";")[0]) or self._latest or None

    def personal(self, person: str) -> Reference | None:
        return self._personal.get(person)

    def opened(self, person: str, reference: Reference) -> None:
        self._personal[person] = reference
        self._service_urls[reference.conversation] = reference.service_url

    def member(self, person: str) -> str:
        """The id the Bot Connector knows a person by; their Entra object id until they have
        written to the bot (Teams takes either when a chat is created)."""
        return self._members.get(person, person)
