"""`/withdraw` alone withdraws the person's latest report in the school they write in, never a
later one of theirs in another school."""

from __future__ import annotations

from handlers import messages
from storage.models import Status
from storage.store import Store
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
INSTA = "https://instagram.com/p/Abc"


async def _status(database: Store, school: str, number: int) -> Status:
    async with database.reading() as unit:
        found = await unit.schools.by_name(school)
        assert found is not None
        case = await unit.cases.by_number(found.id, number)
        assert case is not None
        return case.status


async def test_withdraw_alone_takes_the_latest_report_in_this_school_not_a_later_one_elsewhere(
    chat: Chat, database: Store
) -> None:
    await chat.say(TIKTOK, user="alex")  # Northfield's #1
    await chat.say(INSTA, user="alex", school="Southgate")  # Southgate's #1, made later
    replies = await chat.command("withdraw", "", user="alex")
    assert messages.withdrawn(1) in texts(replies)
    assert await _status(database, "Northfield", 1) is Status.CLOSED
    assert await _status(database, "Southgate", 1) is Status.NEW
