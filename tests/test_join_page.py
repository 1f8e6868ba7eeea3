"""GET /join: the plain page a school starts from, served by the running Casebook, and checked
in headless Chromium for requests and console errors."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.join_page import JoinPage, render
from handlers import messages
from handlers.settings import Config
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.slack_harness import SlackBot, slack_config
from tests.test_evidence_browser import CHROMIUM, chromium
from tests.test_hosted_telegram import config as hosted_config
from tests.test_telegram import TelegramBot

config = hosted_config  # the hosted Telegram config: no [[schools]], a bot named by getMe


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    api = await FakeTelegramApi().start()
    yield api
    await api.stop()


@pytest.fixture
async def bot(config: Config) -> AsyncIterator[TelegramBot]:
    running = await TelegramBot(config).start()
    yield running
    await running.close()


def test_the_page_offers_what_is_set_up_and_the_three_steps() -> None:
    both = render(JoinPage(slack_install=True, telegram_bot="casebook_bot"))
    assert 'href="/slack/install"' in both and messages.JOIN_PAGE_INSTALL_BUTTON in both
    assert 'href="https://t.me/casebook_bot"' in both
    assert both.count("<li>") == 3 and '<html lang="en">' in both
    neither = render(JoinPage())
    assert "/slack/install" not in neither and "t.me" not in neither
    assert messages.JOIN_PAGE_NO_CHAT in neither
    assert messages.JOIN_PAGE_APP_PACKAGE not in both + neither
    teams = render(JoinPage(teams=True))
    assert messages.JOIN_PAGE_APP_PACKAGE in teams and messages.JOIN_PAGE_NO_CHAT not in teams
    for page in (both, neither, teams):
        assert not re.search(r"<script|<img|<link|src=|url\(|@import", page)


def test_a_bot_name_cannot_break_out_of_the_link() -> None:
    page = render(JoinPage(telegram_bot='x"><script>alert(1)</script>'))
    assert "<script>" not in page


async def test_join_is_served_with_a_policy_that_lets_nothing_load(bot: TelegramBot) -> None:
    assert bot.session is not None
    async with bot.session.get(f"http://127.0.0.1:{bot.port}/join") as response:
        body = await response.text()
        assert response.status == 200 and response.content_type == "text/html"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert 'href="https://t.me/casebook_test_bot"' in body
    assert "/slack/install" not in body


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="SKIPPED LOUDLY: chromium is not installed")
async def test_join_renders_in_chromium_with_no_request_and_no_console_error(
    bot: TelegramBot, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{bot.port}/join"
    async with chromium(tmp_path / "profile") as browser:
        page = await browser.open(url)
        assert page.requests == [url]  # the page itself, and nothing else
        assert page.errors == []
        heading = await browser.evaluate("document.querySelector('h1').textContent")
        assert heading == messages.JOIN_PAGE_TITLE
        assert await browser.evaluate("document.querySelectorAll('ol li').length") == 3


def test_a_platform_with_nothing_to_offer_here_still_says_what_a_school_does_there() -> None:
    page = render(JoinPage(slack=True, telegram=True))
    assert messages.JOIN_PAGE_ONE_WORKSPACE in page
    assert html.escape(messages.JOIN_PAGE_BOT_UNNAMED) in page
    assert messages.JOIN_PAGE_NO_CHAT not in page
    named = render(JoinPage(telegram=True, telegram_bot="casebook_bot"))
    assert html.escape(messages.JOIN_PAGE_BOT_UNNAMED) not in named
    assert "t.me/casebook_bot" in named


async def test_join_on_a_single_workspace_slack_says_where_the_code_goes(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    running = await SlackBot(slack_config(tmp_path / "one.db", slack_fake), slack_fake).start()
    try:
        assert running.session is not None
        async with running.session.get(f"http://127.0.0.1:{running.port}/join") as response:
            body = await response.text()
        assert messages.JOIN_PAGE_ONE_WORKSPACE in body
        assert messages.JOIN_PAGE_NO_CHAT not in body and "/slack/install" not in body
    finally:
        await running.close()
