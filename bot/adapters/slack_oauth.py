"""Casebook installed into many Slack workspaces with bolt's OAuth flow (`[slack] install = true`).

GET /slack/install sends the browser to Slack's consent page with a single-use `state`; Slack
sends it back to GET /slack/oauth_redirect with a code, which oauth.v2.access (at `api_url`,
like every Web API call) turns into the workspace's bot token, kept in the database
(slack_installs.py). From then on the workspace's events are answered, and its messages sent,
with its own token. A request from a workspace that has not installed Casebook is acknowledged
and dropped with one log line. `app_uninstalled` and `tokens_revoked` remove the installation;
the places its schools claimed are kept, marked gone.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_config import SLACK, SlackConfig
from bot.adapters.slack_installs import (
    DatabaseInstallations,
    DatabaseOAuthStates,
    OAuthApp,
    WorkspaceTokens,
)
from bot.adapters.slack_manifest import BOT_SCOPES, OAUTH_REDIRECT
from bot.adapters.slack_workspaces import SlackIdentity, Team, WorkspaceClients
from bot.clock import Clock
from bot.join_page import SLACK_INSTALL
from bot.web import Handler
from storage.models import AuditAction, AuditEntry
from storage.store import Store

log = logging.getLogger(__name__)

INSTALL = SLACK_INSTALL  # where /join's Add to Slack button points


class SlackOAuth:
    def __init__(
        self,
        slack: SlackConfig,
        store: Store,
        clock: Clock,
        client: AsyncWebClient,
        client_settings: dict[str, Any],
    ) -> None:
        self._store = store
        self._clock = clock
        self.installations = DatabaseInstallations(store, clock)
        app = OAuthApp(slack.client_id.value, slack.client_secret.value)
        self.tokens = WorkspaceTokens(self.installations, store, clock, app, client)
        self.workspaces = WorkspaceClients(self.tokens, client_settings)
        self.flow = AsyncOAuthFlow(
            client=client,
            logger=log,
            settings=AsyncOAuthSettings(
                client_id=app.client_id,
                client_secret=app.client_secret,
                scopes=list(BOT_SCOPES),
                install_path=INSTALL,
                redirect_uri_path=OAUTH_REDIRECT,
                # /join has the Add to Slack button: /slack/install goes straight to Slack.
                install_page_rendering_enabled=False,
                installation_store=self.installations,
                installation_store_bot_only=True,
                state_store=DatabaseOAuthStates(store, clock),
                logger=log,
            ),
        )

    @property
    def pages(self) -> dict[str, Handler]:
        return {INSTALL: self._install, OAUTH_REDIRECT: self._redirect}

    async def _install(self, request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await self.flow.handle_installation(await to_bolt_request(request))
        )

    async def _redirect(self, request: web.Request) -> web.Response:
        response = await self.flow.handle_callback(await to_bolt_request(request))
        self.tokens.forget_all()  # a reinstall's new token is used at once
        return await to_aiohttp_response(response)

    async def identity(self, team: Team | None) -> SlackIdentity | None:
        """Who the bot is in this workspace; None when it has not installed Casebook."""
        if team is None:
            return None
        bot = await self.tokens.installed(team.enterprise_id, team.team_id)
        if bot is None:
            return None
        return SlackIdentity(bot.bot_user_id or "", bot.bot_id or "", team.team_id)

    async def authorize(
        self, enterprise_id: str | None, team_id: str | None
    ) -> AuthorizeResult | None:
        """Bolt's `authorize`: the workspace's bot, from the database (None, which bolt
        refuses, for a workspace that has not installed Casebook)."""
        bot = await self.tokens.installed(enterprise_id, team_id)
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.bot_token,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
        )

    async def uninstalled(self, body: dict[str, Any], team: Team | None) -> bool:
        """Handles `app_uninstalled`, and `tokens_revoked` of the bot's token: the installation
        removed, its workspace's claimed places kept but marked gone. False for any other
        request."""
        event = body.get("event")
        if team is None or body.get("type") != "event_callback" or not isinstance(event, dict):
            return False
        kind = event.get("type")
        if kind not in ("app_uninstalled", "tokens_revoked"):
            return False
        if kind == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return True  # only people's own tokens, which Casebook never asks for
        await self.installations.remove(team.enterprise_id, team.team_id)
        self.tokens.forget(team.enterprise_id, team.team_id)
        now = self._clock.now()
        async with self._store.transaction() as unit:
            gone = 0
            for place in await unit.hosted.places():
                key = place.key
                if key.transport != SLACK or key.workspace != team.team_id:
                    continue
                if await unit.hosted.mark_gone(key, now):
                    gone += 1
                    # As a place the bot was removed from is audited (handlers/hosting.py),
                    # with no one to name: the workspace did it.
                    await unit.audit.append(
                        AuditEntry(
                            case_id=None,
                            school_id=place.school_id,
                            actor_id=None,
                            action=AuditAction.PLACE,
                            at=now,
                            from_value=place.role.value,
                            to_value="gone",
                            reason=f"{key.transport}:{key.workspace}:{key.place_id} ({kind})",
                        )
                    )
        log.info(
            "slack: team %s removed Casebook (%s); %d places marked gone", team.team_id, kind, gone
        )
        return True
