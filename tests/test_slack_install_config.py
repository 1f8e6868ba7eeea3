"""`[slack] install = true`: the keys and environment variables Slack's OAuth install needs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot import cli, online_check
from bot.adapters.slack_config import SLACK, SlackMode, slack_settings
from bot.adapters.slack_manifest import manifest
from bot.config.description import describe
from bot.config.parser import load_config
from handlers.settings import Config, ConfigError
from tests.test_config import MINIMAL

INSTALL_ENV = {
    "SLACK_CLIENT_ID": "111.222",
    "SLACK_CLIENT_SECRET": "client-secret-456",
    "SLACK_SIGNING_SECRET": "sign-secret-123",
}


def _load(tmp_path: Path, slack: str, env: dict[str, str]) -> Config:
    path = tmp_path / "c.toml"
    path.write_text("[slack]\n" + slack + MINIMAL, encoding="utf-8")
    return load_config(path, env)


def test_install_needs_no_bot_token_and_shows_no_secret(tmp_path: Path) -> None:
    config = _load(tmp_path, "install = true\n", INSTALL_ENV)
    slack = slack_settings(config.transports[SLACK])
    assert slack.install and slack.mode is SlackMode.HTTP
    assert slack.client_id.value == "111.222" and not slack.bot_token
    shown = describe(config) + repr(config)
    assert "install=on" in shown
    assert all(secret not in shown for secret in INSTALL_ENV.values())


def test_each_missing_variable_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, "install = true\n", {"SLACK_CLIENT_ID": "111.222"})
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert "SLACK_CLIENT_SECRET" in lines[0] and "SLACK_SIGNING_SECRET" in lines[1]
    assert all("[slack] install = true" in line for line in lines)


@pytest.mark.parametrize(
    ("slack", "problem"),
    [
        ("install = 'yes'\n", "[slack] install must be true or false"),
        ("install = true\nmode = 'socket'\n", 'install = true needs mode = "http"'),
    ],
)
def test_an_install_that_cannot_work_is_refused(tmp_path: Path, slack: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, slack, INSTALL_ENV)
    assert problem in str(raised.value)


def test_the_manifest_of_an_installable_app_names_its_redirect_and_hears_of_removal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[slack]\ninstall = true\n" + MINIMAL, encoding="utf-8")
    for name, value in INSTALL_ENV.items():
        monkeypatch.setenv(name, value)
    url = "https://cb.example/slack/events"
    assert cli.main(["manifest", "--config", str(path), "--url", url]) == 0
    installable = json.loads(capsys.readouterr().out)
    assert installable["oauth_config"]["redirect_urls"] == [
        "https://cb.example/slack/oauth_redirect"
    ]
    events = installable["settings"]["event_subscriptions"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events["bot_events"])
    assert events["request_url"] == url

    single = manifest(SlackMode.HTTP, url)
    assert "redirect_urls" not in single["oauth_config"]
    assert "app_uninstalled" not in single["settings"]["event_subscriptions"]["bot_events"]


async def test_the_online_check_asks_no_workspace_token(tmp_path: Path) -> None:
    config = _load(tmp_path, "install = true\n", INSTALL_ENV)
    out = io.StringIO()
    assert await online_check.run(config, out) == 0
    assert "installed by OAuth into each workspace" in out.getvalue()
