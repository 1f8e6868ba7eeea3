"""A database that has seen a bit of everything: two schools, answered and unanswered questions,
a merge, notes, an assignment, a closed case, an erased person, reminders sent and a digest.

For tests that must carry every kind of row, such as copying a database between stores.
"""

from __future__ import annotations

from pathlib import Path

from bot.adapters.console_config import CONSOLE
from bot.app import sync_schools
from bot.scheduler import send_due_reminders, send_weekly_digest
from handlers import privacy
from storage.db import Database
from tests.chat import Chat, FakeClock
from tests.conftest import two_schools

CONSOLE_ONLY = frozenset({CONSOLE})


async def fill(path: Path) -> None:
    config = two_schools(path)
    clock = FakeClock()
    database = await Database.open(path)
    try:
        await sync_schools(database, config)
        chat = Chat(database, config, clock)
        await chat.say("threat: https://www.tiktok.com/@a/video/1", user="alex")
        for answer in ("1", "7", "done", "neither", "no", "3"):
            await chat.say(answer, user="alex")
        await chat.say("https://instagram.com/p/Abc?igsh=x", user="sam")
        await chat.say("skip", user="sam")
        await chat.say("https://vm.tiktok.com/ZMshort/ again", user="jo")
        await chat.say("https://x.com/u/status/9", user="sol", school="Southgate")
        await chat.command("cases", "merge 3 1", user="lena")
        await chat.command("cases", "note 1 called the parent", user="lena")
        await chat.command("cases", "assign 2 lena", user="lena")
        await chat.command("cases", "status 2 reported", user="lena")
        await chat.command("cases", "close 2 resolved", user="lena")
        await chat.command("cases", "list", user="sam")  # refused: an audit row
        clock.advance(days=1, hours=3)
        await send_due_reminders(database, config, clock.now(), CONSOLE_ONLY)
        await send_weekly_digest(database, config, config.schools[0], clock.now(), CONSOLE_ONLY)
        await chat.delivery.flush()
        async with database.transaction() as unit:
            await privacy.erase_person(unit, "console:jo", clock.now())
    finally:
        await database.close()
