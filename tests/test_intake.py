"""Transcript tests of the report flow through the real router, handlers, SQLite and outbox."""

from __future__ import annotations

from handlers import messages
from handlers.events import PlaceKind
from handlers.export import export_rows
from storage.db import Database
from storage.models import Category, Platform, ReportedToPlatform, Status, Target
from tests.chat import Chat, button, texts

TIKTOK = (
    "https://www.tiktok.com/@someone/video/7301234567890123456?is_from_webapp=1&sender_device=pc"
)


async def _cases(database: Database) -> list:  # type: ignore[type-arg]
    async with database.transaction() as unit:
        return await unit.cases.listing()


async def test_a_link_becomes_a_case_before_any_question(chat: Chat, database: Database) -> None:
    replies = await chat.say(f"Look at this {TIKTOK}")
    [case] = await _cases(database)
    assert case.number == 1 and case.platform is Platform.TIKTOK and case.status is Status.NEW
    assert case.url == "https://tiktok.com/@someone/video/7301234567890123456"
    assert replies[0].text == messages.case_logged(1, Platform.TIKTOK)
    # One message introduces the questions and asks the first.
    assert replies[-1].text == f"{messages.question_intro(1)}\n{messages.Q_TARGETS}"
    assert [b.label for b in replies[-1].buttons] == [
        "Me",
        "A colleague",
        "Several staff",
        "The school",
        "Skip",
    ]


async def test_follow_ups_go_to_a_direct_chat_and_alerts_to_the_leads(chat: Chat) -> None:
    replies = await chat.say(TIKTOK)
    to_alex = [r for r in replies if r.place.kind is PlaceKind.DIRECT]
    to_leads = [r for r in replies if r.place.kind is PlaceKind.LEADS]
    assert all(r.place.id == "alex" for r in to_alex)
    assert [r.text for r in to_leads] == [messages.new_case_alert(1, Platform.TIKTOK)]
    assert "tiktok.com" not in to_leads[0].text and "alex" not in to_leads[0].text
    # A new case's alert may share a message with the next ones; nothing to the reporter may.
    assert to_leads[0].combine and not any(r.combine for r in to_alex)


async def test_the_whole_conversation_by_buttons(chat: Chat, database: Database) -> None:
    replies = await chat.say(TIKTOK)
    replies = await chat.press(button(replies, "A colleague"))
    assert replies[-1].text == messages.Q_CATEGORIES
    replies = await chat.press(button(replies, "Hate: homophobic or biphobic"))
    assert "Hate: homophobic or biphobic" in replies[-1].text
    replies = await chat.press(button(replies, "False allegation or defamation"))
    replies = await chat.press(button(replies, "Done"))
    assert replies[-1].text == messages.Q_THREAT
    replies = await chat.press(button(replies, "Neither"))
    assert replies[-1].text == messages.Q_REPORTED
    replies = await chat.press(button(replies, "Yes"))
    assert replies[-1].text == messages.Q_AUTHOR
    replies = await chat.press(button(replies, "Yes, a pupil"))
    transcript = texts(replies)
    assert messages.questions_finished([1]) in transcript
    assert messages.HOW_TO_REPORT[Platform.TIKTOK] in transcript
    assert "0344 381 4772" in transcript and "08000 562 561" in transcript
    assert messages.POLICE in transcript  # hate can be a crime
    [case] = await _cases(database)
    assert case.targets is Target.COLLEAGUE
    assert case.categories == {Category.HATE_HOMOPHOBIC, Category.DEFAMATION}
    assert case.reported_to_platform is ReportedToPlatform.YES
    assert case.reported_to_platform_at == chat.clock.now()
    assert case.status is Status.REPORTED
    assert not case.urgent


async def test_typed_answers_numbers_labels_and_skip(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    assert (await chat.say("2"))[-1].text == messages.Q_CATEGORIES
    assert (await chat.say("1, 9"))[-1].text.startswith("Chosen so far")
    assert (await chat.say("done"))[-1].text == messages.Q_THREAT
    assert (await chat.say("skip"))[-1].text == messages.Q_REPORTED
    assert (await chat.say("not sure"))[-1].text == messages.Q_AUTHOR
    replies = await chat.say("3")
    assert messages.questions_finished([1]) in texts(replies)
    [case] = await _cases(database)
    assert case.categories == {Category.HARASSMENT, Category.DEFAMATION}
    assert case.reported_to_platform is ReportedToPlatform.UNSURE
    assert case.status is Status.OPEN


async def test_every_question_can_be_skipped(chat: Chat, database: Database) -> None:
    replies = await chat.say("Someone made a fake account of Mr Khan, no link yet")
    asked = []
    while replies[-1].buttons:
        asked.append(replies[-1].text.split("\n")[-1])  # the first comes after its intro
        replies = await chat.press(button(replies, "Skip"))
    assert asked == [
        messages.Q_PLATFORM,
        messages.Q_TARGETS,
        messages.Q_CATEGORIES,
        messages.Q_THREAT,
        messages.Q_REPORTED,
        messages.Q_AUTHOR,
    ]
    [case] = await _cases(database)
    assert case.platform is Platform.UNKNOWN and case.status is Status.OPEN


async def test_platform_is_asked_only_when_no_link_says_it(chat: Chat, database: Database) -> None:
    replies = await chat.say("A video about Ms Osei is going round on snap")
    assert replies[0].text == messages.case_logged_no_link(1)
    assert replies[-1].text == f"{messages.question_intro(1)}\n{messages.Q_PLATFORM}"
    await chat.press(button(replies, "Snapchat"))
    [case] = await _cases(database)
    assert case.platform is Platform.SNAPCHAT


async def test_a_threat_makes_the_case_urgent_and_alerts_leads_at_once(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.say("1")
    replies = await chat.press(button(chat.transport.sent, "Threat of violence"))
    leads = [r for r in replies if r.place.kind is PlaceKind.LEADS]
    assert [r.text for r in leads] == [
        messages.urgent_case_alert(1, Platform.TIKTOK, ["Threat of violence"])
    ]
    assert not leads[0].combine  # an urgent alert always stands alone
    assert messages.URGENT_DANGER in texts(replies)
    [case] = await _cases(database)
    assert case.urgent


async def test_personal_information_answer_marks_urgent(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    await chat.say("skip")
    await chat.say("1")
    await chat.say("done")
    replies = await chat.say("personal information")
    assert any(r.place.kind is PlaceKind.LEADS for r in replies)
    [case] = await _cases(database)
    assert case.urgent and Category.DOXXING in case.categories


async def test_second_report_of_same_link_joins_existing_case(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK, user="alex")
    replies = await chat.say("https://tiktok.com/@someone/video/7301234567890123456", user="sam")
    assert texts(replies) == messages.already_logged(1)
    assert "alex" not in texts(replies)
    [case] = await _cases(database)
    async with database.transaction() as unit:
        reporters = await unit.cases.reporters(case.id)
    assert [r.person.key for r in reporters] == ["console:alex", "console:sam"]


async def test_reporting_your_own_case_again_says_so(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    replies = await chat.command("report", TIKTOK)
    assert messages.already_reported_by_you(1) in texts(replies)
    assert len(await _cases(database)) == 1


async def test_the_same_link_in_another_school_is_another_case(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK, user="alex", school="Northfield")
    replies = await chat.say(TIKTOK, user="sol", school="Southgate")
    assert replies[0].text == messages.case_logged(1, Platform.TIKTOK)
    assert len(await _cases(database)) == 2


async def test_several_links_are_one_case_each_with_one_set_of_questions(
    chat: Chat, database: Database
) -> None:
    replies = await chat.say(
        "two posts: https://youtu.be/abc and https://x.com/u/status/9 and again https://youtube.com/shorts/abc"
    )
    assert len(await _cases(database)) == 2
    assert messages.questions_for_cases([1, 2]) in texts(replies)
    await chat.say("4")
    await chat.say("1 2")
    cases = await _cases(database)
    assert all(c.targets is Target.SCHOOL for c in cases)
    assert all(c.categories == {Category.HARASSMENT, Category.HATE_HOMOPHOBIC} for c in cases)


async def test_a_new_report_mid_conversation_is_asked_first_then_the_old_resumes(
    chat: Chat,
) -> None:
    await chat.say(TIKTOK)
    await chat.say("1")  # on to categories for case 1
    replies = await chat.say("and this one https://instagram.com/p/Abc")
    assert replies[-1].text == f"{messages.question_intro(2)}\n{messages.Q_TARGETS}"
    for _ in range(5):
        replies = await chat.say("skip")
    assert messages.questions_finished([2]) in texts(replies)
    assert messages.question_resumed(1) in texts(replies)
    assert replies[-1].text == messages.Q_CATEGORIES


async def test_stale_and_foreign_buttons_change_nothing(chat: Chat, database: Database) -> None:
    replies = await chat.say(TIKTOK)
    me = button(replies, "Me")
    await chat.press(me)
    assert texts(await chat.press(me)) == messages.STALE_BUTTON
    categories = button(chat.transport.sent, "Other")
    assert texts(await chat.press(categories, user="sam")) == messages.STALE_BUTTON
    from handlers.events import Button

    assert texts(await chat.press(Button("x", "q:1:targets:nonsense"))) == messages.STALE_BUTTON
    assert texts(await chat.press(Button("x", "'; DROP TABLE cases; --"))) == messages.STALE_BUTTON
    [case] = await _cases(database)
    assert case.targets is Target.ME and case.categories == frozenset()


async def test_a_pressed_button_updates_the_message_it_was_on(chat: Chat) -> None:
    replies = await chat.say(TIKTOK)
    replies = await chat.press(button(replies, "The school"), message_ref="m42")
    assert replies[0].replace_ref == "m42"
    assert replies[0].text == messages.answer_recorded(messages.Q_TARGETS, "The school")
    assert replies[0].buttons == ()


async def test_the_audit_records_logging_and_the_status_after_questions(
    chat: Chat, database: Database
) -> None:
    await chat.say(TIKTOK)
    await chat.say("1")
    [case] = await _cases(database)
    async with database.transaction() as unit:
        entries = await unit.audit.for_cases([case.id])
    assert [(e.action, e.to_value) for e in entries] == [("created", "new")]
    for answer in ("skip", "skip", "yes", "skip"):
        await chat.say(answer)
    async with database.transaction() as unit:
        entries = await unit.audit.for_cases([case.id])
    assert [(e.action, e.from_value, e.to_value) for e in entries] == [
        ("created", None, "new"),
        ("status", "new", "reported"),
    ]


async def test_my_cases_lists_only_my_own(chat: Chat) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say("https://x.com/u/status/1", user="sam")
    replies = await chat.command("mycases", user="alex")
    assert "#1" in texts(replies) and "#2" not in texts(replies)
    assert texts(await chat.command("mycases", user="nobody")) == messages.NO_CASES_OF_YOURS


async def test_export_rows_match_the_conversation(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK)
    await chat.say("me")
    async with database.transaction() as unit:
        [row] = await export_rows(unit)
        [anonymous] = await export_rows(unit, anonymised=True)
    assert row.platform == "tiktok" and row.targets == "me" and row.reporters == ["alex"]
    assert row.created_at == "2026-11-23T09:00:00Z"
    assert (
        anonymous.url is None and anonymous.reporters == 1 and anonymous.created_at == "2026-11-23"
    )
