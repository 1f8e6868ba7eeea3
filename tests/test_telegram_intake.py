"""Telegram updates reach the inbox once each and are never skipped: a message's identity is its
chat and its message id together, and polling never moves past an update it could not store."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from handlers import messages
from storage.models import Platform
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.running import until
from tests.test_telegram import GROUP, SHORT, TelegramBot, telegram_config

SOUTHGATE_GROUP = -100222


async def test_two_messages_with_one_message_id_in_two_chats_are_two_reports(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    north = message_update(SHORT, chat=GROUP)
    south = message_update("https://instagram.com/p/Q1", chat=SOUTHGATE_GROUP, user=777)
    south["message"]["message_id"] = north["message"]["message_id"]  # ids are per chat
    bot = await TelegramBot(telegram_config(tmp_path / "ids.db", telegram_fake)).start()
    try:
        assert await bot.post(north) == 200
        assert await bot.post(south) == 200
        await telegram_fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
        await telegram_fake.wait_for_text(messages.case_logged(1, Platform.INSTAGRAM))
        await bot.drained()
        assert bot.count() == 2 and bot.count("inbox") == 2
    finally:
        await bot.close()


@pytest.mark.sqlite_only  # holds SQLite's write lock from outside
async def test_polling_asks_again_for_an_update_it_could_not_store_and_then_stores_it(
    tmp_path: Path, telegram_fake: FakeTelegramApi, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "poll.db"
    bot = await TelegramBot(telegram_config(database, telegram_fake, mode="polling")).start()
    locker = sqlite3.connect(database, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # every write waits, then fails: busy
        update = message_update(SHORT, chat=GROUP)
        telegram_fake.updates.append(update)
        with caplog.at_level(logging.ERROR, logger="bot.adapters.telegram"):
            async with asyncio.timeout(30):
                while "not stored" not in caplog.text:
                    await asyncio.sleep(0.05)
        assert update["update_id"] + 1 not in telegram_fake.offsets  # not confirmed to Telegram
        locker.execute("ROLLBACK")
        await telegram_fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
        await until(lambda: update["update_id"] + 1 in telegram_fake.offsets)
        await bot.drained()
        assert bot.count() == 1
    finally:
        locker.close()
        await bot.close()
