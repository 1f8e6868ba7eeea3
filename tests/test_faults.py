"""Faults in the platforms and the disk, through the real clients and the real `run_chat`.

Every acknowledged report becomes a case, whatever the Slack or Telegram Web APIs are doing: a
platform that rate-limits, fails or hangs delays only its own messages, and a database that is
locked for a while delays handling without failing anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.telegram_config import TELEGRAM
from handlers import messages
from handlers.settings import Config
from storage.models import Platform
from tests.fakes.faults import Fault
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.running import until
from tests.slack_harness import SECRET, SlackBot, slack_config
from tests.test_telegram import (
    GROUP,
    LEADS_GROUP,
    WEBHOOK_SECRET,
    TelegramBot,
    telegram_config,
)


def both(database: Path, slack: FakeSlackApi, telegram: FakeTelegramApi) -> Config:
    """Slack (HTTP mode) and Telegram (webhook) in one Casebook, one school on each."""
    on_slack = slack_config(database, slack)
    on_telegram = telegram_config(database, telegram)
    school = replace(
        on_slack.schools[0],
        places={**on_slack.schools[0].places, TELEGRAM: on_telegram.schools[0].on(TELEGRAM)},
    )
    return replace(
        on_slack, schools=(school,), transports={**on_slack.transports, **on_telegram.transports}
    )


async def test_every_event_acknowledged_while_slack_rate_limits_from_the_start_is_a_case(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    await slack_fake.faults.set(Fault.RATE_LIMIT)
    bot = await SlackBot(slack_config(tmp_path / "limited.db", slack_fake), slack_fake).start(
        connected=False
    )
    try:
        statuses: dict[int, int] = {}
        waiting = list(range(50))
        for _ in range(20):  # as Slack does, send again whatever was not acknowledged
            answers = await asyncio.gather(
                *(
                    # Eight staff: one person's eleventh report would be folded.
                    bot.message(
                        f"report https://x.com/u/status/{n}",
                        user=f"UALEX{n % 8}",
                        event_id=f"EvLIMIT{n}",
                    )
                    for n in waiting
                )
            )
            for n, (status, body) in zip(waiting, answers, strict=True):
                statuses[n] = status
                assert "reinstall" not in body.lower()
            waiting = [n for n in waiting if statuses[n] != 200]
            if not waiting:
                break
        assert waiting == [] and set(statuses) == set(range(50))
        # Handled while Slack still refuses every call: handling does not wait on delivery.
        await until(lambda: bot.count() == 50, 20)
        assert slack_fake.faults.mode is Fault.RATE_LIMIT
        health = await bot.health_until(503)
        assert health["slack"] is False and health["problems"]["slack"]
        await slack_fake.faults.clear()
        await slack_fake.wait_for_text("chat.postMessage", messages.case_logged(50, Platform.X), 30)
        await bot.health_until(200, timeout=30)
    finally:
        await bot.close()


async def test_telegram_reports_are_answered_within_seconds_while_slack_hangs(
    tmp_path: Path, slack_fake: FakeSlackApi, telegram_fake: FakeTelegramApi
) -> None:
    bot = await TelegramBot(both(tmp_path / "both.db", slack_fake, telegram_fake)).start()
    try:
        await slack_fake.faults.set(Fault.HANG)
        slack = SlackBot(bot.config, slack_fake)
        slack.port, slack.session = bot.port, bot.session
        for n in range(3):  # replies that Slack will sit on
            status, _ = await slack.message(f"slack report https://x.com/u/status/{n}")
            assert status == 200
        # Handled before Telegram's reports arrive, which would otherwise go first (each
        # person's next event waits its turn behind other people's first ones): the case
        # numbers below count on it.
        async with asyncio.timeout(10):
            while bot.count() < 3:
                await asyncio.sleep(0.02)
        started = time.monotonic()
        for n in range(1, 6):
            update = message_update(f"https://instagram.com/p/Tg{n}", chat=GROUP, user=500 + n)
            assert await bot.post(update) == 200
        for n in range(4, 9):  # Slack's three reports took case numbers 1 to 3
            logged = await telegram_fake.wait_for_text(
                messages.case_logged(n, Platform.INSTAGRAM), 5
            )
            assert logged["chat_id"] > 0
            alert = await telegram_fake.wait_for_line(
                messages.new_case_alert(n, Platform.INSTAGRAM), 5
            )
            assert alert["chat_id"] == LEADS_GROUP
        assert time.monotonic() - started < 5
        assert bot.count() == 8
        assert not slack_fake.of("chat.postMessage")  # still hanging, and only Slack waits
    finally:
        await slack_fake.faults.clear()
        await bot.close()


def _hold_exclusive_lock(
    database: Path,
    seconds: float,
    held: threading.Event,
    release: threading.Event | None = None,
) -> None:
    """Another program holding the write lock for `seconds` (or until `release` is set)."""
    with sqlite3.connect(database, isolation_level=None) as raw:
        raw.execute("BEGIN EXCLUSIVE")
        held.set()
        (release or threading.Event()).wait(seconds)
        raw.execute("COMMIT")


@pytest.mark.slow
async def test_a_database_locked_for_eight_seconds_during_a_burst_loses_nothing(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    config = telegram_config(tmp_path / "locked.db", telegram_fake)
    bot = await TelegramBot(config).start()
    try:
        held = threading.Event()
        locker = threading.Thread(
            target=_hold_exclusive_lock, args=(config.storage.database, 8.0, held)
        )
        # Sixty staff, none of whom sends the eleventh report that would fold their replies.
        updates = [
            message_update(
                f"https://tiktok.com/@a/video/{7300000000000000000 + n}",
                chat=GROUP,
                user=1000 + n % 60,
            )
            for n in range(500)
        ]
        acknowledged: set[int] = set()
        semaphore = asyncio.Semaphore(50)

        async def send(index: int) -> None:
            async with semaphore:
                if await bot.post(updates[index]) == 200:
                    acknowledged.add(index)

        first = asyncio.gather(*(send(i) for i in range(250)))
        await asyncio.sleep(0)
        locker.start()
        await asyncio.to_thread(held.wait)
        await first
        await asyncio.gather(*(send(i) for i in range(250, 500)))
        for _ in range(10):  # Telegram sends again whatever was not answered 200
            missing = [i for i in range(500) if i not in acknowledged]
            if not missing:
                break
            await asyncio.gather(*(send(i) for i in missing))
        await asyncio.to_thread(locker.join)
        assert len(acknowledged) == 500
        await until(lambda: bot.count() == 500, 60)
        # Generous: on a loaded two-core machine 500 replies have taken more than 30 s.
        await telegram_fake.wait_for_text(messages.case_logged(500, Platform.TIKTOK), 120)
        apologies = [
            c for c in telegram_fake.of("sendMessage") if c["text"] == messages.INTERNAL_ERROR
        ]
        assert apologies == []
        with sqlite3.connect(config.storage.database) as raw:
            aside = raw.execute("SELECT count(*) FROM inbox WHERE set_aside_at IS NOT NULL")
            assert aside.fetchone()[0] == 0
    finally:
        await bot.close()


def _signed(body: bytes, timestamp: str) -> dict[str, str]:
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


async def test_requests_slack_never_sends_get_4xx_and_store_nothing(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    bot = await SlackBot(slack_config(tmp_path / "bad.db", slack_fake), slack_fake).start()
    now = str(int(time.time()))
    bodies = {
        "not json": b'{"type": "event_callback", ',
        "an array": b"[1, 2, 3]",
        "null": b"null",
        "deeply nested": b"[" * 100_000 + b"]" * 100_000,
        "not UTF-8": b'{"type": "event_callback", "text": "\xff\xfe"}',
    }
    try:
        assert bot.session is not None
        for name, body in bodies.items():
            headers = {"Content-Type": "application/json", **_signed(body, now)}
            async with bot.session.post(bot.url, data=body, headers=headers) as response:
                assert 400 <= response.status < 500, name
        body = b'{"type": "event_callback"}'
        headers = {"Content-Type": "application/json", **_signed(body, "abc")}
        async with bot.session.post(bot.url, data=body, headers=headers) as response:
            assert response.status == 400
        assert bot.count("inbox") == 0
        assert (await bot.health_until(200))["worker"] is True  # and nothing broke
    finally:
        await bot.close()


async def test_telegram_webhook_requests_telegram_never_sends_get_4xx(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    bot = await TelegramBot(telegram_config(tmp_path / "bad.db", telegram_fake)).start()
    try:
        assert bot.session is not None
        url = f"http://127.0.0.1:{bot.port}/telegram/webhook"
        good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        for body in (b"[1]", b"null", b"{", b'{"update_id": "x"}', b"\xff\xfe", b"[" * 100_000):
            async with bot.session.post(url, data=body, headers=good) as response:
                assert response.status == 400, body[:20]
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "s\u00e9cret"}
        async with bot.session.post(url, data=b"{}", headers=wrong) as response:
            assert response.status == 403
        assert bot.count("inbox") == 0
    finally:
        await bot.close()


@pytest.mark.slow  # waits out a real two-second backoff
async def test_a_slack_5xx_with_a_page_of_html_is_a_temporary_failure(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    bot = await SlackBot(slack_config(tmp_path / "html.db", slack_fake), slack_fake).start()
    try:
        await slack_fake.faults.set(Fault.SERVER_ERROR, frozenset({"chat.postMessage"}))
        status, _ = await bot.message("report https://x.com/u/status/5")
        assert status == 200
        await slack_fake.wait_for("chat.postMessage!500")
        await until(lambda: _last_error(bot) is not None, 10)
        assert _last_error(bot) == "slack 500"
        await slack_fake.faults.clear()
        await slack_fake.wait_for_text(
            "chat.postMessage", messages.case_logged(1, Platform.X), timeout=30
        )
    finally:
        await bot.close()


def _last_error(bot: SlackBot) -> str | None:
    with sqlite3.connect(bot.config.storage.database) as raw:
        row = raw.execute("SELECT last_error FROM outbox WHERE last_error IS NOT NULL").fetchone()
    return None if row is None else str(row[0])


@pytest.mark.slow
async def test_an_event_that_cannot_be_stored_is_answered_503_and_stored_when_sent_again(
    tmp_path: Path, slack_fake: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    config = slack_config(tmp_path / "unstored.db", slack_fake)
    bot = await SlackBot(config, slack_fake).start()
    try:
        held, release = threading.Event(), threading.Event()
        locker = threading.Thread(
            target=_hold_exclusive_lock, args=(config.storage.database, 60.0, held, release)
        )
        locker.start()
        await asyncio.to_thread(held.wait)
        try:
            status, _ = await bot.message("report https://x.com/u/status/77", event_id="EvLOCK")
        finally:
            release.set()  # held until the answer came, however slow the machine
            await asyncio.to_thread(locker.join)
        assert status == 503  # the inbox could not take it in time
        # Answered by Casebook, not by aiohttp's handler for an exception that escaped it.
        assert not [r for r in caplog.records if r.name.startswith("aiohttp")]
        status, _ = await bot.message("report https://x.com/u/status/77", event_id="EvLOCK")
        assert status == 200
        await until(lambda: bot.count() == 1, 10)
    finally:
        await bot.close()
