"""Retention and a person's rights, as the rules read: how long a set-aside event keeps its text,
what erasure leaves of a person's direct chats, and whose notes a person's export holds."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.adapters.console_config import CONSOLE, console_places
from bot.app import sync_schools
from handlers import messages, privacy
from handlers.settings import Config, SchoolConfig, StorageConfig
from storage.db import Database
from storage.store import Store
from tests.chat import Chat, FakeClock
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.test_erasure import TIKTOK, erase, traces
from tests.test_telegram import TelegramBot, telegram_config


async def test_the_purge_keeps_a_set_aside_events_text_for_30_days_and_then_blanks_it(
    database: Store, clock: FakeClock
) -> None:
    now = clock.now()
    async with database.transaction() as unit:
        for event_id in ("aside-29-days", "aside-31-days"):
            await unit.inbox.add("slack", event_id, json.dumps({"text": event_id}), now)
        items = {i.event_id: i for i in await unit.inbox.pending(now)}
        for event_id, days in (("aside-29-days", 29), ("aside-31-days", 31)):
            await unit.inbox.set_aside(items[event_id].id, "failed", now - timedelta(days=days))
    async with database.transaction() as unit:
        await privacy.purge(unit, [], now)
    async with database.reading() as unit:
        kept = {i.event_id: i.has_payload for i in await unit.inbox.set_aside_items()}
    assert kept == {"aside-29-days": True, "aside-31-days": False}


async def test_erasure_blanks_direct_chat_references_kept_before_they_named_their_person(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    database = tmp_path / "tg.db"
    bot = await TelegramBot(telegram_config(database, telegram_fake)).start()
    try:
        await bot.post(message_update(f"look {TIKTOK}", user=987654321, username="erin"))
        await telegram_fake.wait_for_line(messages.Q_TARGETS)
    finally:
        await bot.close()
    with sqlite3.connect(database) as db:  # as rows were before direct_person_id was recorded
        db.execute("UPDATE outbox SET direct_person_id = NULL")
        legacy = db.execute(
            "SELECT count(*) FROM outbox WHERE message_ref LIKE '987654321|%'"
        ).fetchone()[0]
    assert legacy >= 1
    erase(database, "--telegram", "987654321")
    with sqlite3.connect(database) as db:
        left = db.execute(
            "SELECT count(*) FROM outbox WHERE message_ref LIKE '987654321%'"
        ).fetchone()[0]
    assert left == 0
    assert traces(database, "987654321") == []


async def test_a_persons_export_holds_the_notes_they_wrote_and_not_other_leads_notes(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = Config(
        schools=(
            SchoolConfig(name="Northfield", places={CONSOLE: console_places(("lena", "lee"))}),
        ),
        storage=StorageConfig(database=tmp_path / "notes.db"),
    )
    database = await Database.open(config.storage.database)
    try:
        await sync_schools(database, config)
        chat = Chat(database, config, clock)
        await chat.say(TIKTOK, user="alex")
        await chat.command("cases", "note 1 lena's own note", user="lena")
        await chat.command("cases", "note 1 lee's note about the call", user="lee")
        async with database.reading() as unit:
            lena = await privacy.person_export(unit, "console:lena")
            lee = await privacy.person_export(unit, "console:lee")
    finally:
        await database.close()
    assert [n["text"] for n in lena["notes_written"]] == ["lena's own note"]
    assert [n["text"] for n in lee["notes_written"]] == ["lee's note about the call"]
    assert "lee's note" not in json.dumps(lena)
