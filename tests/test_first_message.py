"""The first message in a report place: said once per place, the first time it is seen, and
remembered across restarts."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.telegram_config import TELEGRAM
from bot.config.schema import names_of
from handlers import messages
from storage.models import Platform
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi, message_update
from tests.slack_harness import REPORT_CHANNEL, SlackBot, slack_config
from tests.test_telegram import GROUP, TelegramBot, telegram_config

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"


async def test_a_slack_report_channel_gets_one_first_message_ever(
    tmp_path: Path, slack_fake: FakeSlackApi
) -> None:
    config = slack_config(tmp_path / "s.db", slack_fake)
    bot = await SlackBot(config, slack_fake, introduced=False).start()
    try:
        await bot.message(TIKTOK)
        welcome = await slack_fake.wait_for_text(
            "chat.postMessage", messages.first_message("Northfield")
        )
        assert welcome["channel"] == REPORT_CHANNEL and not welcome.get("thread_ts")
        await slack_fake.wait_for_line("chat.postMessage", messages.Q_TARGETS)
        await bot.message("https://x.com/someone/status/1")
        await slack_fake.wait_for_text("chat.postMessage", messages.case_logged(2, Platform.X))
    finally:
        await bot.close()
    # A restart remembers the channel: a third report brings no second welcome.
    bot = await SlackBot(config, slack_fake, introduced=False).start()
    try:
        # A new message has a new ts (the harness's count starts again with the new process).
        await bot.message(
            "https://x.com/someone/status/2", event_id="EvAFTERRESTART", ts="1700009999.000100"
        )
        await slack_fake.wait_for_text("chat.postMessage", messages.case_logged(3, Platform.X))
    finally:
        await bot.close()
    welcomes = [
        c
        for c in slack_fake.of("chat.postMessage")
        if c["text"] == _slack(messages.first_message("Northfield"))
    ]
    assert len(welcomes) == 1


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def test_a_telegram_report_group_gets_one_first_message(
    tmp_path: Path, telegram_fake: FakeTelegramApi
) -> None:
    config = telegram_config(tmp_path / "t.db", telegram_fake)
    bot = await TelegramBot(config, introduced=False).start()
    try:
        await bot.post(message_update(TIKTOK, chat=GROUP))
        welcome = await telegram_fake.wait_for_text(messages.first_message("Northfield"))
        assert welcome["chat_id"] == GROUP
        await bot.post(message_update("https://x.com/someone/status/1", chat=GROUP))
        await telegram_fake.wait_for_text(messages.case_logged(2, Platform.X))
        await bot.post(message_update("/whoami", chat=-100222))  # another school's group
        await telegram_fake.wait_for_text(messages.whoami(names_of(TELEGRAM), "501", "-100222"))
    finally:
        await bot.close()
    texts = [c["text"] for c in telegram_fake.of("sendMessage")]
    assert texts.count(messages.first_message("Northfield")) == 1
    assert messages.first_message("Southgate") not in texts  # /whoami is not a first visit


async def test_the_first_message_says_what_the_place_is_for_and_how_to_get_help() -> None:
    text = messages.first_message("Northfield")
    assert "Northfield" in text
    assert "Every message posted here becomes a report" in text
    assert "/help" in text


async def test_a_teams_report_channel_gets_one_first_message(tmp_path: Path) -> None:
    from bot.adapters.teams.config import TEAMS
    from tests.fakes.teams_api import FakeTeamsApi, activity
    from tests.teams_harness import STAFF_CHANNEL, TeamsBot, teams_config

    fake = await FakeTeamsApi().start()
    bot = TeamsBot(teams_config(tmp_path / "teams.db", fake), introduced=False)
    bot.fake = fake
    await bot.start()
    try:
        await bot.post(activity(TIKTOK, STAFF_CHANNEL))
        welcome = await fake.wait_for_text(messages.first_message("Northfield"))
        assert welcome["conversation"] == STAFF_CHANNEL and welcome["activity_id"] == ""
        await bot.post(activity("https://x.com/someone/status/1", STAFF_CHANNEL))
        await fake.wait_for_text(messages.case_logged(2, Platform.X))
        other = "19:southgate@thread.tacv2"  # another school's channel
        await bot.post(activity("/whoami", other))
        await fake.wait_for_text(messages.whoami(names_of(TEAMS), "aad-teacher-1", other))
    finally:
        await bot.close()
        await fake.stop()
    texts = [a["text"] for _, a in fake.calls]
    assert texts.count(messages.first_message("Northfield")) == 1
    assert messages.first_message("Southgate") not in texts  # /whoami is not a first visit
