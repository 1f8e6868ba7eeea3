"""Where the bot can reach each Teams conversation: the serviceUrl a validated activity named
for it, and each person's chat with the bot.

Only activities whose JWT was checked are learnt from, so a serviceUrl here was named by Bot
Framework itself and lies within `service_urls`: the bot's token goes nowhere else. The
serviceUrls are kept in the database (a conversation's under its id as Casebook keeps it, each
tenant's latest under `tenant:<id>`), so reminders, alerts and the digest still reach their
channels after a restart, before anyone has written again. So is the team each channel is in
(under `team:<channel>`): a bot removed from a team is gone from all its channels. A person's
chat needs nothing kept: Teams gives the same chat back when it is created again.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.activity import Activity

from bot.adapters.teams.events import channel_of, team_of
from bot.adapters.teams.tenants import qualified, split, tenant_of

TENANT_KEY = "tenant:"
TEAM_KEY = "team:"


@dataclass(frozen=True)
class Reference:
    service_url: str
    conversation: str


class References:
    def __init__(self, tenant_id: str) -> None:
        self._home = tenant_id  # the config's own tenant, whose ids are kept bare
        self._service_urls: dict[str, str] = {}  # conversation (or tenant key) -> serviceUrl
        # By a person's Entra object id, as Casebook keeps it (tenants.py):
        self._personal: dict[str, Reference] = {}  # their chat with the bot
        self._members: dict[str, str] = {}  # their Bot Framework id
        self._teams: dict[str, str] = {}  # a channel's team, both as Casebook keeps them

    def load(self, kept: dict[str, str]) -> None:
        """What the database kept from earlier runs; what was learnt since wins."""
        teams = {k.removeprefix(TEAM_KEY): v for k, v in kept.items() if k.startswith(TEAM_KEY)}
        urls = {k: v for k, v in kept.items() if not k.startswith(TEAM_KEY)}
        self._service_urls = {**urls, **self._service_urls}
        self._teams = {**teams, **self._teams}

    def learn(self, activity: Activity) -> dict[str, str]:
        """Remember what a validated activity says about where its conversation lives; returns
        the serviceUrls (and channels' teams) that are new or changed, by key, for the
        database."""
        service_url = activity.service_url
        if not service_url or activity.conversation is None:
            return {}
        personal = activity.conversation.conversation_type in (None, "personal")
        tenant = tenant_of(activity) or self._home
        tenant_key = f"{TENANT_KEY}{tenant}"
        # A person's own chat is not kept: its id would outlive their erasure, and Teams gives
        # the same chat back when it is created again.
        channel = qualified(self._home, tenant, channel_of(activity))
        keys = (tenant_key,) if personal else (tenant_key, channel)
        changed = {key: service_url for key in keys if self._service_urls.get(key) != service_url}
        self._service_urls.update(changed)
        team = team_of(activity)
        if team and not personal:
            team = qualified(self._home, tenant, team)
            if self._teams.get(channel) != team:
                self._teams[channel] = team
                changed[f"{TEAM_KEY}{channel}"] = team
        sender = activity.from_property
        if sender is not None and sender.aad_object_id:
            person = qualified(self._home, tenant, sender.aad_object_id)
            if sender.id:
                self._members[person] = sender.id
            if personal:
                self._personal[person] = Reference(service_url, activity.conversation.id)
        return changed

    def forget(self, key: str) -> None:
        """A serviceUrl (or a channel's team) that could not be kept: learnt again, and kept,
        from the next activity."""
        if key.startswith(TEAM_KEY):
            self._teams.pop(key.removeprefix(TEAM_KEY), None)
        else:
            self._service_urls.pop(key, None)

    def channels_of(self, team: str) -> list[str]:
        """The channels of a team (as Casebook keeps their ids) the bot has heard from."""
        return sorted(channel for channel, its in self._teams.items() if its == team)

    def service_url(self, conversation: str) -> str | None:
        """Where a conversation (or a person's chat), as Casebook keeps its id, is reached: its
        own serviceUrl, or else its tenant's (a configured leads' channel the bot has not heard
        from is in the same tenant)."""
        tenant, _ = split(self._home, conversation)
        return self._service_urls.get(conversation.split(";")[0]) or self._service_urls.get(
            f"{TENANT_KEY}{tenant}"
        )

    def tenant(self, kept_id: str) -> tuple[str, str]:
        """(tenant, the id Teams knows) of an id as Casebook keeps it."""
        return split(self._home, kept_id)

    def kept(self, tenant: str, own_id: str) -> str:
        """An id Teams gave, as Casebook keeps it."""
        return qualified(self._home, tenant, own_id)

    def personal(self, person: str) -> Reference | None:
        return self._personal.get(person)

    def opened(self, person: str, reference: Reference) -> None:
        self._personal[person] = reference

    def member(self, person: str) -> str:
        """The id the Bot Connector knows a person by; their Entra object id until they have
        written to the bot (Teams takes either when a chat is created)."""
        return self._members.get(person) or split(self._home, person)[1]
