"""The chat platforms' secrets are required by the commands that use them, and only by those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import casebook

SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)

HOSTED_SLACK = """
[slack]
install = true

[storage]
database = "hosted.db"
"""


@pytest.fixture
def host_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hosted Casebook's config, with none of the Slack secrets in the environment."""
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CASEBOOK_DATABASE_URL", raising=False)
    path = tmp_path / "host.toml"
    path.write_text(HOSTED_SLACK, encoding="utf-8")
    return path


def test_the_manifest_that_creates_the_slack_app_needs_none_of_its_secrets(
    capsys: pytest.CaptureFixture[str], host_config: Path
) -> None:
    url = "https://cb.example/slack/events"
    code, out, err = casebook(capsys, "manifest", "--config", str(host_config), "--url", url)
    assert code == 0, err
    manifest = json.loads(out)
    assert url in out and "oauth_config" in manifest  # the install manifest, from the file


def test_school_list_reads_the_database_without_the_slack_secrets(
    capsys: pytest.CaptureFixture[str], host_config: Path
) -> None:
    assert casebook(capsys, "school", "add", "Southgate", "--config", str(host_config))[0] == 0
    code, out, err = casebook(capsys, "school", "list", "--config", str(host_config))
    assert code == 0, err
    assert "Southgate" in out


def test_check_config_and_run_still_need_the_secrets(
    capsys: pytest.CaptureFixture[str], host_config: Path
) -> None:
    for command in (["check-config"], ["run"]):
        code, out, err = casebook(capsys, *command, "--config", str(host_config))
        assert code == 2 and "SLACK_CLIENT_ID" in err and "configuration is valid" not in out


def test_the_teams_package_needs_no_app_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEAMS_APP_PASSWORD", raising=False)
    config = tmp_path / "casebook.toml"
    config.write_text('[teams]\napp_id = "app-123"\ntenant_id = "tenant-1"\n', encoding="utf-8")
    out = tmp_path / "casebook-teams.zip"
    code, _, err = casebook(
        capsys,
        "manifest",
        "--platform",
        "teams",
        "--config",
        str(config),
        "--url",
        "https://cb.example",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert out.stat().st_size > 0
