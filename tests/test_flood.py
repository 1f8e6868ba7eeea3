"""Telegram flood control through the real client and a fake Bot API that answers every send
429 for a while: no reply is given up, no chat is called again sooner than the retry_after it
was given, and every reply arrives once the flood ends."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers import messages
from storage.models import Platform
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.test_telegram import GROUP, LEADS_GROUP, TelegramBot, telegram_config

REPORTERS = tuple(range(601, 609))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


@pytest.mark.parametrize(
    ("retry_after", "flood_seconds"),
    [(1, 4.0), pytest.param(5, 6.0, marks=pytest.mark.slow)],  # two 429s a chat, then quiet
)
async def test_a_flood_gives_up_no_reply_and_no_chat_is_called_before_its_retry_after(
    tmp_path: Path, fake: FakeTelegramApi, retry_after: int, flood_seconds: float
) -> None:
    bot = await TelegramBot(telegram_config(tmp_path / "tg.db", fake)).start()
    try:
        fake.start_flood(flood_seconds, retry_after)
        for n, user in enumerate(REPORTERS):
            update = message_update(
                f"https://youtube.com/shorts/flood{n}", chat=GROUP, user=user, username=f"u{n}"
            )
            assert await bot.post(update) == 200
        await bot.drained(timeout=flood_seconds + 2 * retry_after + 10)
    finally:
        await bot.close()
    with sqlite3.connect(tmp_path / "tg.db") as db:
        given_up = db.execute("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")
        assert given_up.fetchone()[0] == 0
    floods = sum(1 for name, _ in fake.calls if name.endswith("!429"))
    assert 1 <= floods <= flood_seconds / retry_after + 3  # one call a pause, not one a chat
    assert fake.early_calls(retry_after) == []
    sent: dict[int, list[str]] = defaultdict(list)
    for args in fake.of("sendMessage"):
        sent[args["chat_id"]].extend(args["text"].split("\n"))
    cases = range(1, len(REPORTERS) + 1)
    logged = {messages.case_logged(number, Platform.YOUTUBE) for number in cases}
    for user in REPORTERS:
        assert len(logged & set(sent[user])) == 1 and messages.Q_TARGETS in sent[user]
    assert {line for user in REPORTERS for line in sent[user]} >= logged
    alerts = {messages.new_case_alert(number, Platform.YOUTUBE) for number in cases}
    assert set(sent[LEADS_GROUP]) >= alerts
