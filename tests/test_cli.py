"""The command line: mistakes end in one line and exit status 2, and every option is described."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.app import sync_schools
from bot.config.parser import load_config
from handlers import messages
from storage.db import Database
from tests.chat import Chat, FakeClock

CONFIG = """
[[schools]]
name = "Northfield Academy"
timezone = "Europe/London"
console_leads = ["lena"]

[[schools]]
name = "Southgate"
timezone = "Europe/London"
"""

SUBCOMMANDS = (
    ["run"],
    ["export"],
    ["stats"],
    ["digest"],
    ["purge"],
    ["person"],
    ["person", "export"],
    ["person", "erase"],
    ["backup"],
    ["manifest"],
    ["check-config"],
    ["demo-data"],
)


def casebook(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process; returns (exit status, stdout, stderr)."""
    try:
        code = cli.main(list(args))
    except SystemExit as stop:  # argparse's own exits (--help, --version, usage errors)
        code = stop.code if isinstance(stop.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "casebook.toml"
    path.write_text(CONFIG + f'\n[storage]\ndatabase = "{tmp_path / "cases.db"}"\n')
    return path


@pytest.fixture
def database(config_file: Path) -> Path:
    """A database with one Northfield case, made by reporting a link in the terminal."""
    config = load_config(config_file, {})

    async def make() -> None:
        db = await Database.open(config.storage.database)
        try:
            await sync_schools(db, config)
            chat = Chat(db, config, FakeClock())
            await chat.say(
                "https://www.tiktok.com/@a/video/7301234567890123456", school="Northfield Academy"
            )
        finally:
            await db.close()

    asyncio.run(make())
    return config.storage.database


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["export"],
        ["stats"],
        ["digest"],
        ["purge"],
        ["person", "export", "--console", "alex"],
        ["person", "erase", "--console", "alex", "--yes"],
        ["backup", "copy.db"],
    ],
)
def test_a_missing_database_is_refused_and_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    missing = tmp_path / "mistyped.db"
    args = [a if a != "copy.db" else str(tmp_path / a) for a in args]
    code, out, err = casebook(capsys, *args, "--db", str(missing))
    assert code == 2 and out == ""
    assert "there is no database at" in _one_line(err)
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["export", "--out", "{tmp}/no/such/folder/cases.json"], "there is no folder"),
        (["export", "--out", "{tmp}"], "is a folder"),
        (["backup", "{tmp}/no/such/folder/copy.db"], "there is no folder"),
        (["digest", "--chart", "{tmp}/no/such/folder/chart.png"], "there is no folder"),
        (["digest", "--chart", "{tmp}"], "is a folder"),
        (
            ["person", "export", "--console", "alex", "--out", "{tmp}/missing/p.json"],
            "there is no folder",
        ),
    ],
)
def test_bad_output_paths_are_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config_file: Path,
    database: Path,
    args: list[str],
    expected: str,
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = casebook(capsys, *args, "--config", str(config_file))
    assert code == 2
    assert expected in _one_line(err)


@pytest.mark.parametrize(
    ("command", "written"),
    [
        (["export"], lambda data: len(data) == 1),
        (["person", "export", "--console", "alex"], lambda data: len(data["cases_reported"]) == 1),
    ],
    ids=["export", "person export"],
)
def test_export_out_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    config_file: Path,
    database: Path,
    command: list[str],
    written: Callable[[Any], bool],
) -> None:
    target = tmp_path / "cases.json"
    target.write_text("keep me")
    code, _, err = casebook(capsys, *command, "--out", str(target), "--config", str(config_file))
    assert code == 2 and "--force" in _one_line(err)
    assert target.read_text() == "keep me"
    code, _, err = casebook(
        capsys, *command, "--out", str(target), "--force", "--config", str(config_file)
    )
    assert code == 0, err
    assert written(json.loads(target.read_text()))


def test_school_names_match_in_any_letter_case_everywhere(
    capsys: pytest.CaptureFixture[str], config_file: Path, database: Path
) -> None:
    code, out, _ = casebook(
        capsys, "export", "--school", "northfield ACADEMY", "--config", str(config_file)
    )
    assert code == 0 and [c["school"] for c in json.loads(out)] == ["Northfield Academy"]
    code, out, _ = casebook(
        capsys,
        "stats",
        "--school",
        "NORTHFIELD academy",
        "--format",
        "json",
        "--config",
        str(config_file),
    )
    assert code == 0 and [r["cases"] for r in json.loads(out) if r["platform"] == "all"] == [1]
    code, out, err = casebook(
        capsys, "digest", "--school", "northfield academy", "--config", str(config_file)
    )
    assert code == 0 and "Northfield Academy" in out, err


@pytest.mark.parametrize("command", ["export", "stats", "digest"])
def test_an_unknown_school_exits_2_listing_the_known_ones(
    capsys: pytest.CaptureFixture[str], config_file: Path, database: Path, command: str
) -> None:
    code, out, err = casebook(capsys, command, "--school", "Nope", "--config", str(config_file))
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "'Nope'" in line and "'Northfield Academy'" in line and "'Southgate'" in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = casebook(capsys, "--version")
    assert code == 0 and re.fullmatch(r"casebook \d+\.\d+\.\d+\n", out)


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_each_help_describes_every_option_and_shows_an_example(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, _ = casebook(capsys, *command, "--help")
    assert code == 0
    assert re.search(rf"^example: casebook {' '.join(command)} ", out, re.MULTILINE), out
    lines = out.splitlines()
    options = [i for i, line in enumerate(lines) if re.match(r"^  -|^  [a-z]+$", line)]
    assert options
    for i in options:
        described = re.search(r"\S\s{2,}\S", lines[i].strip()) or (
            i + 1 < len(lines) and re.match(r"^\s{10,}\S", lines[i + 1])
        )
        assert described, f"{command}: {lines[i]!r} has no description"


def test_check_config_takes_config_like_every_other_command(
    capsys: pytest.CaptureFixture[str], config_file: Path
) -> None:
    code, out, err = casebook(capsys, "check-config", "--config", str(config_file))
    assert code == 0, err
    assert "configuration is valid" in out


def test_errors_show_no_internal_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = casebook(capsys, "person")
    assert code == 2
    assert "person_action" not in err and "ACTION" in err


def _check(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return casebook(capsys, "check-config", str(path))


@pytest.mark.parametrize(
    ("places", "key"),
    [
        ('slack_report_channels = ["C1"]', "slack_report_channels C1"),
        ("telegram_report_chats = [-100]", "telegram_report_chats -100"),
    ],
)
def test_two_schools_sharing_a_report_place_are_refused_naming_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, places: str, key: str
) -> None:
    text = f'[[schools]]\nname = "A"\n{places}\n[[schools]]\nname = "B"\n{places}\n'
    code, _, err = _check(capsys, tmp_path, text)
    assert code == 2
    line = _one_line(err)
    assert key in line and "'A'" in line and "'B'" in line


def test_check_config_shows_every_problem_at_once_in_line_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (
        "[server]\n"  # 1
        'port = "eighty"\n'  # 2
        "[reminders]\n"  # 3
        'unanswered = "soon"\n'  # 4
        'colour = "blue"\n'  # 5
        'working_days = "someday"\n'  # 6
        "[[schools]]\n"  # 7
        'name = "A"\n'  # 8
        'timezone = "Mars/Olympus"\n'  # 9
        'telegram_leads = ["lena"]\n'  # 10
        "[[schools]]\n"  # 11
        'name = "A"\n'  # 12
        "[digest]\n"  # 13
        "chart = 3\n"  # 14
    )
    code, _, err = _check(capsys, tmp_path, text)
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    expected = [
        (2, "[server] port must be a whole number"),
        (4, "[reminders] unanswered must be like"),
        (5, "unknown key 'colour' in [reminders]"),
        (6, "[reminders] working_days must be like"),
        (9, "timezone 'Mars/Olympus' is unknown"),
        (10, "telegram_leads must be a list of numbers"),
        (12, "two schools are called 'A'"),
        (14, "[digest] chart must be true or false"),
    ]
    assert len(lines) == len(expected), err
    for line, (number, words) in zip(lines, expected, strict=True):
        assert line.startswith("casebook: ") and f"c.toml, line {number}: " in line, line
        assert words in line, line


def test_check_config_shows_every_school_key_that_is_set(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (
        '[[schools]]\nname = "A"\ntimezone = "Europe/London"\n'
        'slack_report_channels = ["C1"]\nslack_leads = ["U1"]\nslack_digest_channel = "CLEADS"\n'
        'slack_followup = "thread"\ntelegram_report_chats = [-100]\ntelegram_leads = [7]\n'
        'telegram_digest_chat = -1009\nconsole_leads = ["lena"]\n'
    )
    code, out, err = _check(capsys, tmp_path, text)
    assert code == 0, err
    [school] = [line for line in out.splitlines() if line.startswith("school: A")]
    for shown in (
        "slack channels ['C1']",
        "slack leads ['U1']",
        "slack digest channel CLEADS",
        "slack followup thread",
        "telegram chats [-100]",
        "telegram leads [7]",
        "telegram digest chat -1009",
        "terminal leads ['lena']",
    ):
        assert shown in school, school
    assert err == ""


def test_check_config_shows_a_school_only_the_platforms_it_has_keys_for_with_their_defaults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (
        '[[schools]]\nname = "A"\ntimezone = "Europe/London"\nslack_report_channels = ["C1"]\n'
        '[[schools]]\nname = "B"\ntimezone = "Europe/London"\nteams_report_channels = ["19:b"]\n'
        '[[schools]]\nname = "C"\ntimezone = "Europe/London"\n'
    )
    code, out, err = _check(capsys, tmp_path, text)
    assert code == 0, err
    shown = {line.split(" (")[0]: line for line in out.splitlines() if line.startswith("school:")}
    assert shown["school: A"].endswith(
        "in this file; slack channels ['C1'], slack leads [], slack followup dm"
    )
    assert shown["school: B"].endswith(
        "in this file; teams channels ['19:b'], teams leads [], teams followup thread"
    )
    assert shown["school: C"].endswith("in this file")


@pytest.mark.parametrize(
    ("places", "warned"),
    [
        ('slack_report_channels = ["C1"]', ["no slack_leads", "no slack_digest_channel"]),
        ('slack_report_channels = ["C1"]\nslack_leads = ["U1"]', ["no slack_digest_channel"]),
        ('slack_report_channels = ["C1"]\nslack_digest_channel = "C2"', ["no slack_leads"]),
        ("telegram_report_chats = [-100]\ntelegram_leads = [7]", ["no telegram_digest_chat"]),
        ('slack_report_channels = ["C1"]\nslack_leads = ["U1"]\nslack_digest_channel = "C2"', []),
    ],
)
def test_a_school_with_report_places_but_no_leads_or_no_leads_channel_is_warned_about(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, places: str, warned: list[str]
) -> None:
    text = f'[[schools]]\nname = "A"\ntimezone = "Europe/London"\n{places}\n'
    code, _, err = _check(capsys, tmp_path, text)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == len(warned), err
    for line, words in zip(lines, warned, strict=True):
        assert line.startswith("casebook: warning: 'A' has ") and words in line, line


def test_check_config_prints_durations_as_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = '[reminders]\nunanswered = "90m"\n[[schools]]\nname = "A"\ntimezone = "Europe/London"\n'
    code, out, err = _check(capsys, tmp_path, text)
    assert code == 0, err
    assert "unanswered=90m not_reported=24h still_up=48h escalate=7d" in out
    assert "day," not in out and err == ""


def test_closed_case_days_in_words_says_it_needs_a_whole_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = '[retention]\nclosed_case_days = "a year"\n[[schools]]\nname = "A"\n'
    code, _, err = _check(capsys, tmp_path, text)
    assert code == 2 and "must be a whole number" in _one_line(err)


def test_a_school_without_a_timezone_gets_a_warning_naming_the_zone_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _check(capsys, tmp_path, '[[schools]]\nname = "A"\n')
    assert code == 0 and "configuration is valid" in out
    assert "'A' has no timezone; using Europe/London" in _one_line(err)


def test_an_http_manifest_without_a_url_warns_that_its_url_is_a_placeholder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = casebook(capsys, "manifest", "--mode", "http")
    assert code == 0 and "placeholder" in err
    json.loads(out)  # the manifest itself is still whole JSON on stdout
    code, out, err = casebook(
        capsys, "manifest", "--mode", "http", "--url", "https://cb.example/slack/events"
    )
    assert code == 0 and err == "" and "https://cb.example/slack/events" in out


@pytest.mark.parametrize(
    ("url", "not_https", "wrong_path"),
    [
        ("http://cb.example/slack/events", True, False),
        ("https://cb.example/", False, True),
        ("https://cb.example/slack/events/", False, True),
        ("http://cb.example/telegram/webhook", True, True),
    ],
)
def test_a_manifest_url_that_slack_or_casebook_would_refuse_is_warned_about(
    capsys: pytest.CaptureFixture[str], url: str, not_https: bool, wrong_path: bool
) -> None:
    code, out, err = casebook(capsys, "manifest", "--mode", "http", "--url", url)
    assert code == 0
    assert url in out
    assert (messages.manifest_url_not_https(url) in err) is not_https
    assert (messages.manifest_url_wrong_path(url, "/slack/events") in err) is wrong_path
    assert err.count("warning") == not_https + wrong_path


def test_the_modules_loaded_before_running_are_left_out_of_collections() -> None:
    """`casebook run` freezes what was imported, so a full collection in a burst does not walk
    every module's objects again."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        cli._freeze_what_was_imported()
        assert gc.get_freeze_count() > 10_000
        assert not any(o is cli.__dict__ for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_every_help_example_stays_on_one_line_in_a_narrow_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An example is there to be copied and pasted: wrapped, it breaks in the middle."""
    monkeypatch.setenv("COLUMNS", "50")
    parsers = [cli._parser()]
    examples = 0
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
        if parser.epilog:
            assert parser.epilog.startswith("example:")
            assert parser.epilog in parser.format_help().splitlines(), parser.prog
            examples += 1
    assert examples > 10
