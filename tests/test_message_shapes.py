"""Every kind of message staff actually send, read right: realistic payloads from tests/payloads
through the real clients (signed Slack HTTP events, Telegram webhook updates) into a real file.

To know that an event has been handled without waiting a fixed time, a test sends a lead's
`/cases help` after it and waits for that answer: the inbox is processed in arrival order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters import slack_events
from bot.adapters.console_config import CONSOLE
from bot.adapters.telegram_config import TELEGRAM
from bot.config.schema import names_of
from handlers import messages
from handlers.events import Incoming, IncomingKind, User
from handlers.settings import FollowUp
from storage.models import Case, Platform
from storage.store import Store
from tests import test_telegram as tg
from tests.chat import STAFF_ROOM, Chat, FakeClock, texts
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.payloads import slack, slack_names
from tests.payloads import telegram as tp
from tests.slack_harness import LEAD, SlackBot, metric_values, slack_config

VIDEO_1 = "dQw4w9WgXcQ"
VIDEO_2 = "9bZkp7q19f0"
PARENT_TS = "1764150000.000100"  # the ts of the report in message_escaped_link.json


def rows(bot: SlackBot | tg.TelegramBot, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.config.storage.database) as db:
        return list(db.execute(sql).fetchall())


# --- Slack ------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    api = await FakeSlackApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeSlackApi) -> AsyncIterator[SlackBot]:
    running = await SlackBot(slack_config(tmp_path / "shapes.db", fake), fake).start()
    yield running
    await running.close()


async def settled(bot: SlackBot) -> None:
    """Everything sent before this has been handled (the inbox is processed in order)."""
    before = sum(1 for c in bot.fake.of("chat.postEphemeral") if c["text"] == messages.LEAD_HELP)
    await bot.command("cases", "help", user=LEAD)
    await bot.fake.wait_until(
        lambda: (
            [c for c in bot.fake.of("chat.postEphemeral") if c["text"] == messages.LEAD_HELP][
                before:
            ]
            or None
        )
    )


def to(fake: FakeSlackApi, channel: str) -> list[str]:
    return [c["text"] for c in fake.of("chat.postMessage") if c["channel"] == channel]


def ephemeral(fake: FakeSlackApi, user: str) -> list[str]:
    return [c["text"] for c in fake.of("chat.postEphemeral") if c["user"] == user]


def youtube(video: str, ts: str) -> dict[str, Any]:
    return slack(
        "message_escaped_link",
        ts=ts,
        text=f"posted about Mr Khan <https://www.youtube.com/watch?feature=shared&amp;v={video}>",
    )


async def test_two_youtube_videos_with_escaped_ampersands_are_two_cases_with_their_ids(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(youtube(VIDEO_1, "1764150000.000100"))
    await bot.body(youtube(VIDEO_2, "1764150001.000100"))
    await fake.wait_for_text("chat.postMessage", messages.case_logged(2, Platform.YOUTUBE))
    assert messages.already_logged(1) not in to(fake, "DALEX")
    assert rows(bot, "SELECT canonical_url FROM case_links ORDER BY case_id") == [
        (f"https://youtube.com/watch?v={VIDEO_1}",),
        (f"https://youtube.com/watch?v={VIDEO_2}",),
    ]
    await bot.command("cases", "show 1", user=LEAD)
    shown = await fake.wait_until(
        lambda: next((c for c in fake.of("chat.postEphemeral") if "Timeline" in c["text"]), None)
    )
    # Slack shows "&amp;" as "&": the stored text holds "&", escaped once on the way out.
    assert "&amp;v=" in shown["text"] and "&amp;amp;" not in shown["text"]


async def test_a_thread_reply_without_a_link_joins_the_parents_case(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("message_escaped_link"))
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.body(slack("thread_reply"))  # USAM: "I've seen this too …"
    await bot.body(slack("thread_broadcast"))  # USAM again, sent to the channel as well
    await bot.message("Thanks, I'm dealing with it", user=LEAD, thread_ts=PARENT_TS)
    await settled(bot)
    assert bot.count() == 1
    reporters = rows(
        bot,
        "SELECT p.key, r.description FROM case_reporters r JOIN people p"
        " ON p.id = r.person_id ORDER BY r.reported_at",
    )
    assert [key for key, _ in reporters] == ["slack:UALEX", "slack:USAM"]
    assert "seen this too" in reporters[1][1] and "tutor group" in reporters[1][1]
    assert rows(bot, "SELECT text FROM notes") == [("Thanks, I'm dealing with it",)]
    assert messages.reply_added([1]) in ephemeral(fake, "USAM")
    assert messages.reply_added_as_note([1]) in ephemeral(fake, LEAD)
    alerts = [t for t in to(fake, "CLEADS") if t.startswith("New case")]
    assert len(alerts) == 1
    assert not [t for t in to(fake, "DSAM") if t == messages.Q_TARGETS]


async def test_a_new_link_in_a_thread_is_its_own_case(bot: SlackBot, fake: FakeSlackApi) -> None:
    await bot.body(slack("message_escaped_link"))
    await bot.message(
        "and the same account posted this https://www.tiktok.com/@year11stuff/video/73012",
        user="USAM",
        thread_ts=PARENT_TS,
    )
    await fake.wait_for_text("chat.postMessage", messages.case_logged(2, Platform.TIKTOK))
    assert bot.count() == 2


async def test_a_second_report_while_a_question_waits_is_a_new_case(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("message_escaped_link"))
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.message("Separate thing: someone has set up a fake account pretending to be Ms Patel")
    await fake.wait_for_text("chat.postMessage", messages.case_logged_no_link(2))
    assert messages.NOT_UNDERSTOOD not in to(fake, "DALEX")
    assert bot.count() == 2


async def test_the_reporters_own_thread_reply_is_not_an_answer_to_the_dm_question(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("message_escaped_link"))
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.message("Me", thread_ts=PARENT_TS)  # would be the answer "Me" in the DM
    await settled(bot)
    assert rows(bot, "SELECT targets FROM cases") == [(None,)]
    assert "\nMe" in rows(bot, "SELECT description FROM case_reporters")[0][0]
    await bot.message("Me", channel="DALEX")  # the DM is where the question was asked
    await fake.wait_for_text("chat.postMessage", messages.Q_CATEGORIES)
    assert rows(bot, "SELECT targets FROM cases") == [("me",)]


async def test_an_edit_that_adds_a_link_adds_it_to_the_case_and_tells_the_reporter(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.message("fake account of Ms Patel", ts=PARENT_TS)
    await fake.wait_for_text("chat.postMessage", messages.case_logged_no_link(1))
    await bot.body(slack("message_changed_adds_link"))
    told = await fake.wait_for_text("chat.postMessage", messages.link_added(1, Platform.INSTAGRAM))
    assert told["channel"] == "DALEX"
    assert rows(bot, "SELECT canonical_url FROM case_links") == [
        ("https://instagram.com/p/Cx1AbC2dEf3",)
    ]
    assert rows(bot, "SELECT platform FROM cases") == [("instagram",)]
    assert bot.count() == 1
    assert (await metric_values(bot))["casebook_edits_with_new_links_total"] == 1


async def test_an_edit_that_adds_two_links_counts_both(bot: SlackBot, fake: FakeSlackApi) -> None:
    await bot.message("fake account of Ms Patel", ts=PARENT_TS)
    await fake.wait_for_text("chat.postMessage", messages.case_logged_no_link(1))
    edit = slack("message_changed_adds_link")
    edit["event"]["message"]["text"] += " and <https://www.tiktok.com/@fakepatel/video/7301>"
    await bot.body(edit)
    await fake.wait_for_text("chat.postMessage", messages.link_added(1, Platform.TIKTOK))
    assert bot.count("case_links") == 2
    assert (await metric_values(bot))["casebook_edits_with_new_links_total"] == 2


async def test_an_edit_of_wording_and_slacks_link_preview_change_nothing(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("message_escaped_link"))
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.body(slack("message_changed_unfurl"))
    reworded = slack("message_changed_unfurl")
    reworded["event"]["message"]["text"] += " (typo fixed)"
    reworded["event"]["message"]["edited"] = {"user": "UALEX", "ts": "1764150010.000000"}
    await bot.body(reworded)
    await settled(bot)
    assert bot.count("case_links") == 1 and bot.count() == 1
    assert rows(bot, "SELECT event_id FROM inbox WHERE event_id LIKE 'edit:%'") == [
        (f"edit:CREPORT|{PARENT_TS}:1764150010.000000",)
    ]  # the preview was not even stored
    assert not [t for t in to(fake, "DALEX") if "edited message" in t]


@pytest.mark.parametrize("deletion", ["message_deleted", "message_changed_tombstone"])
async def test_deleting_the_original_keeps_the_case_and_the_timeline_says_so(
    bot: SlackBot, fake: FakeSlackApi, deletion: str
) -> None:
    await bot.body(slack("message_escaped_link"))
    await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.body(slack(deletion))
    await bot.command("cases", "show 1", user=LEAD)
    shown = await fake.wait_until(
        lambda: next((c for c in fake.of("chat.postEphemeral") if "Timeline" in c["text"]), None)
    )
    assert messages.audit_text("original-deleted", None, None, None) in shown["text"]
    assert bot.count() == 1 and bot.count("case_links") == 1
    assert rows(bot, "SELECT key FROM people WHERE key = 'slack:USLACKBOT'") == []


async def test_an_image_without_text_asks_for_the_link_and_is_not_kept(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("file_share_no_text"))
    await fake.wait_for_text("chat.postMessage", messages.IMAGE_NOT_KEPT)
    assert bot.count() == 0
    assert b"F0SCREENSHOT" not in bot.config.storage.database.read_bytes()


async def test_rich_text_blocks_with_empty_text_are_read(bot: SlackBot, fake: FakeSlackApi) -> None:
    await bot.body(slack("rich_text_only"))
    await fake.wait_for_line("chat.postMessage", messages.questions_for_cases([1, 2]))
    assert sorted(r[0] for r in rows(bot, "SELECT canonical_url FROM case_links")) == [
        "https://tiktok.com/@year11stuff/video/7301234567890123456",
        "https://x.com/someone/status/1861234567890123456",
    ]


async def test_an_app_mention_is_acknowledged_and_the_message_event_makes_the_case(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    status, _ = await bot.body(slack("app_mention"))
    assert status == 200
    assert bot.count("inbox") == 0


async def test_someone_from_another_organisation_is_refused_once_and_nothing_is_kept(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("shared_channel_external"))
    await bot.body(slack("shared_channel_external", ts="1764150701.001000", text="and again"))
    await settled(bot)
    assert ephemeral(fake, "UPARTNER") == [messages.EXTERNAL_REFUSED]
    assert bot.count() == 0 and bot.count("school_members") == 0
    assert rows(bot, "SELECT key FROM people WHERE key LIKE '%UPARTNER'") == []
    assert b"trust office" not in bot.config.storage.database.read_bytes()


async def test_the_same_message_under_a_new_event_id_is_stored_once(
    bot: SlackBot, fake: FakeSlackApi
) -> None:
    await bot.body(slack("message_escaped_link", event_id="EvFIRST"))
    await bot.body(slack("message_escaped_link", event_id="EvSECOND"))
    await settled(bot)
    assert bot.count() == 1 and bot.count("case_reporters") == 1
    assert bot.count("inbox") == 2  # the message once, and the lead's /cases help
    assert messages.already_reported_by_you(1) not in to(fake, "DALEX")


@pytest.mark.parametrize("name", slack_names())
def test_every_slack_payload_is_read_without_error(name: str) -> None:
    config = slack_config(Path("unused.db"), FakeSlackApi(url="http://unused"))
    body = slack(name)
    if body["event"]["type"] == "message":
        slack_events.message(config, body)


def test_slack_escapes_are_undone_once_and_in_order() -> None:
    assert slack_events.unescape("a &amp;lt; b &lt;x&gt; &amp;amp;") == "a &lt; b <x> &amp;"


# --- Telegram ---------------------------------------------------------------------------------


@pytest.fixture
async def tfake() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def tbot(tmp_path: Path, tfake: FakeTelegramApi) -> AsyncIterator[tg.TelegramBot]:
    running = await tg.TelegramBot(tg.telegram_config(tmp_path / "tshapes.db", tfake)).start()
    yield running
    await running.close()


GROUP = tp.group(tg.GROUP)
LEAD_USER = tp.person(tg.LEAD, "lena")


async def tsettled(bot: tg.TelegramBot, fake: FakeTelegramApi) -> None:
    before = sum(1 for c in fake.of("sendMessage") if c["text"] == messages.LEAD_HELP)
    await bot.post(tp.update(tp.command("/cases help", tg.LEAD, LEAD_USER)))
    await fake.wait_until(
        lambda: (
            [c for c in fake.of("sendMessage") if c["text"] == messages.LEAD_HELP][before:] or None
        )
    )


async def test_an_anonymous_admins_report_is_a_case_and_they_are_asked_to_post_as_themselves(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    await tbot.post(tp.update(tp.anonymous_admin(f"about Mr Khan {tg.SHORT}", GROUP)))
    said = await tfake.wait_for_text(messages.ANONYMOUS_ADMIN)
    assert said["chat_id"] == tg.GROUP
    await tfake.wait_for_text(messages.new_case_alert(1, Platform.YOUTUBE))
    assert tbot.count() == 1
    assert rows(
        tbot, "SELECT p.name FROM case_reporters r JOIN people p ON p.id = r.person_id"
    ) == [(messages.anonymous_admin("Northfield staff"),)]
    assert not [c for c in tfake.of("sendMessage") if c["text"] == messages.Q_TARGETS]


async def test_a_telegram_edit_that_adds_a_link_adds_it_to_the_case(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    original = tp.message("fake account of Ms Patel", GROUP)
    await tbot.post(tp.update(original))
    await tfake.wait_for_text(messages.case_logged_no_link(1))
    await tbot.post(
        tp.update(
            tp.edited(original, "fake account of Ms Patel https://instagram.com/p/Q1"), edited=True
        )
    )
    told = await tfake.wait_for_text(messages.link_added(1, Platform.INSTAGRAM))
    assert told["chat_id"] == 501
    assert rows(tbot, "SELECT canonical_url FROM case_links") == [("https://instagram.com/p/Q1",)]
    assert tbot.count() == 1


async def test_a_telegram_reply_joins_the_case_and_a_leads_reply_is_a_note(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    report = tp.message(f"look {tg.SHORT}", GROUP)
    await tbot.post(tp.update(report))
    await tfake.wait_for_line(messages.Q_TARGETS)
    await tbot.post(tp.update(tp.reply("I've seen this too", GROUP, report, tp.person(502, "sam"))))
    await tbot.post(tp.update(tp.reply("Thanks, I'm on it", GROUP, report, LEAD_USER)))
    await tsettled(tbot, tfake)
    assert tbot.count() == 1 and tbot.count("case_reporters") == 2
    assert rows(tbot, "SELECT text FROM notes") == [("Thanks, I'm on it",)]


async def test_service_messages_and_caption_less_album_items_are_ignored(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    newcomer = tp.person(777, "newcomer")
    await tbot.post(tp.update(tp.members_joined(GROUP, newcomer, by=newcomer)))
    await tbot.post(tp.update(tp.member_left(GROUP, tp.person(778, "leaver"))))
    await tbot.post(tp.update(tp.pinned(GROUP, tp.message("rules", GROUP))))
    await tbot.post(tp.update(tp.photo(GROUP, f"screenshots of {tg.SHORT}", media_group_id="A1")))
    await tbot.post(tp.update(tp.photo(GROUP, None, media_group_id="A1")))
    await tbot.post(tp.update(tp.photo(GROUP, None, media_group_id="A1")))
    await tbot.post(tp.update(tp.automatic_forward(f"news {tg.SHORT}", GROUP)))
    await tsettled(tbot, tfake)
    assert tbot.count() == 1
    assert not [c for c in tfake.of("sendMessage") if c["text"] == messages.EMPTY_MESSAGE]
    members = rows(tbot, "SELECT p.key FROM school_members m JOIN people p ON p.id = m.person_id")
    assert members == [("telegram:501",)]  # the one who reported, not who joined or left


async def test_a_photo_without_a_caption_asks_for_the_link(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    await tbot.post(tp.update(tp.photo(GROUP)))
    await tfake.wait_for_text(messages.IMAGE_NOT_KEPT)
    assert tbot.count() == 0


async def test_added_to_an_unconfigured_group_the_bot_says_once_how_to_configure_it(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    stranger = tp.group(-100555, "Random group")
    await tbot.post(tp.update(tp.members_joined(tp.group(tg.LEADS_GROUP), tp.bot_user())))
    await tbot.post(tp.update(tp.members_joined(stranger, tp.bot_user())))
    await tbot.post(tp.update(tp.members_joined(stranger, tp.bot_user())))
    said = await tfake.wait_for_text(messages.unconfigured_group(names_of(TELEGRAM), "-100555"))
    assert said["chat_id"] == -100555
    await tsettled(tbot, tfake)
    chats = [c["chat_id"] for c in tfake.of("sendMessage")]
    assert chats.count(-100555) == 1 and tg.LEADS_GROUP not in chats


async def test_the_same_telegram_message_in_a_new_update_is_stored_once(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    report = tp.message(f"look {tg.SHORT}", GROUP)
    await tbot.post(tp.update(report))
    await tbot.post(tp.update(report))
    await tsettled(tbot, tfake)
    assert tbot.count() == 1 and tbot.count("case_reporters") == 1
    assert tbot.count("inbox") == 2  # the report once, and the lead's /cases help
    assert messages.already_reported_by_you(1) not in [c["text"] for c in tfake.of("sendMessage")]


async def test_a_message_in_a_forum_topic_is_a_report_not_a_reply(
    tbot: tg.TelegramBot, tfake: FakeTelegramApi
) -> None:
    await tbot.post(tp.update(tp.in_topic("Someone made a fake account of Ms Patel", GROUP, 9)))
    await tfake.wait_for_text(messages.case_logged_no_link(1))


async def test_in_thread_mode_the_reports_thread_takes_answers_and_the_channel_does_not(
    tmp_path: Path, fake: FakeSlackApi
) -> None:
    config = slack_config(tmp_path / "thread.db", fake, follow_up=FollowUp.THREAD)
    bot = await SlackBot(config, fake).start()
    try:
        await bot.body(slack("message_escaped_link"))
        question = await fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
        assert question["channel"] == "CREPORT" and question["thread_ts"] == PARENT_TS
        await bot.message("Me")  # in the channel, not in the thread
        await fake.wait_for_text("chat.postMessage", messages.ANSWER_WHERE_ASKED)
        await bot.message("Me", thread_ts=PARENT_TS)
        await fake.wait_for_text("chat.postMessage", messages.Q_CATEGORIES)
        assert rows(bot, "SELECT targets FROM cases") == [("me",)]
    finally:
        await bot.close()


def test_a_facebook_permalink_keeps_its_id_once_slacks_escapes_are_undone() -> None:
    from handlers.links import find_links

    config = slack_config(Path("unused.db"), FakeSlackApi(url="http://unused"))
    link = "<https://www.facebook.com/permalink.php?story_fbid=pfbid02abc&amp;id=100064>"
    incoming = slack_events.message(config, slack("message_escaped_link", text=link))
    assert incoming is not None
    [found] = find_links(incoming.text, incoming.links)
    assert found.canonical == "https://facebook.com/permalink.php?id=100064&story_fbid=pfbid02abc"


def test_telegram_updates_become_the_right_neutral_events_without_a_server() -> None:
    from telegram import Update

    from bot.adapters import telegram_events

    config = tg.telegram_config(Path("unused.db"), FakeTelegramApi(url="http://unused"))

    def read(data: dict[str, Any]) -> Any:
        return telegram_events.incoming(config, Update.de_json(data, None), "casebook_test_bot")

    report = tp.message(f"look {tg.SHORT}", GROUP)
    first = read(tp.update(report))
    assert first.kind is IncomingKind.MESSAGE and first.links == (tg.SHORT,)
    assert first.message_key == f"{tg.GROUP}|{report.message_id}" and first.reply_to is None
    replied = read(tp.update(tp.reply("me too", GROUP, report, tp.person(502, "sam"))))
    assert replied.reply_to == first.message_key and not replied.to_bot
    to_bot = read(tp.update(tp.reply("2", GROUP, tp.message("Who?", GROUP, tp.bot_user()))))
    assert to_bot.to_bot
    assert read(tp.update(tp.in_topic("new report", GROUP, 9))).reply_to is None
    anonymous = read(tp.update(tp.anonymous_admin("fake account", GROUP)))
    assert anonymous.anonymous and anonymous.user.id == str(tg.GROUP)
    edit = read(tp.update(tp.edited(report, "look again"), edited=True))
    assert edit.kind is IncomingKind.EDIT and edit.message_key == first.message_key
    assert read(tp.update(tp.photo(GROUP))).media
    for ignored in (
        tp.members_joined(GROUP, tp.person(777, "newcomer")),
        tp.member_left(GROUP, tp.person(778, "leaver")),
        tp.pinned(GROUP, report),
        tp.photo(GROUP, None, media_group_id="A1"),
        tp.automatic_forward(f"news {tg.SHORT}", GROUP),
        tp.message(tg.SHORT, GROUP, tp.bot_user("another_bot", 99)),
    ):
        assert read(tp.update(ignored)) is None, ignored


def test_a_message_whose_thread_is_itself_is_no_reply() -> None:
    config = slack_config(Path("unused.db"), FakeSlackApi(url="http://unused"))
    body = {
        "event": {
            "type": "message",
            "user": "UALEX",
            "text": "hello",
            "channel": "DALEX",
            "channel_type": "im",
            "ts": "1700000000.000100",
            "thread_ts": "1700000000.000100",
        }
    }
    incoming = slack_events.message(config, body)
    assert incoming is not None
    assert incoming.reply_to is None and incoming.thread == "1700000000.000100"


# --- Replies, edits and deletions, straight to the handlers -------------------------------------

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
INSTA = "https://instagram.com/p/Cx1AbC2dEf3"


def staff(
    text: str,
    user: str,
    key: str,
    kind: IncomingKind = IncomingKind.MESSAGE,
    reply_to: str | None = None,
    school: str = "Northfield",
    links: tuple[str, ...] = (),
) -> Incoming:
    """A message in the console's staff room with the platform's own key for it."""
    return Incoming(
        kind,
        STAFF_ROOM,
        User(CONSOLE, user, user),
        text=text,
        school=school,
        links=links,
        message_key=f"staff-room|{key}",
        reply_to=None if reply_to is None else f"staff-room|{reply_to}",
    )


async def cases_by_number(database: Store) -> dict[int, Case]:
    async with database.reading() as unit:
        return {case.number: case for case in await unit.cases.listing()}


async def timeline(database: Store, case: Case) -> list[tuple[str, str | None, str | None]]:
    """(action, whose key, to_value) of each entry of the case's timeline."""
    async with database.reading() as unit:
        entries = await unit.audit.for_cases([case.id])
        people = {e.actor_id: await unit.people.get(e.actor_id) for e in entries if e.actor_id}
    return [
        (
            e.action.value,
            None if e.actor_id is None else people[e.actor_id].key,  # type: ignore[union-attr]
            e.to_value,
        )
        for e in entries
    ]


async def test_replies_under_a_message_that_made_two_cases_join_both_and_their_timelines_say_so(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"two posts about Mr Khan {TIKTOK} {INSTA}", "alex", "1"))
    first, second = (await cases_by_number(database)).values()
    said = await chat.send(staff("seen this too", "sam", "2", reply_to="1"))
    assert texts(said) == messages.reply_added([1, 2])
    await chat.send(staff("it is going round year 9 as well", "sam", "3", reply_to="1"))
    said = await chat.send(staff("Thanks, I'm on it", "lena", "4", reply_to="1"))
    assert texts(said) == messages.reply_added_as_note([1, 2])
    async with database.reading() as unit:
        notes = await unit.notes.for_cases([first.id, second.id])
        words = [r.description for r in await unit.cases.reporters(second.id)]
    assert [(n.case_id, n.author and n.author.key, n.text) for n in notes] == [
        (first.id, "console:lena", "Thanks, I'm on it"),
        (second.id, "console:lena", "Thanks, I'm on it"),
    ]
    assert "seen this too" in words[1] and "year 9" in words[1]
    for case in (first, second):
        assert [entry for entry in await timeline(database, case) if entry[0] != "created"] == [
            ("reporter-added", "console:sam", None),
            ("words-added", "console:sam", None),
            ("note", "console:lena", None),
        ]


async def test_a_reply_under_a_merged_cases_message_joins_the_case_it_was_merged_into(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    await chat.send(staff(f"about Ms Osei {INSTA}", "kim", "2"))
    await chat.command("cases", "merge 1 2", user="lena")
    said = await chat.send(staff("seen this too", "sam", "3", reply_to="2"))
    assert texts(said) == messages.reply_added([1])


async def test_a_reply_under_a_case_merged_twice_joins_the_case_it_ended_in(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    await chat.send(staff(f"about Ms Osei {INSTA}", "kim", "2"))
    await chat.send(staff("about Mr Khan https://x.com/someone/status/9", "jo", "3"))
    await chat.command("cases", "merge 2 3", user="lena")
    await chat.command("cases", "merge 1 2", user="lena")
    said = await chat.send(staff("seen this too", "sam", "4", reply_to="3"))
    assert texts(said) == messages.reply_added([1])


async def test_a_reply_under_a_reply_that_joined_a_case_joins_it_too(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    await chat.send(staff("seen this too", "sam", "2", reply_to="1"))
    said = await chat.send(staff("and in year 9", "kim", "3", reply_to="2"))
    assert texts(said) == messages.reply_added([1])
    [case] = (await cases_by_number(database)).values()
    async with database.reading() as unit:
        reporters = [r.person.key for r in await unit.cases.reporters(case.id)]
    assert reporters == ["console:alex", "console:sam", "console:kim"]


async def test_a_reply_under_a_duplicate_reopened_after_its_merge_joins_it_again(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    await chat.send(staff(f"about Ms Osei {INSTA}", "kim", "2"))
    await chat.command("cases", "merge 1 2", user="lena")
    await chat.command("cases", "reopen 2", user="lena")  # it was not the same after all
    said = await chat.send(staff("seen this too", "sam", "3", reply_to="2"))
    assert texts(said) == messages.reply_added([2])


async def test_a_reply_from_another_school_under_a_logged_message_joins_nothing(
    chat: Chat, database: Store
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    said = await chat.send(staff("seen this too", "pat", "2", reply_to="1", school="Southgate"))
    assert messages.reply_added([1]) not in texts(said)
    [case] = (await cases_by_number(database)).values()
    async with database.reading() as unit:
        assert [r.person.key for r in await unit.cases.reporters(case.id)] == ["console:alex"]


async def test_an_edit_adding_a_link_logged_elsewhere_joins_that_case_and_adds_the_new_one(
    chat: Chat, database: Store, clock: FakeClock
) -> None:
    await chat.send(staff(f"about Mr Khan {TIKTOK}", "alex", "1"))
    await chat.send(staff("a fake account of Ms Patel", "sam", "2"))
    clock.advance(minutes=5)
    edited = f"a fake account of Ms Patel {TIKTOK} {INSTA}"
    said = await chat.send(staff(edited, "sam", "2", kind=IncomingKind.EDIT))
    first, second = (await cases_by_number(database)).values()
    assert [(s.text, s.case_id) for s in said] == [
        (messages.already_logged(1), first.id),
        (messages.link_added(2, Platform.INSTAGRAM), second.id),
    ]
    async with database.reading() as unit:
        joined = {r.person.key: r for r in await unit.cases.reporters(first.id)}
        links = {
            c.number: [x.canonical for x in await unit.cases.links(c.id)] for c in (first, second)
        }
    assert joined["console:sam"].description == edited
    assert joined["console:sam"].reported_at == clock.now()
    assert links == {1: ["https://tiktok.com/@someone/video/7301234567890123456"], 2: [INSTA]}
    assert ("reporter-added", "console:sam", None) in await timeline(database, first)
    # The message is now one of case 1's too: its deletion is on both timelines.
    await chat.send(staff("", "sam", "2", kind=IncomingKind.DELETE))
    for case in (first, second):
        assert ("original-deleted", "console:sam", None) in await timeline(database, case)


async def test_an_edit_adding_a_link_the_platform_marked_up_sets_the_platform_and_the_timeline(
    chat: Chat, database: Store, clock: FakeClock
) -> None:
    await chat.send(staff("a fake account of Ms Patel", "alex", "1"))
    clock.advance(minutes=5)
    said = await chat.send(
        staff("a fake account of Ms Patel, here", "alex", "1", IncomingKind.EDIT, links=(INSTA,))
    )
    [case] = (await cases_by_number(database)).values()
    assert [(s.text, s.case_id) for s in said] == [
        (messages.link_added(1, Platform.INSTAGRAM), case.id)
    ]
    assert case.platform is Platform.INSTAGRAM and case.updated_at == clock.now()
    assert ("link-added", "console:alex", "instagram") in await timeline(database, case)
    # Closed, the case keeps its one link when the message is reworded again.
    await chat.command("cases", "close 1 resolved", user="lena")
    said = await chat.send(
        staff("a fake account of Ms Patel, see", "alex", "1", IncomingKind.EDIT, links=(INSTA,))
    )
    assert said == []
    async with database.reading() as unit:
        assert len(await unit.cases.links(case.id)) == 1
