"""Slack installed into many workspaces: ids qualified by their workspace, and a client per
workspace's token.

Slack's channel and user ids are unique only within a workspace (and in practice they do
collide between workspaces). So where Casebook is installed by OAuth, the adapter writes every
id it takes from Slack as "TEAM/ID" ("T1/C123", and a person's key "slack:T1/U123") before
anything else reads it: places, people, conversations, message keys and event ids then belong
to one workspace in every table, with no schema of their own, and no workspace ever reaches
another's schools. The sender splits them again, and sends with that workspace's token.
Single-workspace mode (a bot token in the environment) leaves ids as Slack gives them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_installs import WorkspaceTokens
from handlers.events import Outgoing
from storage.hosted import WORKSPACE_MARK

SEPARATOR = WORKSPACE_MARK  # the mark storage splits a place id at, into workspace and id
_MENTION = re.compile(r"<@([A-Z0-9]+)(?=[|>])")


@dataclasses.dataclass(frozen=True)
class SlackIdentity:
    """Who the bot is in a workspace, from auth.test or its installation."""

    user_id: str
    bot_id: str
    team_id: str


@dataclasses.dataclass(frozen=True)
class Team:
    """Which workspace a request came from (and its Enterprise Grid organisation, if any)."""

    enterprise_id: str | None
    team_id: str


def qualify(team: str, platform_id: str) -> str:
    """ "T1/C123" for C123 in workspace T1; an id qualified already is left as it is."""
    return platform_id if SEPARATOR in platform_id else f"{team}{SEPARATOR}{platform_id}"


def split(qualified: str) -> tuple[str | None, str]:
    """(team, Slack's own id) of a qualified id; (None, id) for one that is not."""
    team, found, platform_id = qualified.partition(SEPARATOR)
    return (team, platform_id) if found else (None, qualified)


def bare(platform_id: str) -> str:
    """Slack's own id, whether or not it is qualified."""
    return split(platform_id)[1]


def team_of(body: dict[str, Any]) -> Team | None:
    """The workspace an event, command, interaction or view submission came from."""
    team = body.get("team_id") or _id(body.get("team")) or _field(body.get("user"), "team_id")
    enterprise = body.get("enterprise_id") or _id(body.get("enterprise"))
    if not isinstance(team, str) or not team:
        return None
    return Team(enterprise if isinstance(enterprise, str) and enterprise else None, team)


def of_no_workspace(body: dict[str, Any]) -> bool:
    """Slack's own checks of the request URL (url_verification, ssl_check), which name no
    workspace and are answered whoever has installed Casebook."""
    return body.get("type") == "url_verification" or bool(body.get("ssl_check"))


def qualified_body(body: dict[str, Any], team: str) -> dict[str, Any]:
    """The request body with every channel and user id Casebook reads qualified by `team`
    (copies where it changes; the body given is left as it was)."""
    out = dict(body)
    for key in ("user_id", "channel_id"):  # a slash command
        if isinstance(out.get(key), str):
            out[key] = qualify(team, out[key])
    if isinstance(out.get("command"), str) and isinstance(out.get("text"), str):
        # People a lead names, as in `/cases assign 3 @alex`, which Slack sends as <@U123|alex>.
        out["text"] = _MENTION.sub(lambda m: f"<@{qualify(team, m.group(1))}", out["text"])
    for key in ("user", "channel"):  # an interaction: {"id": …}
        if isinstance(out.get(key), dict) and isinstance(out[key].get("id"), str):
            out[key] = {**out[key], "id": qualify(team, out[key]["id"])}
    container = out.get("container")
    if isinstance(container, dict) and isinstance(container.get("channel_id"), str):
        out["container"] = {**container, "channel_id": qualify(team, container["channel_id"])}
    event = out.get("event")
    if isinstance(event, dict):
        event = _qualified_ids(event, team, ("user", "channel"))
        for inner in ("message", "previous_message"):
            if isinstance(event.get(inner), dict):
                event[inner] = _qualified_ids(event[inner], team, ("user",))
        out["event"] = event
    return out


def unqualified(outgoing: Outgoing) -> tuple[str | None, Outgoing]:
    """The workspace a message goes to, and the message with Slack's own ids in it."""
    team = split(outgoing.place.id)[0]
    if team is None and outgoing.to_user is not None:
        team = split(outgoing.to_user.id)[0]
    changes: dict[str, Any] = {
        "place": dataclasses.replace(outgoing.place, id=bare(outgoing.place.id))
    }
    if outgoing.to_user is not None:
        changes["to_user"] = dataclasses.replace(outgoing.to_user, id=bare(outgoing.to_user.id))
    if outgoing.fallback is not None:
        changes["fallback"] = dataclasses.replace(outgoing.fallback, id=bare(outgoing.fallback.id))
    if outgoing.replace_ref:
        changes["replace_ref"] = bare(outgoing.replace_ref)
    return team, dataclasses.replace(outgoing, **changes)


class WorkspaceClients:
    """A Web API client per installed workspace, carrying its current token."""

    def __init__(self, tokens: WorkspaceTokens, base: dict[str, Any]) -> None:
        self._tokens = tokens
        self._base = base  # base_url and retry handlers, as the single-workspace client has
        self._clients: dict[str, tuple[str, AsyncWebClient]] = {}  # team: (its token, client)
        self.session: aiohttp.ClientSession | None = None

    async def client(self, team: str | None) -> AsyncWebClient | None:
        """The client for this workspace; None when it has not installed Casebook."""
        if not team:
            return None
        bot = await self._tokens.bot(None, team)
        if bot is None or not bot.bot_token:
            return None
        token, client = self._clients.get(team, ("", None))
        if client is None or token != bot.bot_token:  # new, or its token was refreshed
            client = AsyncWebClient(token=bot.bot_token, session=self.session, **self._base)
            self._clients[team] = (bot.bot_token, client)
        return client


def _qualified_ids(data: dict[str, Any], team: str, keys: tuple[str, ...]) -> dict[str, Any]:
    out = dict(data)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = qualify(team, out[key])
    return out


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else None


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None
