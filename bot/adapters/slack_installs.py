"""Slack installations in Casebook's own database, as bolt's installation and OAuth state stores.

`[slack] install = true` lets any workspace install Casebook with OAuth. Bolt's OAuth flow saves
what Slack gives through `DatabaseInstallations` and checks its `state` through
`DatabaseOAuthStates`; both keep their rows through the store interface, so SQLite and
PostgreSQL hold them like everything else and every process sees every install.

`WorkspaceTokens` answers "which token for this workspace" for events and sends alike. Where
Slack rotates tokens, it refreshes one before it expires, under a lease held in the database:
only the process holding it spends the refresh token (Slack accepts each refresh token once),
and another waits for its result. Tokens are never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from storage.store import Store

log = logging.getLogger(__name__)

STATE_LIFETIME = timedelta(minutes=10)  # from "Add to Slack" to Slack's redirect back
REFRESH_BEFORE = timedelta(minutes=10)  # refresh a rotating token this long before it expires
REFRESH_LEASE = timedelta(seconds=30)  # how long one process may take to refresh
REFRESH_WAIT_STEP = 0.1  # seconds between looks while another process refreshes
REMEMBER_FOR = timedelta(seconds=30)  # an installation read is used this long (WorkspaceTokens)


def _key(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
) -> tuple[str, str]:
    """A row's key. Slack's team ids are unique across organisations, so a workspace's install
    is kept by its team alone: an Enterprise Grid workspace's events name its organisation, the
    messages Casebook sends there do not. An organisation-wide install has no team."""
    if is_enterprise_install or not team_id:
        return enterprise_id or "", ""
    return "", team_id


def _installation(data: str) -> Installation:
    return Installation(**json.loads(data))


class DatabaseInstallations(AsyncInstallationStore):
    """Bolt's installation store over Casebook's store: one installation per workspace."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        if installation.bot_token is None:
            log.info("slack install without a bot token not kept (team %s)", installation.team_id)
            return
        enterprise, team = _key(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install
        )
        async with self._store.transaction() as unit:
            await unit.slack_installations.save(
                enterprise, team, json.dumps(installation.__dict__), self._clock.now()
            )
        log.info("slack: installed in team %s", team or enterprise)

    async def async_save_bot(self, bot: Bot) -> None:
        """A bot's new token (after a refresh) in the installation it belongs to."""
        found = await self.async_find_installation(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            is_enterprise_install=bot.is_enterprise_install,
        )
        if found is None:
            return
        found.bot_token = bot.bot_token
        found.bot_refresh_token = bot.bot_refresh_token
        found.bot_token_expires_at = bot.bot_token_expires_at
        await self.async_save(found)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if found is None else found.to_bot()

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation; with `user_id`, only if that person installed it
        (Casebook asks for no user tokens, so it keeps no one else's)."""
        async with self._store.reading() as unit:
            stored = await unit.slack_installations.find(
                *_key(enterprise_id, team_id, is_enterprise_install)
            )
            if stored is None and enterprise_id and not is_enterprise_install:
                # A workspace of an organisation that installed Casebook for all of them.
                stored = await unit.slack_installations.find(enterprise_id, "")
        if stored is None:
            return None
        found = _installation(stored.data)
        if user_id is not None and found.user_id != user_id:
            return None
        return found

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.remove(enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.remove(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.remove(enterprise_id, team_id)

    async def remove(self, enterprise_id: str | None, team_id: str | None) -> bool:
        """The workspace's installation removed; False when it had none."""
        async with self._store.transaction() as unit:
            removed = await unit.slack_installations.delete(*_key(enterprise_id, team_id))
        if removed:
            log.info("slack: installation of team %s removed", team_id or enterprise_id)
        return removed


class DatabaseOAuthStates(AsyncOAuthStateStore):
    """Bolt's OAuth state store: a state is kept only as its hash, used once, and expires."""

    def __init__(self, store: Store, clock: Clock, lifetime: timedelta = STATE_LIFETIME) -> None:
        self._store = store
        self._clock = clock
        self._lifetime = lifetime

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        async with self._store.transaction() as unit:
            await unit.slack_installations.add_state(
                _state_hash(state), self._clock.now() + self._lifetime
            )
        return state

    async def async_consume(self, state: str) -> bool:
        async with self._store.transaction() as unit:
            return await unit.slack_installations.use_state(_state_hash(state), self._clock.now())


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class OAuthApp:
    """The app's own credentials, for refreshing rotating tokens."""

    client_id: str
    client_secret: str


class WorkspaceTokens:
    """The bot's token in each installed workspace, refreshed before it expires.

    An installation read is kept for REMEMBER_FOR: every request and every send asks for one,
    and on SQLite a read waits its turn behind the handling of earlier events, which would hold
    up Slack's acknowledgement. So another process's uninstall is seen here that much later
    (this process's own, at once); a token another process refreshed meanwhile still works
    until it expires, and is re-read before then."""

    def __init__(
        self,
        installations: DatabaseInstallations,
        store: Store,
        clock: Clock,
        app: OAuthApp,
        client: AsyncWebClient,
    ) -> None:
        self._installations = installations
        self._store = store
        self._clock = clock
        self._app = app
        self._client = client  # no token of its own: oauth.v2.access is sent with the secret
        self._known: dict[tuple[str, str], tuple[float, Installation]] = {}

    async def installed(self, enterprise_id: str | None, team_id: str | None) -> Bot | None:
        """The workspace's bot as last read (its token may be near expiry): for who the bot
        is, not for sending. None when the workspace has not installed Casebook."""
        found = await self._installation(enterprise_id, team_id)
        return None if found is None else found.to_bot()

    async def bot(self, enterprise_id: str | None, team_id: str | None) -> Bot | None:
        """The workspace's bot with a token good for a while; None when it is not installed."""
        found = await self._installation(enterprise_id, team_id)
        if found is None:
            return None
        if self._expiring(found):
            found = await self._refreshed(found)
        return None if found is None else found.to_bot()

    def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        """The workspace removed Casebook: read it afresh from now on."""
        self._known.pop(_key(enterprise_id, team_id), None)

    def forget_all(self) -> None:
        self._known.clear()

    async def _installation(
        self, enterprise_id: str | None, team_id: str | None
    ) -> Installation | None:
        key = _key(enterprise_id, team_id)
        now = asyncio.get_running_loop().time()
        read_at, found = self._known.get(key, (0.0, None))
        if found is not None and now - read_at < REMEMBER_FOR.total_seconds():
            return found
        found = await self._installations.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id
        )
        if found is None:
            self._known.pop(key, None)
        else:
            self._known[key] = (now, found)
        return found

    def _expiring(self, installation: Installation) -> bool:
        expires = installation.bot_token_expires_at
        if not installation.bot_refresh_token or expires is None:
            return False
        return expires - self._clock.now().timestamp() < REFRESH_BEFORE.total_seconds()

    async def _refreshed(self, installation: Installation) -> Installation | None:
        """Refresh under the lease; if another process holds it, wait for what it saves. The
        installation is read again under the lease: another process may have refreshed it
        (and ended its lease) since it was read, spending the refresh token read then."""
        key = _key(installation.enterprise_id, installation.team_id)
        now = self._clock.now()
        async with self._store.transaction() as unit:
            leased = await unit.slack_installations.lease_refresh(*key, now, now + REFRESH_LEASE)
            stored = await unit.slack_installations.find(*key) if leased else None
        if not leased:
            return await self._refreshed_elsewhere(installation)
        if stored is None:
            return None
        installation = _installation(stored.data)
        if not self._expiring(installation):
            await self._installations.async_save(installation)  # ends the lease
            self._known[key] = (asyncio.get_running_loop().time(), installation)
            return installation
        try:
            response = await self._client.oauth_v2_access(
                client_id=self._app.client_id,
                client_secret=self._app.client_secret,
                grant_type="refresh_token",
                refresh_token=installation.bot_refresh_token,
            )
        except Exception as error:
            # The lease runs out by itself; the old token may still work until it expires.
            log.warning("slack: token refresh for team %s failed: %s", key[1], type(error).__name__)
            return installation
        installation.bot_token = response.get("access_token")
        installation.bot_refresh_token = response.get("refresh_token")
        installation.bot_token_expires_at = int(now.timestamp()) + int(
            response.get("expires_in") or 0
        )
        await self._installations.async_save(installation)
        self._known[key] = (asyncio.get_running_loop().time(), installation)
        log.info("slack: token of team %s refreshed", key[1] or key[0])
        return installation

    async def _refreshed_elsewhere(self, before: Installation) -> Installation | None:
        deadline = asyncio.get_running_loop().time() + REFRESH_LEASE.total_seconds()
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(REFRESH_WAIT_STEP)
            found = await self._installations.async_find_installation(
                enterprise_id=before.enterprise_id, team_id=before.team_id
            )
            if found is None or found.bot_token != before.bot_token:
                self.forget(before.enterprise_id, before.team_id)
                return found
        return before
