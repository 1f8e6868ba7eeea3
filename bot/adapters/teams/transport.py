"""The Teams transport: Bot Framework posts activities to /api/messages on Casebook's server.

Every request is authenticated before anything is read from its body (auth.py), and a person's
activity is committed to the inbox, keyed by its conversation and activity id, before it is
answered 2xx: Bot Framework sends it again otherwise, and the repeat is stored once. Start-up
never waits on Microsoft: the bot's token is fetched in the background, retried with backoff,
and /healthz says so until it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Callable

import aiohttp
import pydantic
from aiohttp import web
from microsoft_agents.activity import Activity, ActivityTypes

from bot.adapters import lookup
from bot.adapters.teams import events
from bot.adapters.teams.auth import KeysUnavailable, RequestChecker, TokenSource, Unauthorized
from bot.adapters.teams.config import TEAMS, TeamsConfig, teams_settings
from bot.adapters.teams.references import References
from bot.adapters.teams.sending import TeamsSender
from bot.adapters.teams.tenants import tenant_of
from bot.backoff import Backoff, describe
from bot.router import Router
from bot.web import Handler
from handlers.events import Incoming, IncomingKind, Place, PlaceKind
from handlers.settings import Config

log = logging.getLogger(__name__)

SOURCE = "teams"
MESSAGES_PATH = "/api/messages"  # the messaging endpoint the Azure Bot registration names
# What an Action.Execute press is answered with: the card itself is updated by the reply.
_INVOKE_DONE = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message"}


class TeamsTransport:
    def __init__(self, config: Config, router: Router, wake: Callable[[], None]) -> None:
        self._teams: TeamsConfig = teams_settings(config.transports.get(TEAMS))
        self._router = router
        self._wake = wake
        # Made inside the running loop (the composition root builds transports there).
        self._session = aiohttp.ClientSession()
        self._references = References(self._teams.tenant_id)
        self._checker = RequestChecker(self._teams, self._session)
        self._tokens = TokenSource(self._teams, self._session)
        self.transport = TEAMS
        self.sender = TeamsSender(self._teams, self._tokens, self._references)
        self._starter: asyncio.Task[None] | None = None
        self.connected = False
        self.problem = "not connected yet"

    async def start(self) -> None:
        """Read the kept serviceUrls, then fetch the bot's token in the background (see the
        module's docstring)."""
        try:
            self._references.load(await self._router.addresses(TEAMS))
        except Exception as error:
            # Learnt again from the next activity; until then proactive sends wait and retry.
            log.error("teams: kept serviceUrls not read: %s", type(error).__name__)
        self._starter = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._tokens.token()
                break
            except Exception as error:
                delay = backoff.next()
                self.problem = f"token: {describe(error)}"
                log.warning("teams: no token (%s); retrying in %.0fs", describe(error), delay)
                await asyncio.sleep(delay)
        self.problem = ""
        self.connected = True

    async def stop(self) -> None:
        self.connected = False
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
        await self.sender.close()
        await self._session.close()

    async def health(self) -> tuple[bool, str]:
        return self.connected, "" if self.connected else self.problem

    @property
    def routes(self) -> dict[str, Handler]:
        return {MESSAGES_PATH: self.handle}

    async def handle(self, request: web.Request) -> web.Response:
        """POST /api/messages: 401 unless Bot Framework signed it for this app and this
        serviceUrl; 2xx once a person's activity is in the inbox."""
        checker = self._checker
        try:
            caller = await checker.check(request.headers.get("Authorization", ""))
        except Unauthorized as refusal:
            return _refused(refusal)
        except KeysUnavailable as error:
            log.warning("teams: request not checked (503): %s", error)
            return web.Response(status=503, text="cannot check the token now; send it again")
        try:
            data = json.loads((await request.read()).decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
            activity = Activity.model_validate(data)
        except (ValueError, pydantic.ValidationError, RecursionError):
            log.info("teams: request refused (400): not an activity")
            return web.Response(status=400, text="not an activity")
        try:
            checker.admit(caller, activity.service_url)
        except Unauthorized as refusal:
            return _refused(refusal)
        await self._keep(self._references.learn(activity))
        incoming = events.incoming(self._router.config, activity)
        if incoming is None and await self._claimed_elsewhere(activity):
            # Claimed a moment ago, through another process: read it again.
            incoming = events.incoming(self._router.config, activity)
        if incoming is not None and incoming.kind is IncomingKind.ADDED:
            self._log_added(activity)
        if incoming is None:
            self._log_ignored(activity)
        else:
            try:
                for each in self._gone_with_team(incoming, activity):
                    await self._commit(each)
            except Exception as error:
                log.error("teams %s not stored: %s", incoming.event_id, type(error).__name__)
                return web.Response(status=500, text="not stored; send it again")
        if activity.type == ActivityTypes.invoke:
            return web.json_response(_INVOKE_DONE)
        return web.Response(status=200)

    async def _keep(self, changed: dict[str, str]) -> None:
        for key, service_url in changed.items():
            try:
                await self._router.remember_address(TEAMS, key, service_url)
            except Exception as error:
                self._references.forget(key)
                log.error("teams: serviceUrl for %s not kept: %s", key, type(error).__name__)

    def _gone_with_team(self, incoming: Incoming, activity: Activity) -> list[Incoming]:
        """The event, and for a bot removed from a team, the same for every channel of that
        team the bot has heard from: it is gone from all of them."""
        if incoming.kind is not IncomingKind.REMOVED:
            return [incoming]
        team = events.team_of(activity)
        if not team:
            return [incoming]
        tenant = tenant_of(activity)
        channels = self._references.channels_of(self._references.kept(tenant, team))
        return [incoming] + [
            dataclasses.replace(
                incoming,
                place=Place(TEAMS, channel, PlaceKind.CHANNEL),
                event_id=f"removed:{channel}|{activity.id}",
            )
            for channel in channels
            if channel != incoming.place.id
        ]

    async def _commit(self, incoming: Incoming) -> None:
        if await self._router.receive(incoming, SOURCE, incoming.event_id or ""):
            self._wake()
        else:
            log.info("teams %s already received; dropped", incoming.event_id)

    async def _claimed_elsewhere(self, activity: Activity) -> bool:
        """A message from a channel of no school: whether the schools changed since they were
        last read (the channel may have just been claimed)."""
        if events.unconfigured_channel(self._router.config, activity) is None:
            return False
        return await self._router.schools_changed()

    def _log_added(self, activity: Activity) -> None:
        added = events.added(activity)
        if added is not None:
            log.warning(
                "teams: the bot was added to conversation %s (team %s, channel %s); to take "
                "reports there, %s",
                added.conversation,
                added.team or "-",
                added.channel or "-",
                "a lead types /cases here reports in it"
                if self._router.hosting
                else "add its channel id to teams_report_channels of a [[schools]] entry",
            )

    def _log_ignored(self, activity: Activity) -> None:
        unknown = events.unconfigured_channel(self._router.config, activity)
        if unknown is not None:
            lookup.log_ignored(
                log, SOURCE, unknown, "", "teams_report_channels", hosting=self._router.hosting
            )


def _refused(refusal: Unauthorized) -> web.Response:
    # One line, with the reason and never the token.
    log.warning("teams: request refused (401): %s", refusal)
    return web.Response(status=401, text="unauthorized")
