"""A hosted Casebook on Telegram, end to end: no [[schools]] in the file; a school is added with
`casebook school add`, its lead joins with `/start CODE`, sets up its groups from the chat, and a
report in the staff group is that school's case #1, alerted to the leads' group. Real HTTP both
ways; on SQLite and, with CASEBOOK_TEST_STORE=postgres, on PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.adapters import telegram_events
from bot.adapters.telegram_config import TELEGRAM, TelegramConfig, TelegramMode
from bot.school_cli import add_school
from handlers import messages
from handlers.events import IncomingKind
from handlers.settings import (
    Config,
    SchoolConfig,
    SchoolPlaces,
    Secret,
)
from storage.hosted import PlaceKey
from storage.models import Platform
from storage.store import Store
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.hosted_config import hosted_config
from tests.test_telegram import SHORT, WEBHOOK_SECRET, TelegramBot

OLD_GROUP = -4001  # a basic group, before Telegram upgrades it
NEW_GROUP = -1004001
STAFF_GROUP = -100111
LEADS_GROUP = -100999
LEAD = 900
STAFF = 501
STRANGER = 777


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest, fake: FakeTelegramApi) -> Config:
    """Telegram and no school at all: every school joins from the chat."""
    return hosted_config(
        tmp_path,
        request,
        {
            TELEGRAM: TelegramConfig(
                mode=TelegramMode.WEBHOOK,
                api_url=fake.url,
                webhook_url="https://casebook.example.org/telegram/webhook",
                bot_token=Secret(fake.token),
                webhook_secret=Secret(WEBHOOK_SECRET),
            )
        },
    )


@pytest.fixture
async def bot(config: Config, database: Store) -> AsyncIterator[TelegramBot]:
    running = await TelegramBot(config).start()
    yield running
    await running.close()


async def test_a_school_joins_sets_up_its_groups_and_gets_its_first_case_from_the_chat(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))

    assert await bot.post(message_update(f"/start {code}", user=LEAD, chat=LEAD)) == 200
    welcome = await fake.wait_for_text(messages.joined("Northfield"))
    assert welcome["chat_id"] == LEAD

    await bot.post(message_update("/cases here reports", user=LEAD, chat=STAFF_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(message_update("/cases here leads", user=LEAD, chat=LEADS_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "leads"))

    await bot.post(message_update(f"look {SHORT}", user=STAFF, chat=STAFF_GROUP))
    logged = await fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
    assert logged["chat_id"] == STAFF
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.YOUTUBE))
    assert alert["chat_id"] == LEADS_GROUP
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        case = await unit.cases.by_number(school.id, 1)
        assert case is not None and case.platform is Platform.YOUTUBE

    await bot.post(message_update(f"/start {code}", user=STRANGER, chat=STRANGER))
    refusal = await fake.wait_for_text(messages.JOIN_REFUSED)
    assert refusal["chat_id"] == STRANGER
    await bot.post(message_update("/cases", user=STRANGER, chat=STRANGER))
    await fake.wait_for_text(messages.NOT_A_LEAD)


async def test_a_group_is_read_from_the_message_after_a_lead_claims_it(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    await bot.post(message_update(f"look {SHORT}", user=STAFF, chat=STAFF_GROUP))
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await bot.post(message_update(f"/start {code}", user=LEAD, chat=LEAD))
    await fake.wait_for_text(messages.joined("Northfield"))
    async with database.reading() as unit:
        school = await unit.schools.by_name("Northfield")
        assert school is not None
        assert await unit.cases.by_number(school.id, 1) is None
    # Claimed, the group is read from the very next message on.
    await bot.post(message_update("/cases here reports", user=LEAD, chat=STAFF_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(message_update(f"again {SHORT}", user=STAFF, chat=STAFF_GROUP))
    await fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
    # With no leads' group yet, the alert goes to the lead directly.
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.YOUTUBE))
    assert alert["chat_id"] == LEAD


_ids = itertools.count(50_000)
BOT_USER = {"id": 42, "is_bot": True, "first_name": "Casebook", "username": "casebook_bot"}


def membership_update(chat: int, old: str, new: str, by: int = LEAD) -> dict[str, Any]:
    """Telegram's my_chat_member: the bot's own status in `chat` went from `old` to `new`."""
    return {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": {"id": chat, "type": "supergroup", "title": "Staff"},
            "from": {"id": by, "is_bot": False, "first_name": "Kim"},
            "date": int(time.time()),
            "old_chat_member": {"user": BOT_USER, "status": old},
            "new_chat_member": {"user": BOT_USER, "status": new},
        },
    }


def migration_update(old: int, new: int) -> dict[str, Any]:
    """The service message Telegram posts in a group it has just made a supergroup."""
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": old, "type": "group", "title": "Staff"},
            "from": {"id": LEAD, "is_bot": False, "first_name": "Kim"},
            "migrate_to_chat_id": new,
        },
    }


async def joined_lead(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    code = await add_school(database, config, "Northfield", "Europe/London", datetime.now(UTC))
    await bot.post(message_update(f"/start {code}", user=LEAD, chat=LEAD))
    await fake.wait_for_text(messages.joined("Northfield"))


async def test_added_to_a_group_the_bot_says_once_how_to_set_it_up(
    bot: TelegramBot, fake: FakeTelegramApi
) -> None:
    assert await bot.post(membership_update(STAFF_GROUP, "left", "member")) == 200
    said = await fake.wait_for_text(messages.hosted_group_added())
    assert said["chat_id"] == STAFF_GROUP
    await bot.post(membership_update(STAFF_GROUP, "member", "left"))
    await bot.post(membership_update(STAFF_GROUP, "left", "member"))
    await bot.post(message_update("/cases help", user=LEAD, chat=LEAD))
    await fake.wait_for_text(messages.NOT_A_LEAD)  # handled after the updates above
    assert len([c for c in fake.of("sendMessage") if c["chat_id"] == STAFF_GROUP]) == 1


async def test_removed_from_its_leads_group_the_place_is_gone_and_health_stays_green(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    await joined_lead(bot, fake, database, config)
    await bot.post(message_update("/cases here reports", user=LEAD, chat=STAFF_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(message_update("/cases here leads", user=LEAD, chat=LEADS_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "leads"))
    fake.blocked_chats.add(LEADS_GROUP)  # removed: Telegram refuses the bot's messages there
    await bot.post(membership_update(LEADS_GROUP, "member", "left"))
    await bot.post(message_update(f"look {SHORT}", user=STAFF, chat=STAFF_GROUP))
    alert = await fake.wait_for_text(messages.new_case_alert(1, Platform.YOUTUBE))
    assert alert["chat_id"] == LEAD  # with its leads' group gone, to the lead directly
    body = await bot.health_until(200)
    assert body["telegram"] is True
    async with database.reading() as unit:
        place = await unit.hosted.place(PlaceKey("telegram", "", str(LEADS_GROUP)))
        assert place is not None and place.gone_at is not None
    assert not [c for c in fake.of("sendMessage") if c["chat_id"] == LEADS_GROUP][1:]


async def test_a_group_upgraded_to_a_supergroup_keeps_its_place_and_its_cases(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    await joined_lead(bot, fake, database, config)
    await bot.post(message_update("/cases here reports", user=LEAD, chat=OLD_GROUP))
    await fake.wait_for_text(messages.place_set("Northfield", "reports"))
    await bot.post(message_update(f"look {SHORT}", user=STAFF, chat=OLD_GROUP))
    await fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE))
    assert await bot.post(migration_update(OLD_GROUP, NEW_GROUP)) == 200
    await bot.post(message_update("https://www.tiktok.com/@x/video/1", user=STAFF, chat=NEW_GROUP))
    await fake.wait_for_text(messages.case_logged(2, Platform.TIKTOK))
    async with database.reading() as unit:
        assert await unit.hosted.place(PlaceKey("telegram", "", str(OLD_GROUP))) is None
        moved = await unit.hosted.place(PlaceKey("telegram", "", str(NEW_GROUP)))
        assert moved is not None
        school = await unit.schools.by_name("Northfield")
        assert school is not None and moved.school_id == school.id
        first = await unit.cases.by_number(school.id, 1)
        assert first is not None and first.platform is Platform.YOUTUBE


def test_membership_changes_become_added_removed_or_nothing(config: Config) -> None:
    def read(update: dict[str, Any], with_config: Config = config) -> IncomingKind | None:
        parsed = Update.de_json(update, None)
        found = telegram_events.incoming(with_config, parsed, "casebook_bot")
        return None if found is None else found.kind

    assert read(membership_update(STAFF_GROUP, "left", "member")) is IncomingKind.ADDED
    assert read(membership_update(STAFF_GROUP, "member", "left")) is IncomingKind.REMOVED
    assert read(membership_update(STAFF_GROUP, "member", "member")) is None
    assert read(migration_update(OLD_GROUP, NEW_GROUP)) is IncomingKind.MOVED
    # A group the config file names already is no news: nothing is said there.
    named = SchoolConfig("Northfield", places={TELEGRAM: SchoolPlaces((str(STAFF_GROUP),))})
    configured = dataclasses.replace(config, schools=(named,))
    assert read(membership_update(STAFF_GROUP, "left", "member"), configured) is None


async def test_a_group_claimed_through_one_process_is_read_by_another_at_once(
    bot: TelegramBot, fake: FakeTelegramApi, database: Store, config: Config
) -> None:
    other = await TelegramBot(config).start()
    try:
        await joined_lead(bot, fake, database, config)
        await bot.post(message_update("/cases here reports", user=LEAD, chat=STAFF_GROUP))
        await fake.wait_for_text(messages.place_set("Northfield", "reports"))
        await other.post(message_update(f"look {SHORT}", user=STAFF, chat=STAFF_GROUP))
        await fake.wait_for_text(messages.case_logged(1, Platform.YOUTUBE), timeout=2.0)
    finally:
        await other.close()


async def test_a_message_in_a_group_of_no_school_logs_how_a_lead_claims_it(
    bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert await bot.post(message_update(f"look {SHORT}", user=STAFF, chat=STAFF_GROUP)) == 200
    [line] = [r.getMessage() for r in caplog.records if str(STAFF_GROUP) in r.getMessage()]
    assert "/cases here reports" in line and "telegram_report_chats" not in line
