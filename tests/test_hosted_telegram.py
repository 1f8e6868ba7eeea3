"""A hosted Casebook on Telegram, end to end: no [[schools]] in the file; a school is added with
`casebook school add`, its lead joins with `/start CODE`, sets up its groups from the chat, and a
report in the staff group is that school's case #1, alerted to the leads' group. Real HTTP both
ways; on SQLite and, with CASEBOOK_TEST_STORE=postgres, on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.telegram_config import TELEGRAM, TelegramConfig, TelegramMode
from bot.school_cli import add_school
from handlers import messages
from handlers.settings import Config, Secret, ServerConfig, StorageConfig
from storage.models import Platform
from storage.store import Store
from tests.conftest import on_postgres
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.test_telegram import SHORT, WEBHOOK_SECRET, TelegramBot

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
    storage = (
        StorageConfig(url=request.getfixturevalue("postgres_url"))
        if on_postgres()
        else StorageConfig(database=tmp_path / "hosted.db")
    )
    return Config(
        schools=(),
        storage=storage,
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
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
