-- Slack workspaces that installed Casebook through OAuth (`[slack] install = true`): one row per
-- workspace (or Enterprise Grid organisation, with team_id ''), holding what Slack gave at
-- install time, tokens included, as JSON. `refreshing_until` is the lease of the one process
-- that is refreshing a rotating token: another waits for it rather than spend the same
-- refresh token.
CREATE TABLE slack_installations (
    enterprise_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    installation TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    refreshing_until TEXT,
    PRIMARY KEY (enterprise_id, team_id)
);

-- OAuth `state` values handed to browsers at /slack/install, by their SHA-256 only: each is
-- used once, before it expires.
CREATE TABLE slack_oauth_states (
    state_hash TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
