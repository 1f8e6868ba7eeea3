"""`/cases escalated N ROUTE`: a lead records where a case went and when, audited and shown."""

from __future__ import annotations

from handlers import messages
from storage.db import Database
from storage.models import AuditAction, EscalationRoute, Status
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"


async def _case(database: Database, number: int):  # type: ignore[no-untyped-def]
    async with database.transaction() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        return await unit.cases.by_number(school.id, number)


async def test_escalated_records_the_route_and_time_and_shows_in_the_timeline(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.command("cases", "status 1 reported", user="lena")
    chat.clock.advance(days=8)
    escalated_at = chat.clock.now()
    replies = await chat.command("cases", "escalated 1 posh", user="lena")
    assert texts(replies) == messages.escalation_recorded(1, EscalationRoute.POSH)
    case = await _case(database, 1)
    assert case.status is Status.ESCALATED
    assert (case.escalated_to, case.escalated_at) == (EscalationRoute.POSH, escalated_at)

    # A second route is audited, but the figures keep counting from the first.
    chat.clock.advance(days=1)
    replies = await chat.command("cases", "escalated #1 POLICE", user="lena")
    assert "the police as well" in texts(replies) and "first escalated to POSH" in texts(replies)
    case = await _case(database, 1)
    assert (case.escalated_to, case.escalated_at) == (EscalationRoute.POSH, escalated_at)
    async with database.transaction() as unit:
        audit = await unit.audit.for_cases([case.id])
    assert [e.to_value for e in audit if e.action is AuditAction.ESCALATED] == ["posh", "police"]

    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert "escalated to POSH" in shown and "escalated to the police" in shown  # the timeline
    assert f"{messages.FIELD_ESCALATED}: to POSH, " in shown


async def test_escalated_refuses_a_missing_or_unknown_route_and_a_removed_post(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    usage = texts(await chat.command("cases", "escalated 1", user="lena"))
    assert usage == messages.LEAD_USAGE["escalated"]
    unknown = texts(await chat.command("cases", "escalated 1 ofcom", user="lena"))
    assert unknown == messages.bad_escalation_route("ofcom")
    await chat.command("cases", "status 1 removed", user="lena")
    removed = texts(await chat.command("cases", "escalated 1 posh", user="lena"))
    assert removed == messages.escalation_after_removal(1)
    case = await _case(database, 1)
    assert case.escalated_to is None and case.escalated_at is None
    async with database.transaction() as unit:
        audit = await unit.audit.for_cases([case.id])
    assert not [e for e in audit if e.action is AuditAction.ESCALATED]


async def test_only_a_lead_may_record_an_escalation(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    replies = await chat.command("cases", "escalated 1 posh", user="alex")
    assert texts(replies) == messages.NOT_A_LEAD
    case = await _case(database, 1)
    assert case.escalated_to is None and case.status is Status.NEW


async def test_the_export_carries_the_escalation_and_anonymised_keeps_the_day(
    chat: Chat, database: Database
) -> None:
    from handlers.export import export_rows

    await chat.say(TIKTOK)
    chat.clock.advance(days=3, hours=5)
    await chat.command("cases", "escalated 1 report-harmful-content", user="lena")
    moment = chat.clock.now()
    async with database.transaction() as unit:
        [full] = await export_rows(unit)
        [anonymised] = await export_rows(unit, anonymised=True)
    assert full.escalated_to == anonymised.escalated_to == "report-harmful-content"
    assert full.escalated_at == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert anonymised.escalated_at == moment.date().isoformat()


async def test_a_merge_keeps_the_earlier_escalation_of_the_two(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.say("https://www.tiktok.com/@someone/video/2", user="sol")
    chat.clock.advance(days=2)
    first = chat.clock.now()
    await chat.command("cases", "escalated 2 posh", user="lena")
    chat.clock.advance(days=1)
    await chat.command("cases", "escalated 1 police", user="lena")
    await chat.command("cases", "merge 1 2", user="lena")
    case = await _case(database, 1)
    assert (case.escalated_to, case.escalated_at) == (EscalationRoute.POSH, first)


async def test_a_merge_keeps_an_escalation_only_one_of_the_two_had(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.say("https://www.tiktok.com/@someone/video/2", user="sol")
    await chat.say("https://www.tiktok.com/@someone/video/3", user="kim")
    await chat.say("https://www.tiktok.com/@someone/video/4", user="jo")
    chat.clock.advance(days=2)
    escalated_at = chat.clock.now()
    await chat.command("cases", "escalated 2 posh", user="lena")
    await chat.command("cases", "escalated 3 police", user="lena")
    await chat.command("cases", "merge 1 2", user="lena")  # the duplicate was escalated
    await chat.command("cases", "merge 3 4", user="lena")  # the surviving case was
    for number, route in ((1, EscalationRoute.POSH), (3, EscalationRoute.POLICE)):
        case = await _case(database, number)
        assert (case.escalated_to, case.escalated_at) == (route, escalated_at)
