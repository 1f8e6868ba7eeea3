"""Erasure through the real transports: after `person erase`, nothing in the database file or
its WAL holds the person's platform id, or the id of the direct chat Casebook learnt for them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import messages, privacy
from storage.db import Database
from tests.chat import Chat
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import SlackBot, buttons_of, slack_config
from tests.test_telegram import TelegramBot, telegram_config

ROOT = Path(__file__).resolve().parent.parent
TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"


def erase(database: Path, *who: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "person", "erase", *who, "--yes", "--db", str(database)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def traces(database: Path, *needles: str) -> list[str]:
    """Which of the needles are still somewhere in the database file or its WAL."""
    found = []
    for path in (database, Path(f"{database}-wal")):
        if path.exists():
            data = path.read_bytes()
            found += [f"{n} in {path.name}" for n in needles if n.encode() in data]
    return found


def direct_refs(database: Path, chat: str) -> int:
    with sqlite3.connect(database) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM outbox WHERE message_ref LIKE ?", (f"{chat}|%",)
            ).fetchone()[0]
        )


async def test_erasing_a_slack_person_blanks_their_direct_message_references(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    database = tmp_path / "slack.db"
    bot = await SlackBot(slack_config(database, slack_fake), slack_fake).start()
    try:
        await bot.message(f"look {TIKTOK}", user="UERASE7")
        question = await slack_fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
        assert question["channel"] == "DERASE7"  # the direct chat Slack gave for UERASE7
        await bot.press(buttons_of(question)[0]["value"], user="UERASE7", channel="DERASE7")
        await slack_fake.wait_for_text("chat.postMessage", messages.Q_CATEGORIES)
    finally:
        await bot.close()
    assert direct_refs(database, "DERASE7") >= 2
    erase(database, "--slack", "UERASE7")
    assert traces(database, "UERASE7", "DERASE7") == []
    assert direct_refs(database, "DERASE7") == 0


async def test_erasing_a_telegram_person_blanks_their_private_chat_references(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    database = tmp_path / "tg.db"
    bot = await TelegramBot(telegram_config(database, telegram_fake)).start()
    try:
        await bot.post(message_update(f"look {TIKTOK}", user=987654321, username="erin"))
        question = await telegram_fake.wait_for_line(messages.Q_TARGETS)
        assert question["chat_id"] == 987654321  # a private chat's id is the person's id
    finally:
        await bot.close()
    assert direct_refs(database, "987654321") >= 1
    erase(database, "--telegram", "987654321")
    assert traces(database, "987654321") == []


@pytest.mark.sqlite_only
async def test_retention_forgets_old_direct_chat_references(chat: Chat, database: Database) -> None:
    await chat.say(TIKTOK, user="alex")  # questions go to alex's direct chat
    chat.clock.advance(days=29)
    await chat.say("https://x.com/u/status/5", user="alex")
    chat.clock.advance(days=2)
    async with database.transaction() as unit:
        await privacy.purge(unit, [], chat.clock.now())
    with sqlite3.connect(database.path) as db:
        direct = db.execute(
            "SELECT DISTINCT c.number FROM outbox o JOIN cases c ON c.id = o.case_id"
            " WHERE o.direct_person_id IS NOT NULL AND o.message_ref IS NOT NULL"
        ).fetchall()
        forgotten = db.execute(
            "SELECT count(*) FROM outbox o JOIN cases c ON c.id = o.case_id"
            " WHERE c.number = 1 AND o.sent_at IS NOT NULL AND o.message_ref IS NULL"
        ).fetchone()[0]
    assert direct == [(2,)]  # sent under 30 days ago: kept
    assert forgotten >= 1  # the reply to alex about case 1


async def test_erasing_a_teams_person_leaves_neither_their_id_nor_their_chats_id(
    tmp_path: Path,
) -> None:
    from tests.fakes.teams_api import FakeTeamsApi, activity
    from tests.teams_harness import STAFF_CHANNEL, teams_bot

    database = tmp_path / "teams.db"
    fake = await FakeTeamsApi().start()
    bot = await teams_bot(database, fake, followup="dm")
    try:
        await bot.post(activity("/mycases", "a:chat-of-erin", kind="personal", user="aad-erin-7"))
        await fake.wait_until(lambda: fake.of("send") or None)
        await bot.post(activity(f"look {TIKTOK}", STAFF_CHANNEL, user="aad-erin-7"))
        question = await fake.wait_for_line(messages.Q_TARGETS)
        assert question["conversation"] == "a:chat-of-erin"
        await bot.drained()
    finally:
        await bot.close()
        await fake.stop()
    assert direct_refs(database, "a:chat-of-erin") >= 2
    erase(database, "--teams", "aad-erin-7")
    assert traces(database, "aad-erin-7", "a:chat-of-erin") == []
