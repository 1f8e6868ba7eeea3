"""Every forged, missing, stale or replayed Slack signature and every wrong or missing Telegram
secret is refused, and nothing is stored (one table, both transports)."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from bot.adapters import slack_signature
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import SECRET, SlackBot, signature, slack_config
from tests.test_telegram import GROUP, WEBHOOK_SECRET, TelegramBot, telegram_config

BODY = json.dumps(
    {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "EvSIG",
        "event": {
            "type": "message",
            "user": "UALEX",
            "channel": "CREPORT",
            "channel_type": "channel",
            "ts": "1.000100",
            "text": "https://x.com/u/status/1",
        },
    }
)


def _now() -> int:
    return int(time.time())


SLACK_CASES = {
    "forged": (lambda: signature(BODY, _now(), "not-the-secret"), 401),
    "missing-signature": (lambda: {"X-Slack-Request-Timestamp": str(_now())}, 401),
    "missing-timestamp": (
        lambda: {"X-Slack-Signature": signature(BODY, _now())["X-Slack-Signature"]},
        401,
    ),
    "no-headers": (lambda: {}, 401),
    "stale": (lambda: signature(BODY, _now() - 301), 401),
    "from-the-future": (lambda: signature(BODY, _now() + 3600), 401),
    "four-minutes-ahead": (lambda: signature(BODY, _now() + 240), 401),
    "signed-other-body": (lambda: signature(BODY.replace("status/1", "status/2"), _now()), 401),
    "not-hex": (
        lambda: {"X-Slack-Request-Timestamp": str(_now()), "X-Slack-Signature": "v0=zz"},
        401,
    ),
}


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackBot]:
    fake = await FakeSlackApi().start()
    bot = await SlackBot(slack_config(tmp_path / "s.db", fake), fake).start()
    yield bot
    await bot.close()
    await fake.stop()


# Why each is refused, as its one log line says (the old and early ones with their skew).
SLACK_REFUSALS = {
    "forged": r"bad signature",
    "missing-signature": r"no signature",
    "missing-timestamp": r"no signature",
    "no-headers": r"no signature",
    "stale": r"timestamp 30[0-2]s old \(at most 300s allowed\)",
    "from-the-future": r"timestamp 3[56]\d\ds ahead of our clock \(at most 60s allowed\)",
    "four-minutes-ahead": r"timestamp 2[34]\ds ahead of our clock \(at most 60s allowed\)",
    "signed-other-body": r"bad signature",
    "not-hex": r"bad signature",
}


@pytest.mark.parametrize("case", sorted(SLACK_CASES))
async def test_slack_requests_without_a_valid_signature_are_refused(
    slack: SlackBot, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers, expected = SLACK_CASES[case]
    assert slack.session is not None
    caplog.set_level(logging.INFO)
    async with slack.session.post(
        slack.url, data=BODY.encode(), headers={"Content-Type": "application/json", **headers()}
    ) as response:
        assert response.status == expected
    assert slack.count("inbox") == 0 and slack.count() == 0
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert re.fullmatch(r"slack request refused \(401\): " + SLACK_REFUSALS[case], line), line


async def test_a_replayed_slack_request_is_stored_once(slack: SlackBot) -> None:
    headers = {"Content-Type": "application/json", **signature(BODY, _now(), SECRET)}
    assert slack.session is not None
    for _ in range(3):
        async with slack.session.post(slack.url, data=BODY.encode(), headers=headers) as response:
            assert response.status == 200
    await slack.fake.wait_for("chat.postMessage", 2)
    assert slack.count("inbox") == 1 and slack.count() == 1


async def test_the_signature_is_checked_over_the_bytes_slack_sent(slack: SlackBot) -> None:
    """Slack's bodies are compact and escape "/" as "\\/": the signature covers those bytes,
    which serialising the parsed body again would not give back."""
    body = json.dumps(json.loads(BODY), separators=(",", ":")).replace("/", "\\/")
    headers = {"Content-Type": "application/json", **signature(body, _now(), SECRET)}
    assert slack.session is not None
    async with slack.session.post(slack.url, data=body.encode(), headers=headers) as response:
        assert response.status == 200
    await slack.fake.wait_for("chat.postMessage")
    assert slack.count() == 1


@pytest.mark.parametrize("user", ["UALEX", "UBOT"])
async def test_a_forged_message_is_refused_as_bolt_refuses_it_whoever_it_claims_to_be_from(
    slack: SlackBot, user: str
) -> None:
    """The bot's own messages are dropped only once the signature holds: a forged one is a
    401 with bolt's body, not a quiet 200."""
    body = BODY.replace('"UALEX"', f'"{user}"')
    headers = {"Content-Type": "application/json", **signature(body, _now(), "not-the-secret")}
    assert slack.session is not None
    async with slack.session.post(slack.url, data=body.encode(), headers=headers) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid request"}
    assert slack.count("inbox") == 0


@pytest.mark.parametrize("ahead", [-290, 0, 50])
async def test_a_signature_up_to_five_minutes_old_or_a_minute_ahead_is_accepted(
    slack: SlackBot, ahead: int
) -> None:
    body = BODY.replace("EvSIG", f"EvSIG{ahead}")
    headers = {"Content-Type": "application/json", **signature(body, _now() + ahead, SECRET)}
    assert slack.session is not None
    async with slack.session.post(slack.url, data=body.encode(), headers=headers) as response:
        assert response.status == 200
    assert slack.count("inbox") == 1


async def test_a_signature_from_the_future_is_refused_with_its_skew_in_one_log_line(
    slack: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = {"Content-Type": "application/json", **signature(BODY, _now() + 240, SECRET)}
    assert slack.session is not None
    async with slack.session.post(slack.url, data=BODY.encode(), headers=headers) as response:
        assert response.status == 401
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "ahead" in line and ("240s" in line or "239s" in line or "241s" in line)


class _ClockAt(Clock):
    """Slack's verifier reads its own clock too: both are set to one moment."""

    def __init__(self, at: float) -> None:
        self._at = at

    def now(self) -> float:
        return self._at


SIGNED_AT = 1_800_000_000


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (SIGNED_AT - 60, True),
        (SIGNED_AT - 61, False),
        (SIGNED_AT + 300, True),
        (SIGNED_AT + 301, False),
    ],
)
def test_a_signature_exactly_a_minute_ahead_or_five_minutes_old_is_the_last_accepted(
    now: int, accepted: bool
) -> None:
    """The edges of the skew allowed, on the moment the check is made (as Slack sends it)."""
    verifier = SignatureVerifier(SECRET, _ClockAt(now))
    headers = signature(BODY, SIGNED_AT)
    refused = slack_signature.refusal(verifier, BODY.encode(), headers, now)
    assert (refused == "") is accepted, refused


def test_a_timestamp_in_digits_other_than_ascii_is_unreadable() -> None:
    """int() would read "١٨٠٠٠٠٠٠٠٠" as a time; Slack never sends one."""
    verifier = SignatureVerifier(SECRET, _ClockAt(SIGNED_AT))
    headers = {"X-Slack-Request-Timestamp": "١٨٠٠٠٠٠٠٠٠", "X-Slack-Signature": "v0=00"}
    refused = slack_signature.refusal(verifier, BODY.encode(), headers, SIGNED_AT)
    assert refused == "unreadable timestamp"


DEEP = "[" * 30_000 + "]" * 30_000
FORMS = {
    "not-json": "payload=%7Bnot-json",
    "deeply-nested": "payload=" + DEEP,
    "not-an-object": "payload=" + urllib.parse.quote("[1, 2]"),
    "json-body-not-json": "{not-json",
}
UNSIGNED = {
    "no-headers": lambda body: {},
    "forged": lambda body: {"X-Slack-Request-Timestamp": str(_now()), "X-Slack-Signature": "v0=00"},
    "other-secret": lambda body: signature(body, _now(), "not-the-secret"),
}


def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    """At most one log line, and no traceback."""
    assert len(caplog.records) <= 1, caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("headers", sorted(UNSIGNED))
async def test_an_unsigned_form_is_refused_before_its_body_is_parsed(
    slack: SlackBot, caplog: pytest.LogCaptureFixture, form: str, headers: str
) -> None:
    body = FORMS[form]
    assert slack.session is not None
    caplog.set_level(logging.INFO)
    caplog.clear()
    async with slack.session.post(
        slack.url,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **UNSIGNED[headers](body)},
    ) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid request"}
    _quiet(caplog)
    assert slack.count("inbox") == 0


# What the sender of each is told, with the 400.
FORM_PROBLEMS = {
    "not-json": "body is not JSON",
    "deeply-nested": "body nests too deeply",
    "not-an-object": "body is not a JSON object",
    "json-body-not-json": "body is not JSON",
}


@pytest.mark.parametrize("form", sorted(FORMS))
async def test_a_signed_form_that_cannot_be_read_is_a_400(
    slack: SlackBot, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    status, text = await slack.post(FORMS[form], "application/x-www-form-urlencoded")
    assert (status, text) == (400, FORM_PROBLEMS[form])
    _quiet(caplog)
    assert slack.count("inbox") == 0


async def test_a_signed_json_body_that_is_an_array_is_a_400(slack: SlackBot) -> None:
    """Its Content-Type says JSON, though it does not start with "{" as an object does."""
    status, text = await slack.post("[1, 2]", "application/json")
    assert (status, text) == (400, "body is not a JSON object")
    assert slack.count("inbox") == 0


TELEGRAM_CASES = {
    "wrong": ({"X-Telegram-Bot-Api-Secret-Token": "guess"}, 403),
    "missing": ({}, 403),
    "empty": ({"X-Telegram-Bot-Api-Secret-Token": ""}, 403),
    "other-case": ({"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET.upper()}, 403),
    "prefix": ({"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]}, 403),
    "right": ({"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, 200),
}


@pytest.mark.parametrize("case", sorted(TELEGRAM_CASES))
async def test_telegram_webhook_secret_is_checked(tmp_path: Path, case: str) -> None:
    fake = await FakeTelegramApi().start()
    bot = await TelegramBot(telegram_config(tmp_path / "t.db", fake)).start()
    try:
        headers, expected = TELEGRAM_CASES[case]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{bot.port}/telegram/webhook",
                json=message_update("https://x.com/u/status/3", chat=GROUP),
                headers=headers,
            ) as response,
        ):
            assert response.status == expected
        assert bot.count("inbox") == (1 if expected == 200 else 0)
    finally:
        await bot.close()
        await fake.stop()
