"""Kinds of bug the rest of the suite once let through. Each test here fails when its bug is put
back: a lead acting on a school they do not lead, an audit row changed, a formula reaching a
spreadsheet, working hours judged in UTC, a digest keyed by calendar year, an empty secret
accepted, and a report stored before a crash left unhandled at start-up."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.console_config import CONSOLE, console_places
from bot.app import run_console, sync_schools
from bot.config.parser import load_config
from bot.router import Router
from handlers import messages
from handlers.digest import week_key
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.export import FIELDS, ExportRow, to_csv
from handlers.reminders import in_working_hours
from handlers.settings import Config, ConfigError, RemindersConfig, SchoolConfig, StorageConfig
from storage.db import Database
from storage.models import Platform
from tests.chat import Chat, FakeClock, texts
from tests.test_reminders import tick

ROOT = Path(__file__).resolve().parent.parent
TIKTOK = "https://www.tiktok.com/@someone/video/1"
HOURS = RemindersConfig()


# --- A lead names a school they do not lead ---------------------------------------------------

VERBS = [
    "",
    "page 1",
    "1",
    "show 1",
    "assign 1 @sol",
    "status 1 removed",
    "note 1 seen",
    "close 1",
    "reopen 1",
    "merge 1 2",
    "hold 1 police",
    "unhold 1",
    "summary",
    "export",
    "help",
]


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.sqlite_only
async def test_a_lead_naming_a_school_they_do_not_lead_is_refused_for_every_verb(
    chat: Chat, database: Database, verb: str
) -> None:
    await chat.say(TIKTOK, user="sol", school="Southgate")
    await chat.say("https://x.com/u/status/2", user="sol", school="Southgate")
    before = _state(database)
    replies = await chat.command("cases", f'--school "Southgate" {verb}', user="lena")
    assert texts(replies) == messages.not_your_school("Southgate")
    assert all(r.attachment is None for r in replies)
    assert _state(database) == before
    with sqlite3.connect(database.path) as db:
        refused = db.execute("SELECT count(*) FROM audit WHERE action = 'refused'").fetchone()
    assert refused == (1,)


def _state(database: Database) -> list[tuple[object, ...]]:
    with sqlite3.connect(database.path) as db:
        return db.execute(
            "SELECT number, status, assignee_id, legal_hold, merged_into,"
            " (SELECT count(*) FROM notes n WHERE n.case_id = c.id) FROM cases c ORDER BY id"
        ).fetchall()


# --- The audit is append-only -----------------------------------------------------------------

CHANGES = [
    ("case_id", "2"),
    ("school_id", "2"),
    ("action", "'deleted'"),
    ("reason", "'nothing happened'"),
    ("reason", "NULL"),
    ("at", "'2020-01-01T00:00:00Z'"),
    ("actor_id", "2"),
    ("from_value", "'open'"),
    ("from_value", "NULL"),  # not a person reference: may not be blanked
    ("to_value", "'person:2'"),
    ("id", "99"),
]


async def _audited(database: Database) -> int:
    """An audit row with every column filled: case, school, actor, from, to (a person), reason."""
    with sqlite3.connect(database.path) as db:
        db.execute("INSERT INTO people (key, name) VALUES ('console:a', 'a'), ('console:b', 'b')")
        db.execute(
            "INSERT INTO cases (school_id, number, status, platform, source, created_at,"
            " updated_at) VALUES (1, 1, 'new', 'x', 'console', 'T', 'T'),"
            " (2, 1, 'new', 'x', 'console', 'T', 'T')"
        )
        row = db.execute(
            "INSERT INTO audit (case_id, school_id, actor_id, action, from_value, to_value,"
            " reason, at) VALUES (1, 1, 1, 'assigned', 'new', 'person:1', 'asked',"
            " '2026-11-23T09:00:00Z') RETURNING id"
        ).fetchone()
    return int(row[0])


@pytest.mark.parametrize(("column", "value"), CHANGES)
@pytest.mark.sqlite_only
async def test_no_column_of_an_audit_row_can_be_changed(
    database: Database, column: str, value: str
) -> None:
    row = await _audited(database)
    with sqlite3.connect(database.path) as db:
        before = db.execute("SELECT * FROM audit WHERE id = ?", (row,)).fetchone()
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(f"UPDATE audit SET {column} = {value} WHERE id = ?", (row,))
        assert db.execute("SELECT * FROM audit WHERE id = ?", (row,)).fetchone() == before


@pytest.mark.sqlite_only
async def test_an_audit_row_cannot_be_deleted_but_its_person_references_can_be_blanked(
    database: Database,
) -> None:
    row = await _audited(database)
    with sqlite3.connect(database.path) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit WHERE id = ?", (row,))
        db.execute("UPDATE audit SET actor_id = NULL, to_value = NULL WHERE id = ?", (row,))
        assert db.execute(
            "SELECT actor_id, from_value, to_value, reason FROM audit WHERE id = ?", (row,)
        ).fetchone() == (None, "new", None, "asked")


# --- CSV cells a spreadsheet would run --------------------------------------------------------

STARTS = ["=", "+", "-", "@", "\t", "\r"]
ROW = ExportRow(
    id=1,
    school="Northfield",
    status="open",
    urgent=False,
    platform="tiktok",
    url="https://tiktok.com/@a/video/1",
    categories=["harassment"],
    targets=None,
    reported_to_platform=None,
    reported_to_platform_at=None,
    removed_at=None,
    days_to_removal=None,
    reporters=["alex", "sam"],
    source="console",
    assignee="kim",
    created_at="2026-11-23T09:00:00Z",
    updated_at="2026-11-23T09:00:00Z",
    closed_at=None,
    close_reason=None,
    deployment="d1",
    case_key="k1",
    links=["https://tiktok.com/@a/video/1"],
    author_is_pupil="yes",
)


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("school", "{s}SUM(1)"),
        ("reporters", ["alex", "{s}cmd|' /C calc'!A0"]),
        ("reporters", ["{s}HYPERLINK(1)"]),
        ("assignee", "{s}kim"),
        ("close_reason", "{s}1"),
        ("url", "{s}https://x"),
        ("links", ["{s}https://x"]),
    ],
)
def test_every_csv_cell_a_spreadsheet_would_run_is_neutralised(
    start: str, field: str, value: str | list[str]
) -> None:
    filled = value.format(s=start) if isinstance(value, str) else [v.format(s=start) for v in value]
    row = dataclasses.replace(ROW, **{field: filled})
    header, record = list(csv.reader(io.StringIO(to_csv([row]), newline="")))
    cell = record[FIELDS.index(field)]
    assert header == list(FIELDS)
    joined = filled if isinstance(filled, str) else "; ".join(filled)
    assert cell == ("'" + joined if joined.startswith(start) else joined)
    assert not any(c.startswith(tuple(STARTS)) for c in record)


async def test_names_from_the_chat_are_neutralised_in_the_leads_csv(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = Config(
        schools=(SchoolConfig(name="=Northfield", places={CONSOLE: console_places(("lena",))}),),
        storage=StorageConfig(database=tmp_path / "c.db"),
    )
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    chat = Chat(database, config, clock)
    await chat.say(TIKTOK, user="+sam", school="=Northfield")
    await chat.say(TIKTOK, user="@kim", school="=Northfield")
    await chat.command("cases", "assign 1 -ali", user="lena", school="=Northfield")
    await chat.say("https://x.com/u/status/3", user="-ali", school="=Northfield")
    await chat.command("cases", "assign 1 -ali", user="lena", school="=Northfield")
    replies = await chat.command("cases", "export", user="lena", school="=Northfield")
    await database.close()
    [attachment] = [r.attachment for r in replies if r.attachment]
    rows = list(csv.reader(io.StringIO(attachment.data.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=Northfield" in cells and "'-ali" in cells and "'+sam; @kim" in cells
    assert not any(c.startswith(tuple(STARTS)) for c in cells)


# --- Working hours are the school's -----------------------------------------------------------

LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2026, 6, 15, 7, 30, tzinfo=UTC), LONDON, True),  # 08:30 BST, Monday
        (datetime(2026, 6, 15, 16, 30, tzinfo=UTC), LONDON, False),  # 17:30 BST
        (datetime(2026, 6, 19, 16, 30, tzinfo=UTC), LONDON, False),  # Friday 17:30 BST
        (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), TOKYO, True),  # 09:30 JST, Monday
        (datetime(2026, 11, 23, 9, 30, tzinfo=UTC), TOKYO, False),  # 18:30 JST
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), TOKYO, True),  # Monday 08:30 JST
        (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), TOKYO, False),  # Saturday 08:30 JST
    ],
)
def test_working_hours_are_judged_in_the_schools_zone(
    moment: datetime, zone: ZoneInfo, expected: bool
) -> None:
    assert in_working_hours(moment, zone, HOURS) is expected


@pytest.mark.parametrize(
    ("zone", "reported"),
    [
        # 08:00 local on a Monday, outside 08:00-17:00 when read as UTC
        ("Europe/London", datetime(2026, 6, 15, 7, 0, tzinfo=UTC)),
        ("Asia/Tokyo", datetime(2026, 11, 22, 23, 0, tzinfo=UTC)),
    ],
)
async def test_a_reminder_goes_out_at_the_start_of_the_schools_working_day(
    tmp_path: Path, zone: str, reported: datetime
) -> None:
    config = Config(
        schools=(
            SchoolConfig(
                name="Northfield", timezone=zone, places={CONSOLE: console_places(("lena",))}
            ),
        ),
        storage=StorageConfig(database=tmp_path / "c.db"),
    )
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    chat = Chat(database, config, FakeClock(reported))
    await chat.say(TIKTOK)
    chat.clock.advance(hours=24, minutes=30)  # 08:30 local the next day
    sent = await tick(chat)
    await database.close()
    assert [r.text for r in sent if r.place.kind is PlaceKind.LEADS] == [
        messages.reminder_not_reported(1, Platform.TIKTOK, 24)
    ]


# --- The digest is keyed by ISO week ----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime(2025, 12, 29, 12), (2026, 1)),
        (datetime(2025, 12, 30, 12), (2026, 1)),
        (datetime(2025, 12, 31, 12), (2026, 1)),
        (datetime(2026, 1, 1, 12), (2026, 1)),
        (datetime(2026, 1, 3, 12), (2026, 1)),
        (datetime(2026, 12, 29, 12), (2026, 53)),
        (datetime(2026, 12, 31, 12), (2026, 53)),
        (datetime(2027, 1, 1, 12), (2026, 53)),
        (datetime(2027, 1, 2, 12), (2026, 53)),
        (datetime(2027, 1, 3, 12), (2026, 53)),
        (datetime(2027, 1, 4, 12), (2027, 1)),
    ],
)
def test_the_digest_key_around_new_year_is_the_iso_year_and_week(
    day: datetime, expected: tuple[int, int]
) -> None:
    school = SchoolConfig(name="Northfield")
    assert week_key(day.replace(tzinfo=LONDON), school) == expected


# --- Empty secrets ----------------------------------------------------------------------------

SCHOOL = '[[schools]]\nname = "A"\n'
SECRETS = [
    (
        "[slack]\nmode = 'http'\n",
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": ""},
        "SLACK_SIGNING_SECRET",
    ),
    (
        "[telegram]\nmode = 'webhook'\nwebhook_url = 'https://e.example/telegram/webhook'\n",
        {"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_WEBHOOK_SECRET": ""},
        "TELEGRAM_WEBHOOK_SECRET",
    ),
]


@pytest.mark.parametrize(("section", "env", "name"), SECRETS)
def test_an_empty_secret_fails_check_config(
    tmp_path: Path, section: str, env: dict[str, str], name: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(section + SCHOOL, encoding="utf-8")
    with pytest.raises(ConfigError, match=name):
        load_config(path, env)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(path)],
        capture_output=True,
        text=True,
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2 and name in result.stderr


# --- A report stored before a crash -----------------------------------------------------------


async def test_a_report_left_in_the_inbox_by_a_crash_is_handled_at_terminal_start_up(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = Config(
        schools=(
            SchoolConfig(name="Demo School", places={CONSOLE: console_places(("demo-lead",))}),
        ),
        storage=StorageConfig(database=tmp_path / "c.db"),
    )
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    router = Router(database, config, clock, frozenset({CONSOLE}))
    user = User(CONSOLE, "demo-staff", "demo-staff")
    place = Place(CONSOLE, "demo-staff", PlaceKind.DIRECT)
    report = Incoming(IncomingKind.MESSAGE, place, user, text=TIKTOK, school="Demo School")
    await router.receive(report, CONSOLE, "before-the-crash")
    await database.close()  # the process died here: stored, never handled

    output = io.StringIO()
    await run_console(config, io.BytesIO(b""), output, clock)  # nothing more is typed
    assert messages.case_logged(1, Platform.TIKTOK) in output.getvalue()
    with sqlite3.connect(config.storage.database) as db:
        assert db.execute("SELECT count(*) FROM cases").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone() == (
            0,
        )
