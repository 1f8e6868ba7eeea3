"""The bot's own token for the Bot Connector: one the Connector stops taking is replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers import messages
from storage.models import Platform
from tests.fakes.teams_api import FakeTeamsApi, activity
from tests.teams_harness import STAFF_CHANNEL, TIKTOK, TeamsBot, teams_bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeTeamsApi]:
    api = await FakeTeamsApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeTeamsApi) -> AsyncIterator[TeamsBot]:
    running = await teams_bot(tmp_path / "teams.db", fake)
    yield running
    await running.close()


async def test_a_token_the_connector_refuses_is_fetched_again_and_the_reply_still_arrives(
    bot: TeamsBot, fake: FakeTeamsApi
) -> None:
    await bot.post(activity(TIKTOK, STAFF_CHANNEL))
    await fake.wait_for_text(messages.case_logged(1, Platform.TIKTOK))
    await bot.drained()
    assert fake.tokens_issued == 1
    fake.revoke_tokens()
    await bot.post(activity(TIKTOK.replace("7301", "7302"), STAFF_CHANNEL))
    await fake.wait_for("reply!401")
    logged = await fake.wait_for_call_text(
        "reply", messages.case_logged(2, Platform.TIKTOK), timeout=15
    )
    assert logged["conversation"] == STAFF_CHANNEL
    assert fake.tokens_issued == 2
