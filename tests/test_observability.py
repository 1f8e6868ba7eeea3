"""Health, metrics and logs: figures without personal data, logs without secrets or report text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import logs
from handlers import messages
from storage.models import Platform
from tests.fakes.slack_api import FakeSlackApi
from tests.slack_harness import (
    LEAD,
    SECRET,
    TOKEN,
    SlackBot,
    metric_values,
    metrics_text,
    slack_config,
)

REPORT_TEXT = "Mr-Khan-is-a-liar-7731"
LINK = "https://www.tiktok.com/@someone/video/987654321"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.configure("debug", json_lines=True, secrets=[TOKEN, SECRET], stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


@pytest.fixture
async def bot(tmp_path: Path, captured: io.StringIO) -> AsyncIterator[SlackBot]:
    fake = await FakeSlackApi().start()
    running = await SlackBot(slack_config(tmp_path / "o.db", fake), fake).start()
    yield running
    await running.close()
    await fake.stop()


async def test_logs_at_debug_carry_event_ids_but_no_secrets_or_report_text(
    bot: SlackBot, captured: io.StringIO
) -> None:
    await bot.message(f"{REPORT_TEXT} {LINK}", event_id="EvLOG1")
    await bot.fake.wait_for_text("chat.postMessage", messages.case_logged(1, Platform.TIKTOK))
    await bot.command("cases", "show 1", user=LEAD)  # sends the report text to Slack
    await bot.fake.wait_for("chat.postEphemeral")
    await bot.message("forged", secret="wrong-secret")
    bot.fake.failures["chat.postMessage"] = [500, 500, 500, 500]
    await bot.message(f"{REPORT_TEXT} again https://x.com/u/status/1")
    await bot.fake.wait_for("chat.postMessage!500", 3, timeout=10)
    written = captured.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    # A message's event id is its channel and ts, so a redelivery under a new event id is one event.
    assert any(
        "message:CREPORT|" in line["message"] and "cases [1]" in line["message"] for line in lines
    )
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    for forbidden in (TOKEN, SECRET, REPORT_TEXT, "tiktok.com/@someone", "UALEX"):
        assert forbidden not in written, forbidden


def test_a_secret_that_reaches_a_handler_is_redacted() -> None:
    stream = io.StringIO()
    handler = logs.configure("debug", secrets=["xoxb-very-secret"], stream=stream)
    try:
        logging.getLogger("bot.test").warning("token is %s", "xoxb-very-secret")
        assert "xoxb-very-secret" not in stream.getvalue() and "***" in stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)


def test_the_slack_web_client_is_told_not_to_build_debug_lines(
    captured: io.StringIO,
) -> None:
    """slack_sdk decides by its logger's own level, not the inherited one, whether to format a
    debug line (message body included) for each call."""
    from slack_sdk.web.async_client import AsyncWebClient

    own_level = AsyncWebClient(token="xoxb-test")._logger.level
    assert own_level > logging.DEBUG


async def test_metrics_count_what_happened_without_personal_labels(bot: SlackBot) -> None:
    await bot.message(LINK)
    report_ts = bot.last_ts
    await bot.fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
    await bot.message(LINK, user="USAM")
    await bot.fake.wait_for_text("chat.postMessage", messages.already_logged(1))
    # Every count a handler keeps is a metric: a reply under the report joins its case.
    await bot.message("They posted it again tonight", thread_ts=report_ts)
    deadline = time.monotonic() + 10
    while (values := await metric_values(bot)).get("casebook_thread_replies_joined_total") != 1:
        assert time.monotonic() < deadline, "the joined reply was not counted"
        await asyncio.sleep(0.05)
    assert values["casebook_reports_received_total"] == 2
    assert values["casebook_cases_created_total"] == 1
    assert values["casebook_duplicates_joined_total"] == 1
    assert values["casebook_intake_seconds_count"] == 3
    assert values['casebook_messages_sent_total{transport="slack"}'] >= 4
    body = await metrics_text(bot)
    assert "UALEX" not in body and "USAM" not in body and "tiktok" not in body
