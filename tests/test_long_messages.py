"""Long messages reach people: cut to Slack's limits, split at Telegram's, and a `/cases show` of
a case with 130 reporters delivered to the lead on both."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from bot.adapters import slack_send, text_limits
from bot.adapters.slack_config import SLACK
from bot.app import sync_schools
from handlers import messages
from handlers.events import Button, Outgoing, Place, PlaceKind
from handlers.settings import Config
from storage.db import Database
from storage.models import NewCase, Platform
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import LEAD, SlackBot, slack_config
from tests.test_telegram import LEAD as TELEGRAM_LEAD
from tests.test_telegram import TelegramBot, telegram_config

REPORTERS = 130
PLACE = Place(SLACK, "C1", PlaceKind.CHANNEL)


def test_split_keeps_every_character_and_breaks_after_newlines() -> None:
    text = "".join(f"line {n}\n" for n in range(2000))
    pieces = text_limits.split(text, 100)
    assert "".join(pieces) == text
    assert all(len(p) <= 100 and p.endswith("\n") for p in pieces)


def test_telegram_counts_utf16_units() -> None:
    assert text_limits.utf16_length("a😡") == 3
    pieces = text_limits.split("😡" * 3000, 4096, text_limits.utf16_length)
    assert [text_limits.utf16_length(p) for p in pieces] == [4096, 1904]


def test_slack_blocks_and_text_are_cut_to_slacks_limits_saying_how_much_is_left() -> None:
    body = "Mr X said <this> & that. " * 20_000  # 500 000 characters, longer once escaped
    outgoing = Outgoing(place=PLACE, text=body, buttons=(Button("Still up", "v"),))
    rendered = slack_send.blocks(outgoing)
    sections = [b["text"]["text"] for b in rendered if b["type"] == "section"]
    assert len(rendered) == 50 and rendered[-1]["type"] == "actions"
    assert all(len(text) <= 3000 for text in sections)
    assert sections[-1].startswith("… ") and "more characters" in sections[-1]
    shown = slack_send.text(outgoing)
    assert len(shown) <= 40_000 and "more characters" in shown[-80:]
    kept, _, tail = shown.rpartition("\n… ")
    assert int(tail.split(" ")[0].replace(",", "")) == len(body) - len(html.unescape(kept))


def test_a_short_slack_message_is_unchanged() -> None:
    outgoing = Outgoing(place=PLACE, text="Case #1 <b>")
    assert slack_send.text(outgoing) == "Case #1 &lt;b&gt;"
    assert len(slack_send.blocks(outgoing)) == 1


async def _case_with_reporters(config: Config, transport: str, first_id: int) -> None:
    """One case reported by 130 people, each with a long description (emoji included)."""
    database = await Database.open(config.storage.database)
    try:
        await sync_schools(database, config)
        at = datetime(2026, 11, 23, 9, tzinfo=UTC)
        async with database.transaction() as unit:
            school = await unit.schools.by_name("Northfield")
            assert school is not None
            people = [
                await unit.people.ensure(f"{transport}:{first_id + n}", f"Reporter {n}")
                for n in range(REPORTERS)
            ]
            words = ("Mr X & the <class> 😡 " * 60)[:990]
            case = await unit.cases.create(
                NewCase(school.id, Platform.TIKTOK, transport, people[0].id, words, at)
            )
            for person in people[1:]:
                await unit.cases.add_reporter(case.id, person.id, words, at)
    finally:
        await database.close()


async def test_cases_show_with_130_reporters_reaches_the_lead_on_slack(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    config = slack_config(tmp_path / "slack.db", slack_fake)
    await _case_with_reporters(config, "slack", 1000)
    bot = await SlackBot(config, slack_fake).start()
    try:
        status, _ = await bot.command("cases", "show 1", user=LEAD)
        assert status == 200
        [shown] = await slack_fake.wait_for("chat.postEphemeral", timeout=10)
    finally:
        await bot.close()
    assert shown["text"].startswith("Case: #1 · Northfield")
    assert "Reporters: 130" in shown["text"] and "more characters" in shown["text"]
    assert not [c for c in slack_fake.calls if "!" in c.method]


async def test_cases_show_with_130_reporters_reaches_the_lead_on_telegram(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    config = telegram_config(tmp_path / "tg.db", telegram_fake)
    await _case_with_reporters(config, "telegram", 5000)
    bot = await TelegramBot(config).start()
    try:
        await bot.post(message_update("/cases show 1", chat=TELEGRAM_LEAD, user=TELEGRAM_LEAD))
        await telegram_fake.wait_until(
            lambda: next(
                (c for c in telegram_fake.of("sendMessage") if messages.TIMELINE in c["text"]),
                None,
            ),
            10,
        )
    finally:
        await bot.close()
    sent = [c["text"] for c in telegram_fake.of("sendMessage") if c["chat_id"] == TELEGRAM_LEAD]
    assert len(sent) > 1
    whole = "".join(sent)
    assert whole.count("Reporter ") == REPORTERS and "Reporters: 130" in whole
    assert not [name for name, _ in telegram_fake.calls if "!" in name]


async def test_cases_show_with_130_reporters_reaches_the_lead_on_teams(tmp_path: Path) -> None:
    from tests.fakes.teams_api import FakeTeamsApi, activity
    from tests.teams_harness import LEAD, TeamsBot, teams_config

    fake = await FakeTeamsApi().start()
    config = teams_config(tmp_path / "teams.db", fake)
    await _case_with_reporters(config, "teams", 9000)
    bot = TeamsBot(config)
    bot.fake = fake
    await bot.start()
    try:
        await bot.post(activity("/cases show 1", "a:lead-chat", kind="personal", user=LEAD))
        shown = await fake.wait_until(
            lambda: next((a for _, a in fake.calls if "Case: #1" in str(a["text"])), None),
            10,
        )
    finally:
        await bot.close()
        await fake.stop()
    assert shown["conversation"] == "a:lead-chat"
    assert shown["text"].startswith("Case: #1 · Northfield")
    assert "Reporters: 130" in shown["text"] and "more characters" in shown["text"]
    assert len(shown["text"]) <= 20_000
    assert not [kind for kind, _ in fake.calls if "!" in kind]
