from __future__ import annotations

import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.adapters.console_config import CONSOLE, console_places, demo_config
from bot.adapters.slack_config import SLACK, SlackMode, slack_settings
from bot.adapters.telegram_config import TELEGRAM, TelegramMode, telegram_settings
from bot.config.description import describe
from bot.config.parser import load_config
from handlers.settings import (
    ConfigError,
    FollowUp,
    LogFormat,
    LoggingConfig,
    LogLevel,
    SchoolPlaces,
)
from storage.models import Transport

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
SLACK_ENV = {"SLACK_BOT_TOKEN": "xoxb-secret-bot", "SLACK_SIGNING_SECRET": "sign-secret-123"}


def test_the_example_file_is_valid_and_complete() -> None:
    config = load_config(EXAMPLE, {})
    [school] = config.schools
    assert school.name == "Northfield Academy"
    assert school.on(TELEGRAM).report_places == ("-1001234",)
    assert school.on(SLACK).leads == ("U0LEAD",)
    assert config.storage.database == ROOT / "casebook.db"
    assert config.reminders.unanswered == timedelta(hours=2)
    assert config.reminders.escalate == timedelta(days=7)
    assert config.reminders.working_days == frozenset(range(5))
    assert (config.reminders.working_start, config.reminders.working_end) == (time(8), time(17))
    assert config.digest.day == 0 and config.retention.closed_case_days == 365
    assert config.console


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = '[[schools]]\nname = "A"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[schools]\nname=", "not valid TOML"),
        ("", "at least one [[schools]]"),
        (MINIMAL + "slack_lead = ['U1']\n", "line 3: unknown key 'slack_lead'"),
        (
            MINIMAL + "timezone = 'Europe/Londn'\n",
            "line 3: [[schools]] #1 timezone 'Europe/Londn' is unknown",
        ),
        (
            MINIMAL + "telegram_leads = ['111']\n",
            "line 3: [[schools]] #1 telegram_leads must be a list of numbers",
        ),
        (MINIMAL + '[[schools]]\nname = "A"\n', "two schools are called 'A'"),
        (
            MINIMAL + '[[schools]]\nname = "a"\n',
            "line 4: schools 'A' and 'a' differ only in letter case",
        ),
        (
            "[reminders]\nunanswered = '2 weeks'\n" + MINIMAL,
            "line 2: [reminders] unanswered must be like",
        ),
        ("[reminders]\nworking_hours = '17:00-08:00'\n" + MINIMAL, "must end after it starts"),
        ("[reminders]\nworking_days = 'mon-funday'\n" + MINIMAL, "working_days must be like"),
        ("[server]\nport = 70000\n" + MINIMAL, "line 2: [server] port must be a whole number"),
        ("[slack]\nmode = 'carrier-pigeon'\n" + MINIMAL, "line 2: [slack] mode must be one of"),
        (
            "[slack]\nmode = 'http'\n" + MINIMAL,
            "needs the environment variable(s) SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET",
        ),
        ("[telegram]\nmode = 'webhook'\n" + MINIMAL, "needs webhook_url"),
        (
            "[telegram]\nwebhook_url = 'https://'\n" + MINIMAL,
            "line 2: [telegram] webhook_url must start with http:// or https://",
        ),
        # `mode` is a key of [telegram] too: the [slack] one is blamed.
        (
            "[telegram]\nmode = 'polling'\n[slack]\ninstall = true\nmode = 'socket'\n" + MINIMAL,
            "line 5: [slack] install = true needs mode",
        ),
        (
            "[retention]\nclosed_case_days = 0\n" + MINIMAL,
            "closed_case_days must be a whole number of days, 1 or more",
        ),
        ("[digest]\nchart = 'yes'\n" + MINIMAL, "chart must be true or false"),
        ("storage = 3\n" + MINIMAL, "[storage] must be a table"),
        (
            MINIMAL
            + "slack_report_channels = ['C1']\n[[schools]]\nname = 'B'\n"
            + "slack_report_channels = ['C2', 'C1']\n",
            "line 6: slack_report_channels C1 is listed for both 'A' and 'B'",
        ),
        # A key wrong in the second school is blamed there, not where the first has it.
        (
            MINIMAL + "telegram_leads = [1]\n[[schools]]\nname = 'B'\ntelegram_leads = ['2']\n",
            "line 6: [[schools]] #2 telegram_leads must be a list of numbers",
        ),
        # A table inside a school is blamed at its own header, not at a [slack] of that name.
        (
            "[slack]\nmode = 'http'\n" + MINIMAL + "[schools.slack]\nleads = ['U1']\n",
            "line 5: unknown key 'slack' in [[schools]] #1",
        ),
        (
            MINIMAL + "[[schools]]\nname = 'B'\n[schools.slack]\nleads = ['U1']\n",
            "line 5: unknown key 'slack' in [[schools]] #2",
        ),
        (
            MINIMAL + "[[schools]]\nname = 'B'\n[schools.teams]\nleads = ['L']\n",
            "line 5: unknown key 'teams' in [[schools]] #2; a school's Teams keys are written in "
            "the [[schools]] entry itself, like teams_report_channels",
        ),
        (
            MINIMAL + "timezone = 'Europe/London'\n[[schools]]\nname = 'B'\ntimezone = 'Mars'\n",
            "line 6: [[schools]] #2 timezone 'Mars' is unknown",
        ),
        # The same with the next [[schools]] on the very next line.
        (
            MINIMAL
            + "timezone = 'Europe/London'\n[[schools]]\nname = 'B'\ntimezone = 'Mars'\n"
            + "[[schools]]\nname = 'C'\n",
            "line 6: [[schools]] #2 timezone 'Mars' is unknown",
        ),
        (
            MINIMAL
            + "timezone = 'Europe/London'\n[[schools]]  # B\nname = 'B'\ntimezone = 'Mars'\n",
            "line 6: [[schools]] #2 timezone 'Mars' is unknown",
        ),
        (
            MINIMAL
            + "telegram_digest_chat = 1\n[[schools]]\nname = 'B'\n"
            + "telegram_digest_chat = '2'\n",
            "line 6: [[schools]] #2 telegram_digest_chat must be a number",
        ),
        ("[storage]\npath = 'x.db'\n" + MINIMAL + "path = 'y'\n", "line 2: unknown key 'path'"),
        (MINIMAL + "[storage]\ndatabase = 'a.db'\npath = 'x.db'\n", "line 5: unknown key 'path'"),
    ],
)
def test_bad_files_name_the_key_and_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, text), {})
    assert expected in str(error.value)
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize(
    "keys",
    [
        'slack_leads = "U1"\nslack_report_channels = ["C0123"]\nslack_followup = "threaded"\n',
        'telegram_digest_chat = "-9"\ntelegram_report_chats = [-1]\ntelegram_leads = "7"\n',
        'teams_report_channels = "19:a"\nteams_leads = ["L"]\nteams_followup = "threaded"\n',
    ],
)
def test_every_bad_platform_key_of_a_school_is_named_in_one_run(tmp_path: Path, keys: str) -> None:
    path = _write(tmp_path, MINIMAL + "[[schools]]\nname = 'B'\n" + keys)
    with pytest.raises(ConfigError) as error:
        load_config(path, {})
    lines = str(error.value).splitlines()
    assert [line.split(": ")[0].rsplit(", ", 1)[1] for line in lines] == ["line 5", "line 7"]
    assert all("[[schools]] #2 " in line for line in lines), lines


@pytest.mark.parametrize("name", ["3", '""', '"A"'])
def test_a_shared_report_channel_is_named_beside_the_other_problems(
    tmp_path: Path, name: str
) -> None:
    path = _write(
        tmp_path,
        f"[[schools]]\nname = {name}\nslack_report_channels = ['C1']\ntimezone = 'Mars'\n"
        "[[schools]]\nname = 'B'\nslack_report_channels = ['C1']\nslack_leads = 'U1'\n",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path, {})
    first = "'A'" if name == '"A"' else "[[schools]] #1"
    shared = f"line 7: slack_report_channels C1 is listed for both {first} and 'B'"
    assert shared in str(error.value)
    assert "line 4: [[schools]] #1 timezone 'Mars'" in str(error.value)
    assert "line 8: [[schools]] #2 slack_leads" in str(error.value)


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml", {})
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary, {})


def test_secrets_come_from_the_environment_and_are_redacted(tmp_path: Path) -> None:
    path = _write(tmp_path, "[slack]\nmode = 'http'\n" + MINIMAL)
    config = load_config(path, SLACK_ENV)
    assert slack_settings(config.transports.get(SLACK)).bot_token.value == "xoxb-secret-bot"
    shown = describe(config) + repr(config)
    assert "xoxb-secret-bot" not in shown and "sign-secret-123" not in shown
    assert "bot_token=***" in describe(config)


def test_check_config_command_prints_what_will_run_without_secrets(tmp_path: Path) -> None:
    path = _write(tmp_path, "[slack]\nmode = 'http'\n" + MINIMAL)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **SLACK_ENV}
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert b"slack: mode=http" in ok.stdout and b"configuration is valid" in ok.stdout
    assert b"xoxb-secret-bot" not in ok.stdout + ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert bad.returncode == 2
    assert b"SLACK_BOT_TOKEN" in bad.stderr and b"Traceback" not in bad.stderr


def test_without_a_file_the_demo_school_runs_on_the_terminal() -> None:
    config = demo_config()
    assert config.console and config.schools[0].on(CONSOLE).leads == ("demo-lead",)


def test_each_transport_reads_its_own_school_keys_into_places_with_ids_as_text(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "[slack]\nmode = 'HTTP'\n[telegram]\n" + MINIMAL + "slack_report_channels = ['C1']\n"
        "slack_leads = ['U1']\nslack_digest_channel = 'C9'\nslack_followup = 'thread'\n"
        "telegram_report_chats = [-100]\ntelegram_leads = [7]\ntelegram_digest_chat = -900\n"
        "console_leads = ['lena']\n[logging]\nformat = 'json'\n",
    )
    env = {**SLACK_ENV, "TELEGRAM_BOT_TOKEN": "t"}
    config = load_config(path, env)
    [school] = config.schools
    assert school.on(SLACK) == SchoolPlaces(("C1",), ("U1",), "C9", FollowUp.THREAD)
    assert school.on(TELEGRAM) == SchoolPlaces(("-100",), ("7",), "-900", FollowUp.DM)
    assert school.on(CONSOLE) == console_places(("lena",))
    assert school.on(Transport("teams")) == SchoolPlaces()
    assert slack_settings(config.transports[SLACK]).mode is SlackMode.HTTP
    assert telegram_settings(config.transports[TELEGRAM]).mode is TelegramMode.POLLING
    assert list(config.transports) == [SLACK, TELEGRAM] and not config.console
    assert config.logging == LoggingConfig(LogLevel.WARNING, LogFormat.JSON)
    assert config.logging.json


def test_the_terminal_follow_up_style_cannot_be_chosen_for_slack(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "slack_followup = 'stream'\n")
    with pytest.raises(ConfigError, match="slack_followup must be one of 'dm', 'thread'"):
        load_config(path, {})
