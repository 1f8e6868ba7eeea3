"""Telegram through real HTTP: updates into Casebook's webhook (or its polling loop), the real
python-telegram-bot client out to a fake Bot API on loopback."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.telegram_config import TELEGRAM, TelegramConfig, TelegramMode
from handlers import messages
from handlers.commands import offered
from handlers.settings import (
    Config,
    SchoolConfig,
    SchoolPlaces,
    Secret,
    ServerConfig,
    StorageConfig,
)
from storage.models import Platform
from tests.fakes.telegram_api import (
    PHOTO_FILE_ID,
    FakeTelegramApi,
    callback_update,
    message_update,
)
from tests.running import RunningBot, until

WEBHOOK_SECRET = "webhook-secret-abc"
GROUP = -100111
LEADS_GROUP = -100999
LEAD = 900
SHORT = "https://youtube.com/shorts/abc_DEF-1?feature=share"


def telegram_config(database: Path, fake: FakeTelegramApi, mode: str = "webhook") -> Config:
    return Config(
        schools=(
            SchoolConfig(
                name="Northfield",
                places={
                    TELEGRAM: SchoolPlaces(
                        report_places=(str(GROUP),),
                        leads=(str(LEAD),),
                        digest_place=str(LEADS_GROUP),
                    )
                },
            ),
            SchoolConfig(
                name="Southgate",
                places={TELEGRAM: SchoolPlaces(report_places=("-100222",), leads=("901",))},
            ),
        ),
        storage=StorageConfig(database=database),
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
            TELEGRAM: TelegramConfig(
                mode=TelegramMode(mode),
                api_url=fake.url,
                webhook_url="https://casebook.example.org/telegram/webhook",
                bot_token=Secret(fake.token),
                webhook_secret=Secret(WEBHOOK_SECRET),
            )
        },
    )


class TelegramBot(RunningBot):
    async def post(self, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> int:
        assert self.session is not None
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with self.session.post(
            f"http://127.0.0.1:{self.port}/telegram/webhook", json=update, headers=headers
        ) as response:
            return response.status


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeTelegramApi) -> AsyncIterator[TelegramBot]:
    running = await TelegramBot(telegram_config(tmp_path / "tg.db", fake)).start()
    yield running
    await running.close()


def keyboard(call: dict[str, Any]) -> list[dict[str, Any]]:
    markup = call.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_start_up_registers_commands_and_the_webhook(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    [webhook] = fake.of("setWebhook")
    assert webhook["secret_token"] == WEBHOOK_SECRET
    assert webhook["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    scopes = [call["scope"]["type"] for call in fake.of("setMyCommands")]
    assert scopes == ["all_private_chats", "all_group_chats"]
    private, group = ([c["command"] for c in call["commands"]] for call in fake.of("setMyCommands"))
    assert "start" in private and "cases" in private
    assert private == [info.command for info in offered(private=True)]
    assert group == [info.command for info in offered(private=False)]
    assert fake.of("getMe")


async def test_a_group_report_with_a_short_link_becomes_a_case_and_a_private_question(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    status = await bot.post(message_update(f"look {SHORT}", chat=GROUP))
    assert status == 200 and bot.count("inbox") == 1
    question = await fake.wait_for_line(messages.Q_TARGETS)
    assert question["chat_id"] == 501 and question["parse_mode"] == "HTML"
    assert [b["text"] for b in keyboard(question)] == [
        "Me",
        "A colleague",
        "Several staff",
        "The school",
        "Skip",
    ]
    assert bot.count() == 1
    logged = await fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
    assert logged["chat_id"] == 501
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.YOUTUBE))
    assert alert["chat_id"] == LEADS_GROUP
    with sqlite3.connect(bot.config.storage.database) as db:
        assert (
            db.execute("SELECT canonical_url FROM case_links").fetchone()[0]
            == "https://youtube.com/watch?v=abc_DEF-1"
        )


async def test_a_callback_answers_removes_the_keyboard_and_asks_the_next(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    await bot.post(message_update(SHORT, chat=GROUP))
    question = await fake.wait_for_line(messages.Q_TARGETS)
    me = next(b for b in keyboard(question) if b["text"] == "Me")
    assert await bot.post(callback_update(me["callback_data"], message_id=77)) == 200
    [edit] = await fake.wait_for("editMessageText")
    assert edit["message_id"] == 77 and "reply_markup" not in edit
    assert edit["text"] == messages.answer_recorded(messages.Q_TARGETS, "Me")
    await fake.wait_for("answerCallbackQuery")
    await fake.wait_for_text(messages.Q_CATEGORIES)


async def test_the_same_update_twice_is_one_case(bot: TelegramBot, fake: FakeTelegramApi) -> None:
    update = message_update(SHORT, chat=GROUP)
    assert await bot.post(update) == 200
    assert await bot.post(update) == 200
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.drained()
    assert bot.count() == 1 and bot.count("inbox") == 1


@pytest.mark.parametrize("secret", ["wrong", "", None])
async def test_the_webhook_refuses_a_wrong_or_missing_secret(
    bot: TelegramBot, fake: FakeTelegramApi, secret: str | None
) -> None:
    assert await bot.post(message_update(SHORT, chat=GROUP), secret=secret) == 403
    await bot.drained()
    assert bot.count("inbox") == 0 and fake.of("sendMessage") == []


async def test_a_malformed_body_is_a_400_and_stores_nothing(bot: TelegramBot) -> None:
    assert bot.session is not None
    async with bot.session.post(
        f"http://127.0.0.1:{bot.port}/telegram/webhook",
        data=b"\xff\xfenot json",
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    ) as response:
        assert response.status == 400
    assert bot.count("inbox") == 0


async def test_chats_of_no_school_other_bots_and_bots_are_ignored(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    await bot.post(message_update(SHORT, chat=-100555))
    await bot.post(message_update("/cases@some_other_bot", chat=GROUP, user=LEAD))
    bot_message = message_update(SHORT, chat=GROUP)
    bot_message["message"]["from"]["is_bot"] = True
    await bot.post(bot_message)
    await bot.drained()
    assert bot.count("inbox") == 0 and fake.of("sendMessage") == []


async def test_html_in_a_report_is_shown_literally(bot: TelegramBot, fake: FakeTelegramApi) -> None:
    await bot.post(message_update(f"<b>Mr X</b> & <a href='x'>@everyone</a> {SHORT}", chat=GROUP))
    await fake.wait_for_line(messages.Q_TARGETS)
    await bot.post(message_update("/cases show 1", chat=LEAD, user=LEAD, username="lena"))
    shown = await fake.wait_for("sendMessage", 4)
    text = next(c["text"] for c in shown if "Timeline" in c["text"])
    assert "&lt;b&gt;Mr X&lt;/b&gt; &amp; &lt;a href='x'&gt;" in text
    assert "<b>" not in text and "<a " not in text


async def test_lead_commands_from_a_group_are_answered_privately(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    await bot.post(message_update("/cases help", chat=GROUP, user=LEAD, username="lena"))
    reply = await fake.wait_for_text(messages.LEAD_HELP)
    assert reply["chat_id"] == LEAD
    await bot.post(message_update("/cases", chat=GROUP, user=501))
    refusal = await fake.wait_for_text(messages.NOT_A_LEAD)
    assert refusal["chat_id"] == 501


async def test_flood_control_is_waited_out_and_the_message_delivered(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    fake.flood["sendMessage"] = [1]
    await bot.post(message_update(SHORT, chat=GROUP))
    await fake.wait_for_line(messages.Q_TARGETS, timeout=10)
    assert [name for name, _ in fake.calls if name.endswith("!429")] == ["sendMessage!429"]
    to_reporter = [c["text"] for c in fake.of("sendMessage") if c["chat_id"] == 501]
    assert to_reporter[0] == messages.case_logged(1, Platform.YOUTUBE)  # order kept in a chat


async def test_a_caption_and_a_text_link_are_reports_and_media_is_not_fetched(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    await bot.post(
        message_update("screenshot of https://x.com/u/status/42", chat=GROUP, caption=True)
    )
    await bot.post(
        message_update(
            "this video",
            chat=GROUP,
            user=502,
            username="sam",
            entities=[
                {
                    "type": "text_link",
                    "offset": 5,
                    "length": 5,
                    "url": "https://www.tiktok.com/@a/video/9?_r=1",
                }
            ],
        )
    )
    await fake.wait_for("sendMessage", 4)
    await bot.drained()
    with sqlite3.connect(bot.config.storage.database) as db:
        urls = sorted(r[0] for r in db.execute("SELECT canonical_url FROM case_links"))
    assert urls == ["https://tiktok.com/@a/video/9", "https://x.com/u/status/42"]
    assert not [name for name, _ in fake.calls if name.startswith("getFile")]
    stored = bot.config.storage.database.read_bytes()
    assert PHOTO_FILE_ID.encode() not in stored and b"UNIQUE-PHOTO" not in stored


async def test_a_reporter_who_never_started_the_bot_is_answered_in_the_group(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    fake.blocked_chats.add(503)
    update = message_update(SHORT, chat=GROUP, user=503, username="kim")
    await bot.post(update)
    question = await fake.wait_for_line(messages.Q_TARGETS)
    assert question["chat_id"] == GROUP
    assert question["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert keyboard(question)


async def test_polling_consumes_queued_updates_and_moves_the_offset(
    tmp_path: Path, fake: FakeTelegramApi
) -> None:
    first = message_update(SHORT, chat=GROUP)
    second = message_update("https://instagram.com/p/Q1", chat=GROUP, user=502, username="sam")
    fake.updates.extend([first, second])
    bot = await TelegramBot(telegram_config(tmp_path / "poll.db", fake, mode="polling")).start()
    try:
        await fake.wait_for_text(messages.case_logged(2, Platform.INSTAGRAM))
        assert bot.count() == 2
        assert fake.of("deleteWebhook") and not fake.of("setWebhook")
        await until(lambda: second["update_id"] + 1 in fake.offsets)
        assert fake.offsets[0] is None
        assert fake.polls[0]["allowed_updates"] == [
            "message",
            "edited_message",
            "callback_query",
            "my_chat_member",
        ]
    finally:
        await bot.close()


async def test_health_is_503_while_polling_fails_and_200_once_it_works_again(
    tmp_path: Path, fake: FakeTelegramApi
) -> None:
    fake.down.add("getUpdates")
    bot = await TelegramBot(telegram_config(tmp_path / "down.db", fake, mode="polling")).start(
        connected=False
    )
    try:
        down = await bot.health_until(503, where=lambda b: "telegram" in b["problems"])
        assert down["telegram"] is False
        assert down["problems"]["telegram"] in ("not connected yet", "polling: NetworkError")
        assert down["database"] and down["worker"] and down["scheduler"]
        fake.down.clear()
        assert (await bot.health_until(200))["telegram"] is True
        assert bot.session is not None  # served in polling mode too, for the IT person
        async with bot.session.get(f"http://127.0.0.1:{bot.port}/metrics") as metrics:
            assert metrics.status == 200
            assert "casebook_reports_received_total" in await metrics.text()
    finally:
        await bot.close()
