"""docs/leads.md shows real commands: every `/cases …` line in it is run through the terminal
transport as a lead, and none may be unknown; its example summary (period line included), alerts
and line of the case list are what Casebook writes."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.console_config import CONSOLE
from handlers import digest, messages
from handlers.events import Incoming, IncomingKind, User
from handlers.leads.dispatch import COMMANDS as _COMMANDS
from handlers.settings import SchoolConfig
from storage.db import Database
from storage.models import Category, Platform
from tests.chat import STAFF_ROOM, Chat, texts
from tests.test_console import casebook

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "leads.md"
# A command in backticks, or a line of a code block, starting with a slash.
_INLINE = re.compile(r"`(/[a-z]+(?: [^`\n]*)?)`")


def guide_commands() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    found = _INLINE.findall(text)
    in_blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)
    found += [line for block in in_blocks for line in block.splitlines() if line.startswith("/")]
    return list(dict.fromkeys(found))


def cases_commands() -> list[str]:
    """The `/cases …` examples, not the templates in the table's middle column (`N`, `…`)."""
    return [
        c
        for c in guide_commands()
        if c.split(" ")[0] == "/cases" and not re.search(r"\b[NM]\b|…|\[", c)
    ]


def test_every_cases_command_in_the_guide_is_known_to_casebook(tmp_path: Path) -> None:
    commands = cases_commands()
    assert len(commands) >= 20, commands
    # A case to act on, so the examples run against something real.
    session = "https://www.tiktok.com/@someone/video/7301234567890123456\n/lead\n"
    session += "".join(f"{command}\n" for command in commands)
    # In tmp_path: the terminal saves /cases evidence's page in the current folder.
    run = casebook("run", "--db", str(tmp_path / "guide.db"), stdin=session.encode(), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert "I do not know /cases" not in out, out
    assert messages.BAD_QUOTES not in out
    assert messages.NOT_A_LEAD not in out
    assert "Traceback" not in out + run.stderr.decode()


def test_the_guide_shows_every_lead_command_with_an_example() -> None:
    shown = {
        c.split(" ")[1] for c in cases_commands() if " " in c and not c.startswith("/cases --")
    }
    assert set(_COMMANDS) - {"list"} <= shown | {"list"}, set(_COMMANDS) - shown
    assert {"page", "help"} <= shown


def test_other_commands_in_the_guide_are_known_too(tmp_path: Path) -> None:
    others = [c for c in guide_commands() if c.split(" ")[0] != "/cases"]
    assert {c.split(" ")[0] for c in others} >= {"/report", "/mycases", "/help", "/whoami"}
    session = "".join(
        f"{c} https://x.com/a/status/1\n" if c == "/report" else f"{c}\n" for c in others
    )
    run = casebook("run", "--db", str(tmp_path / "g.db"), stdin=session.encode(), cwd=tmp_path)
    out = run.stdout.decode()
    assert "I do not know the command" not in out, out


def test_the_guides_weekly_summary_is_the_one_casebook_writes() -> None:
    """Through the digest's own text, period line included, for a Monday 08:00 digest."""
    [example] = re.findall(r"```text\n(.*?)\n```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    school = SchoolConfig(name="Northfield Academy", timezone="Europe/London")
    end = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    written = digest.Digest(
        school=school.name,
        start=digest.week_before(end, school),
        end=end,
        new_by_platform={"tiktok": 2, "instagram": 1},
        new_by_category={"harassment": 2, "false-allegation": 1},
        open_by_age={"under a week": 3, "1 to 4 weeks": 1},
        removed_by_platform={"tiktok": (1, 2.5)},
        waiting_over_7_days=1,
        unassigned=1,
    )
    assert example == digest.text(written, school)


def test_the_guides_alert_examples_are_what_casebook_sends() -> None:
    text = " ".join(GUIDE.read_text(encoding="utf-8").split())
    assert f"*{messages.new_case_alert(14, Platform.TIKTOK)}*" in text
    urgent = messages.urgent_case_alert(15, Platform.INSTAGRAM, ["Threat of violence"])
    assert f"*{urgent}*" in text


async def test_the_guides_list_example_is_the_line_casebook_shows(
    chat: Chat, database: Database
) -> None:
    [example] = re.findall(r"`(#14 · [^`]*)`", GUIDE.read_text(encoding="utf-8"))
    sam = User(CONSOLE, "sam", "Sam Ortiz")
    await chat.send(Incoming(IncomingKind.MESSAGE, STAFF_ROOM, sam, text="hi", school="Northfield"))
    for n in range(13):  # sam's "hi" is case 1
        await chat.say(f"https://www.tiktok.com/@someone/video/73012345678901234{n:02d}")
    async with database.transaction() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        case = await unit.cases.by_number(school.id, 14)
        assert case is not None
        await unit.cases.save(
            dataclasses.replace(case, categories=frozenset({Category.HARASSMENT}))
        )
    await chat.command("cases", "status 14 reported", user="lena")
    await chat.command("cases", "assign 14 @sam", user="lena")
    chat.clock.advance(days=2, hours=1)
    listed = texts(await chat.command("cases", user="lena")).splitlines()
    assert example in listed, listed


async def test_a_note_with_an_apostrophe_is_stored_as_written(chat: Chat) -> None:
    await chat.say("https://x.com/someone/status/1")
    replies = await chat.command("cases", "note 1 spoke to the pupil's parents", user="lena")
    assert texts(replies) == messages.note_added(1)
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "spoke to the pupil's parents" in shown
    assert texts(await chat.command("cases", 'note 1 "unclosed', user="lena")) == (
        messages.BAD_QUOTES
    )
