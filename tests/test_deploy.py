"""deploy/: the systemd units parse, and the proxy example passes on exactly the paths Casebook
serves to the outside world."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import join_page, web
from bot.adapters.slack_config import SLACK, SlackConfig, SlackMode
from bot.adapters.slack_manifest import OAUTH_REDIRECT
from bot.adapters.teams.config import TEAMS, TeamsConfig
from bot.adapters.teams.transport import MESSAGES_PATH
from bot.adapters.telegram_config import TELEGRAM, TelegramConfig, TelegramMode
from bot.cli import main
from bot.metrics import Metrics
from handlers import messages
from handlers.settings import (
    Config,
    SchoolConfig,
    Secret,
    ServerConfig,
    StorageConfig,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.teams_api import APP_ID, APP_PASSWORD, TENANT, FakeTeamsApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.running import RunningBot

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("casebook.service", "casebook-backup.service", "casebook-backup.timer")
CASEBOOK = "/opt/casebook/venv/bin/casebook"


def proxied_paths() -> set[str]:
    """Every exact-match location of the nginx example that is handed to Casebook."""
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    blocks = re.findall(r"location\s+(=?)\s*(\S+)\s*\{([^}]*)\}", text)
    passed = {path for exact, path, body in blocks if "proxy_pass" in body}
    assert all(exact == "=" for exact, path, body in blocks if path in passed), (
        "a proxied location must be an exact match, or it passes on every path under it"
    )
    return passed


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        warnings.warn(
            "systemd-analyze is not installed: the unit files were NOT verified", stacklevel=1
        )
        pytest.skip("systemd-analyze is not installed; the unit files were not verified")
    # verify insists that ExecStart's program exists: stand in for the installed casebook.
    stand_in = tmp_path / "casebook"
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(CASEBOOK, str(stand_in)), encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys are only warnings to systemd, so any output at all counts as a failure.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr
    )


def test_the_service_runs_as_its_own_user_with_secrets_from_a_file_and_a_stop_timeout() -> None:
    unit = _settings(DEPLOY / "casebook.service")
    assert unit["User"] == "casebook" and unit["Group"] == "casebook"
    assert unit["EnvironmentFile"] == "/etc/casebook/casebook.env"
    assert unit["Restart"] == "on-failure"
    assert int(unit["TimeoutStopSec"]) > 10  # Casebook's own graceful stop takes up to 10 s
    assert unit["ExecStart"] == f"{CASEBOOK} run --chat-only --config /etc/casebook/casebook.toml"
    backup = _settings(DEPLOY / "casebook-backup.service")
    assert f"{CASEBOOK} backup --config /etc/casebook/casebook.toml" in backup["ExecStart"]
    assert _settings(DEPLOY / "casebook-backup.timer")["OnCalendar"]


def test_the_service_with_no_chat_platform_in_its_config_fails_instead_of_ending_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under systemd the terminal demo would read the end of /dev/null and stop with 0, which
    Restart=on-failure never restarts: the unit's own arguments refuse to start it at all."""
    config = tmp_path / "casebook.toml"
    # The example as shipped: its platform tables are there to be uncommented.
    config.write_text((DEPLOY.parent / "config.example.toml").read_text(encoding="utf-8"))
    arguments = _settings(DEPLOY / "casebook.service")["ExecStart"].split()[1:]
    arguments[arguments.index("/etc/casebook/casebook.toml")] = str(config)
    assert main([*arguments, "--db", str(tmp_path / "c.db")]) == 2
    assert messages.CLI_NO_CHAT_PLATFORM in capsys.readouterr().err
    assert not (tmp_path / "c.db").exists()


def test_the_proxy_passes_exactly_the_public_paths_the_server_serves() -> None:
    async def handler(_request: object) -> object:
        raise AssertionError("not called")

    app = web.build(
        {
            web.SLACK_EVENTS: handler,  # type: ignore[dict-item]
            web.TELEGRAM_WEBHOOK: handler,  # type: ignore[dict-item]
            MESSAGES_PATH: handler,  # type: ignore[dict-item]
        },
        health=_healthy,
        metrics=Metrics(),
        pages={
            join_page.JOIN: handler,  # type: ignore[dict-item]
            join_page.SLACK_INSTALL: handler,  # type: ignore[dict-item]
            OAUTH_REDIRECT: handler,  # type: ignore[dict-item]
        },
    )
    served = {resource.canonical for resource in app.router.resources()}
    assert served == {
        web.SLACK_EVENTS,
        web.TELEGRAM_WEBHOOK,
        MESSAGES_PATH,
        web.HEALTH,
        web.METRICS,
        join_page.JOIN,
        join_page.SLACK_INSTALL,
        OAUTH_REDIRECT,
    }
    assert proxied_paths() == served - {web.METRICS}


@pytest.fixture
async def both_fakes() -> AsyncIterator[tuple[FakeSlackApi, FakeTelegramApi, FakeTeamsApi]]:
    slack = await FakeSlackApi().start()
    telegram = await FakeTelegramApi().start()
    teams = await FakeTeamsApi().start()
    yield slack, telegram, teams
    await slack.stop()
    await telegram.stop()
    await teams.stop()


async def test_a_running_casebook_answers_on_every_proxied_path(
    tmp_path: Path, both_fakes: tuple[FakeSlackApi, FakeTelegramApi, FakeTeamsApi]
) -> None:
    slack, telegram, teams = both_fakes
    config = Config(
        schools=(SchoolConfig(name="Northfield"),),
        storage=StorageConfig(database=tmp_path / "d.db"),
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
            SLACK: SlackConfig(  # installed by OAuth: its install pages are served too
                mode=SlackMode.HTTP,
                api_url=slack.url + "/api/",
                signing_secret=Secret("s"),
                install=True,
                client_id=Secret("111.222"),
                client_secret=Secret("c"),
            ),
            TELEGRAM: TelegramConfig(
                mode=TelegramMode.WEBHOOK,
                api_url=telegram.url,
                webhook_url="https://casebook.example.org/telegram/webhook",
                bot_token=Secret(telegram.token),
                webhook_secret=Secret("w"),
            ),
            TEAMS: TeamsConfig(
                app_id=APP_ID,
                tenant_id=TENANT,
                app_password=Secret(APP_PASSWORD),
                openid_metadata=teams.openid_metadata,
                token_url=teams.token_url,
                service_urls=(teams.service_url,),
            ),
        },
    )
    bot = await RunningBot(config).start()
    try:
        assert bot.session is not None
        for path in sorted(proxied_paths()):
            url = f"http://127.0.0.1:{bot.port}{path}"
            async with bot.session.get(url, allow_redirects=False) as response:
                assert response.status != 404, path  # POST-only routes answer a GET with 405
        async with bot.session.get(f"http://127.0.0.1:{bot.port}/not-served") as response:
            assert response.status == 404
    finally:
        await bot.close()


async def _healthy() -> tuple[bool, dict[str, object]]:
    return True, {}


def _settings(path: Path) -> dict[str, str]:
    """Key = value lines of a unit file (the last one wins, as in systemd)."""
    settings: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings
