"""Setting Teams up: the `[teams]` section read and described, the app package Teams takes, and
what a Teams activity becomes (pure functions, no server)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from microsoft_agents.activity import Activity

from bot import cli
from bot.adapters.teams import events
from bot.adapters.teams.config import TEAMS, teams_settings
from bot.config.description import describe
from bot.config.parser import load_config
from handlers.events import IncomingKind, PlaceKind
from handlers.settings import ConfigError, FollowUp
from tests.fakes.teams_api import BOT_ID, TENANT, activity
from tests.teams_harness import LEADS_CHANNEL, STAFF_CHANNEL, TIKTOK

ENV = {"TEAMS_APP_PASSWORD": "very-secret-password"}
TEAMS_FILE = f"""
[server]
port = 8080
[teams]
app_id = "app-123"
tenant_id = "{TENANT}"
[[schools]]
name = "Northfield"
teams_report_channels = ["{STAFF_CHANNEL}"]
teams_leads = ["aad-lead-1"]
teams_digest_channel = "{LEADS_CHANNEL}"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "casebook.toml"
    path.write_text(text)
    return path


def test_the_teams_section_and_a_schools_teams_keys_are_read(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    teams = teams_settings(config.transports[TEAMS])
    assert (teams.app_id, teams.tenant_id, teams.app_password.value) == (
        "app-123",
        TENANT,
        "very-secret-password",
    )
    assert teams.token_url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert teams.service_urls == ("https://smba.trafficmanager.net/",)
    assert teams.openid_metadata.startswith("https://login.botframework.com/")
    places = config.schools[0].on(TEAMS)
    assert places.report_places == (STAFF_CHANNEL,) and places.leads == ("aad-lead-1",)
    assert places.digest_place == LEADS_CHANNEL and places.follow_up is FollowUp.THREAD


def test_check_config_describes_the_teams_section_without_its_secret(tmp_path: Path) -> None:
    text = describe(load_config(_write(tmp_path, TEAMS_FILE), ENV))
    assert f"teams: app_id=app-123 tenant_id={TENANT} app_password=***" in text
    assert "service_urls=['https://smba.trafficmanager.net/']" in text
    assert (
        f"teams channels ['{STAFF_CHANNEL}'], teams leads ['aad-lead-1'],"
        f" teams digest channel {LEADS_CHANNEL}, teams followup thread"
    ) in text
    assert "very-secret-password" not in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('app_id = "app-123"', "[teams] needs app_id"),
        (f'tenant_id = "{TENANT}"', "[teams] needs tenant_id"),
    ],
)
def test_a_teams_section_without_its_ids_is_refused(
    tmp_path: Path, change: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_config(_write(tmp_path, TEAMS_FILE.replace(change, "")), ENV)


def test_a_teams_section_without_the_app_password_in_the_environment_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="TEAMS_APP_PASSWORD"):
        load_config(_write(tmp_path, TEAMS_FILE), {})


def test_a_service_url_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    text = TEAMS_FILE.replace(f'tenant_id = "{TENANT}"', 'tenant_id = "t"\nservice_urls = ["x"]')
    with pytest.raises(ConfigError, match="service_urls"):
        load_config(_write(tmp_path, text), ENV)


def test_the_package_holds_the_manifest_and_both_icons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "very-secret-password")
    path = _write(tmp_path, TEAMS_FILE)
    out = tmp_path / "casebook-teams.zip"
    code = cli.main(
        [
            "manifest",
            "--platform",
            "teams",
            "--config",
            str(path),
            "--url",
            "https://casebook.school.example",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        color, outline = archive.read("color.png"), archive.read("outline.png")
    assert manifest["manifestVersion"] == "1.19" and "v1.19" in manifest["$schema"]
    assert manifest["id"] == "app-123"
    [bot] = manifest["bots"]
    assert bot["botId"] == "app-123" and bot["scopes"] == ["team", "groupChat", "personal"]
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert titles == ["/cases", "/mycases", "/withdraw", "/whoami", "/help"]
    assert all(c["description"] for c in bot["commandLists"][0]["commands"])
    assert manifest["webApplicationInfo"]["id"] == "app-123"
    assert manifest["authorization"]["permissions"]["resourceSpecific"] == [
        {"name": "ChannelMessage.Read.Group", "type": "Application"},
        {"name": "ChatMessage.Read.Chat", "type": "Application"},
    ]
    assert manifest["validDomains"] == ["casebook.school.example"]
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert _png_size(color) == (192, 192) and _png_size(outline) == (32, 32)
    assert "very-secret-password" not in json.dumps(manifest)


def test_the_slack_manifest_is_still_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["manifest"]) == 0
    assert "oauth_config" in json.loads(capsys.readouterr().out)


def test_a_teams_package_without_a_teams_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["manifest", "--platform", "teams", "--out", str(tmp_path / "x.zip")])
    assert code != 0 and "[teams]" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    stream = io.BytesIO(data[16:24])
    return int.from_bytes(stream.read(4), "big"), int.from_bytes(stream.read(4), "big")


def _parsed(body: dict[str, object]) -> Activity:
    body["serviceUrl"] = body.get("serviceUrl") or "https://smba.trafficmanager.net/emea/"
    return Activity.model_validate(body)


def test_a_channel_message_becomes_a_report_in_its_own_thread(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    incoming = events.incoming(config, _parsed(activity(TIKTOK, STAFF_CHANNEL, activity_id="42")))
    assert incoming is not None and incoming.kind is IncomingKind.MESSAGE
    assert incoming.school == "Northfield" and incoming.user.id == "aad-teacher-1"
    assert incoming.place.id == STAFF_CHANNEL and incoming.place.kind is PlaceKind.CHANNEL
    assert incoming.thread == "42" and incoming.reply_to is None
    assert incoming.event_id == f"message:{STAFF_CHANNEL}|42"


def test_a_reply_in_a_thread_keeps_the_thread_and_names_the_first_post(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    reply = activity("more", f"{STAFF_CHANNEL};messageid=42", activity_id="43")
    incoming = events.incoming(config, _parsed(reply))
    assert incoming is not None and incoming.thread == "42"
    assert incoming.reply_to == f"{STAFF_CHANNEL}|42" and incoming.place.id == STAFF_CHANNEL


def test_the_bots_mention_is_removed_and_other_mentions_keep_the_name(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    mention = {"type": "mention", "text": "<at>Casebook</at>", "mentioned": {"id": BOT_ID}}
    other = {"type": "mention", "text": "<at>Sam</at>", "mentioned": {"id": "29:sam"}}
    body = activity(
        f"<at>Casebook</at> about <at>Sam</at> &amp; {TIKTOK}",
        STAFF_CHANNEL,
        entities=[mention, other],
    )
    incoming = events.incoming(config, _parsed(body))
    assert incoming is not None and incoming.text == f"about @Sam & {TIKTOK}"


def test_a_personal_chat_is_the_persons_own_place_and_commands_are_read(
    tmp_path: Path,
) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    body = activity("/cases show 3", "a:personal-chat", kind="personal", user="aad-lead-1")
    incoming = events.incoming(config, _parsed(body))
    assert incoming is not None and incoming.kind is IncomingKind.COMMAND
    assert (incoming.command, incoming.text) == ("cases", "show 3")
    assert incoming.place.kind is PlaceKind.DIRECT and incoming.place.id == "aad-lead-1"


def test_a_message_in_a_channel_of_no_school_is_ignored_and_named_for_the_log(
    tmp_path: Path,
) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    body = _parsed(activity(TIKTOK, "19:elsewhere@thread.tacv2"))
    assert events.incoming(config, body) is None
    assert events.unconfigured_channel(config, body) == "19:elsewhere@thread.tacv2"
    leads = _parsed(activity("hello", LEADS_CHANNEL))
    assert events.incoming(config, leads) is None
    assert events.unconfigured_channel(config, leads) is None


def test_ids_from_another_tenant_are_qualified_with_it_and_meet_no_configured_school(
    tmp_path: Path,
) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    other = "99999999-0000-4000-8000-000000000099"
    report = activity(TIKTOK, STAFF_CHANNEL, user="aad-lead-1", tenant=other)
    assert events.incoming(config, _parsed(report)) is None
    assert events.unconfigured_channel(config, _parsed(report)) == f"{other}/{STAFF_CHANNEL}"
    command = activity("/cases", STAFF_CHANNEL, user="aad-lead-1", tenant=other)
    incoming = events.incoming(config, _parsed(command))
    assert incoming is not None and incoming.school is None
    assert incoming.user.id == f"{other}/aad-lead-1"
    assert incoming.place.id == f"{other}/{STAFF_CHANNEL}"


def test_the_bots_own_membership_becomes_added_removed_or_nothing(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TEAMS_FILE), ENV)
    new = "19:new-room@thread.tacv2"

    def read(conversation: str = new, kind: str = "channel", **change: Any) -> object:
        body = activity(None, conversation, kind=kind, **change)
        found = events.incoming(config, _parsed(body))
        return None if found is None else (found.kind, found.place.id)

    bot = [{"id": BOT_ID}]
    assert read(type="conversationUpdate", membersAdded=bot) == (IncomingKind.ADDED, new)
    assert read(type="installationUpdate", action="add") == (IncomingKind.ADDED, new)
    assert read(type="conversationUpdate", membersRemoved=bot) == (IncomingKind.REMOVED, new)
    assert read(type="installationUpdate", action="remove") == (IncomingKind.REMOVED, new)
    assert read(type="installationUpdate", action="remove", id=None) == (
        IncomingKind.REMOVED,
        new,
    )
    # Someone else joining, a new version of the app, a person's own chat: nothing.
    assert read(type="conversationUpdate", membersAdded=[{"id": "29:someone"}]) is None
    assert read(type="installationUpdate", action="add-upgrade") is None
    assert read("a:personal", kind="personal", type="installationUpdate", action="add") is None
    # A channel the config file names already is no news: nothing is said there.
    assert read(STAFF_CHANNEL, type="conversationUpdate", membersAdded=bot) is None
    assert read(LEADS_CHANNEL, type="installationUpdate", action="add") is None


async def test_check_online_gets_a_token_and_the_keys_and_says_a_wrong_password(
    tmp_path: Path,
) -> None:
    from bot.adapters.teams import online
    from handlers.settings import Secret
    from tests.fakes.teams_api import FakeTeamsApi
    from tests.teams_harness import teams_config

    fake = await FakeTeamsApi().start()
    try:
        settings = teams_settings(teams_config(tmp_path / "x.db", fake).transports[TEAMS])
        out = io.StringIO()
        assert await online.check(settings, out)
        assert "got a token" in out.getvalue() and "1 Bot Framework signing keys" in out.getvalue()
        wrong = dataclasses.replace(settings, app_password=Secret("not-the-password"))
        out = io.StringIO()
        assert not await online.check(wrong, out)
        assert "TEAMS_APP_PASSWORD" in out.getvalue() and "not-the-password" not in out.getvalue()
    finally:
        await fake.stop()


@pytest.mark.parametrize("url", ["casebook.school.example", "http://casebook.school.example"])
def test_a_teams_package_for_an_address_that_is_not_https_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "very-secret-password")
    path = _write(tmp_path, TEAMS_FILE)
    out = tmp_path / "casebook-teams.zip"
    args = ["manifest", "--platform", "teams", "--config", str(path), "--out", str(out)]
    assert cli.main([*args, "--url", url]) == 2
    assert "https" in capsys.readouterr().err and not out.exists()


def test_a_teams_package_replaces_a_file_only_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "very-secret-password")
    path = _write(tmp_path, TEAMS_FILE)
    out = tmp_path / "casebook-teams.zip"
    out.write_bytes(b"someone's file")
    args = ["manifest", "--platform", "teams", "--config", str(path), "--out", str(out)]
    args += ["--url", "https://casebook.school.example"]
    assert cli.main(args) == 2 and out.read_bytes() == b"someone's file"
    assert "--force" in capsys.readouterr().err
    assert cli.main([*args, "--force"]) == 0 and zipfile.is_zipfile(out)
