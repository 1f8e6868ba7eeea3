"""Slack workspaces that installed Casebook, and the OAuth states of installs under way.

An installation is kept as the JSON Slack's SDK makes of it (bot token, refresh token and its
expiry included), so the SDK's own types come back out unchanged; storage knows only the
workspace it belongs to. Tokens are secrets: nothing here logs a row. A rotating token is
refreshed under a lease held in this table rather than a transaction, so no write waits on
Slack's answer and two processes never spend one refresh token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.sql import SqlConnection
from storage.times import from_db, from_db_or_none, to_db


@dataclass(frozen=True)
class StoredInstallation:
    enterprise_id: str  # '' outside Enterprise Grid
    team_id: str  # '' for an organisation-wide install
    data: str  # the SDK's Installation as JSON: holds tokens, never logged
    installed_at: datetime  # when this version was saved: an install, reinstall or refresh
    refreshing_until: datetime | None = None


class SqlSlackInstallations:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection

    async def save(self, enterprise_id: str, team_id: str, data: str, at: datetime) -> None:
        """Keep the workspace's newest installation (a reinstall or a refreshed token replaces
        the one before), ending any refresh lease on it."""
        await self._db.execute(
            "INSERT INTO slack_installations (enterprise_id, team_id, installation,"
            " installed_at, refreshing_until) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT (enterprise_id, team_id) DO UPDATE SET"
            " installation = excluded.installation, installed_at = excluded.installed_at,"
            " refreshing_until = NULL",
            (enterprise_id, team_id, data, to_db(at)),
        )

    async def find(self, enterprise_id: str, team_id: str) -> StoredInstallation | None:
        async with self._db.execute(
            "SELECT enterprise_id, team_id, installation, installed_at, refreshing_until"
            " FROM slack_installations WHERE enterprise_id = ? AND team_id = ?",
            (enterprise_id, team_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return StoredInstallation(
            str(row[0]), str(row[1]), str(row[2]), from_db(row[3]), from_db_or_none(row[4])
        )

    async def delete(self, enterprise_id: str, team_id: str) -> bool:
        """The workspace uninstalled Casebook or revoked its token; False when not installed."""
        async with self._db.execute(
            "DELETE FROM slack_installations WHERE enterprise_id = ? AND team_id = ?"
            " RETURNING team_id",
            (enterprise_id, team_id),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def lease_refresh(
        self, enterprise_id: str, team_id: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to refresh this workspace's token until `until`; False while another
        holds it (or when the workspace is not installed). `save` ends the lease."""
        async with self._db.execute(
            "UPDATE slack_installations SET refreshing_until = ?"
            " WHERE enterprise_id = ? AND team_id = ?"
            " AND (refreshing_until IS NULL OR refreshing_until <= ?) RETURNING team_id",
            (to_db(until), enterprise_id, team_id, to_db(now)),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def add_state(self, state_hash: str, expires_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO slack_oauth_states (state_hash, expires_at) VALUES (?, ?)",
            (state_hash, to_db(expires_at)),
        )

    async def use_state(self, state_hash: str, now: datetime) -> bool:
        """Use the state up: True once, for a state issued and not yet expired. Expired states
        are cleared on the way."""
        async with self._db.execute(
            "DELETE FROM slack_oauth_states WHERE state_hash = ? AND expires_at > ?"
            " RETURNING state_hash",
            (state_hash, to_db(now)),
        ) as cursor:
            used = await cursor.fetchone() is not None
        await self._db.execute(
            "DELETE FROM slack_oauth_states WHERE expires_at <= ?", (to_db(now),)
        )
        return used
