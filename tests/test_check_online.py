"""`casebook check-config --online`: the real command, its real Slack and Telegram clients, and
the fake APIs on loopback saying which configured ids exist."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi

ROOT = Path(__file__).resolve().parent.parent
SLACK_TOKEN = "xoxb-online-check-token-42"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    api.channels["CREPORT"] = {"name": "staff-reports", "is_member": True}
    api.channels["CLEADS"] = {"name": "safeguarding", "is_member": True}
    yield api
    await api.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    api.chats[-100111] = "Northfield staff"
    api.chats[-100999] = "Northfield leads"
    yield api
    await api.stop()


def write_config(tmp_path: Path, slack: FakeSlackApi, telegram: FakeTelegramApi) -> Path:
    path = tmp_path / "casebook.toml"
    path.write_text(
        f"""
[storage]
database = "casebook.db"

[slack]
mode = "http"
api_url = "{slack.url}/api/"

[telegram]
mode = "polling"
api_url = "{telegram.url}"

[[schools]]
name = "Northfield"
slack_report_channels = ["CREPORT"]
slack_digest_channel = "CLEADS"
telegram_report_chats = [-100111]
telegram_digest_chat = -100999
""",
        encoding="utf-8",
    )
    return path


async def check_online(config: Path, telegram: FakeTelegramApi) -> tuple[int, str, str]:
    """Run `casebook check-config FILE --online` while this test's event loop serves the fakes."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check-config",
        str(config),
        "--online",
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": "signing",
            "TELEGRAM_BOT_TOKEN": telegram.token,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_everything_found_exits_0(
    tmp_path: Path, slack: FakeSlackApi, telegram: FakeTelegramApi
) -> None:
    code, out, err = await check_online(write_config(tmp_path, slack, telegram), telegram)
    assert code == 0, out + err
    assert "slack: signed in as casebook (team T1)" in out
    assert "slack: Northfield: slack_report_channels CREPORT (staff-reports): found" in out
    assert "slack: Northfield: slack_digest_channel CLEADS (safeguarding): found" in out
    assert "telegram: signed in as @casebook_test_bot" in out
    assert "telegram: Northfield: telegram_report_chats -100111 (Northfield staff): found" in out
    assert "telegram: Northfield: telegram_digest_chat -100999 (Northfield leads): found" in out
    assert "online: all 4 configured channels and chats found" in out
    assert slack.of("auth.test") and telegram.of("getMe")
    assert [c["channel"] for c in slack.of("conversations.info")] == ["CREPORT", "CLEADS"]
    assert SLACK_TOKEN not in out + err and telegram.token not in out + err


async def test_a_missing_channel_and_a_group_the_bot_left_exit_2(
    tmp_path: Path, slack: FakeSlackApi, telegram: FakeTelegramApi
) -> None:
    del slack.channels["CREPORT"]
    slack.channels["CLEADS"]["is_member"] = False
    telegram.bot_status[-100999] = "left"
    code, out, _ = await check_online(write_config(tmp_path, slack, telegram), telegram)
    assert code == 2
    assert "slack: Northfield: slack_report_channels CREPORT: not found" in out
    assert "slack_digest_channel CLEADS (safeguarding): bot not a member" in out
    assert "telegram_report_chats -100111 (Northfield staff): found" in out
    assert "telegram_digest_chat -100999 (Northfield leads): bot not a member" in out
    assert "online: 3 of 4 configured channels and chats missing" in out


async def test_a_telegram_chat_that_does_not_exist_is_not_found(
    tmp_path: Path, slack: FakeSlackApi, telegram: FakeTelegramApi
) -> None:
    del telegram.chats[-100111]
    code, out, _ = await check_online(write_config(tmp_path, slack, telegram), telegram)
    assert code == 2
    assert "telegram: Northfield: telegram_report_chats -100111: not found" in out


async def test_a_rejected_slack_token_is_said_plainly_and_exits_2(
    tmp_path: Path, slack: FakeSlackApi, telegram: FakeTelegramApi
) -> None:
    slack.auth_error = "invalid_auth"
    code, out, err = await check_online(write_config(tmp_path, slack, telegram), telegram)
    assert code == 2
    assert "slack: auth.test failed (invalid_auth): check SLACK_BOT_TOKEN" in out
    assert "Traceback" not in out + err


async def test_with_no_network_each_platform_says_it_cannot_be_reached(tmp_path: Path) -> None:
    # Port 1 on loopback: nothing listens there, so every request is refused at once.
    unreachable = "http://127.0.0.1:1"
    config = tmp_path / "casebook.toml"
    config.write_text(
        f"""
[slack]
mode = "http"
api_url = "{unreachable}/api/"

[telegram]
mode = "polling"
api_url = "{unreachable}/bot"

[[schools]]
name = "Northfield"
slack_report_channels = ["CREPORT"]
slack_digest_channel = "CLEADS"
telegram_report_chats = [-100111]
telegram_digest_chat = -100999
""",
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check-config",
        str(config),
        "--online",
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": "signing",
            "TELEGRAM_BOT_TOKEN": "123:unreachable",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    raw_out, raw_err = await asyncio.wait_for(process.communicate(), 60)
    out, err = raw_out.decode(), raw_err.decode()
    assert process.returncode == 2, out + err
    assert "slack: cannot reach Slack" in out
    assert "telegram: cannot reach Telegram" in out
    assert "TELEGRAM_BOT_TOKEN" not in out
    assert "0 of 0" not in out
    assert (
        "online: 0 of 4 configured channels and chats missing, 4 not checked; "
        "a platform could not be asked" in out
    ), out
    assert "Traceback" not in out + err
