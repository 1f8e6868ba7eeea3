"""`casebook check-config --online`: ask each configured platform about every configured id.

A config file can be valid and still wrong: a channel id with a typo, a group the bot was never
added to. Nothing fails when that happens; staff post and nobody reads it. This asks Slack
(`auth.test`, then `conversations.info` per channel) and Telegram (`getMe`, then `getChat` and
`getChatMember` per chat) and says, for each id, found, not found, or bot not a member. Teams
is asked for a token and its signing keys (bot/adapters/teams/online.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from slack_sdk.errors import SlackApiError
from telegram import Bot
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.adapters.lookup import PlaceInfo, Presence, slack_channel, telegram_chat
from bot.adapters.slack import web_client
from bot.adapters.slack_config import SLACK, slack_settings
from bot.adapters.teams import online as teams_online
from bot.adapters.teams.config import TEAMS, teams_settings
from bot.adapters.telegram_config import TELEGRAM, telegram_settings
from handlers.settings import Config


@dataclass(frozen=True)
class Configured:
    """One id the config names, and where: which school and which key."""

    school: str
    key: str
    id: str


@dataclass(frozen=True)
class Finding:
    platform: str
    place: Configured
    info: PlaceInfo


async def run(config: Config, out: TextIO) -> int:
    """Print what each platform says; 0 when every id is found, 2 when any is missing."""
    findings: list[Finding] = []
    failed = False
    if SLACK in config.transports:
        failed |= not await _slack(config, findings, out)
    if TELEGRAM in config.transports:
        failed |= not await _telegram(config, findings, out)
    if TEAMS in config.transports:
        failed |= not await teams_online.check(teams_settings(config.transports[TEAMS]), out)
    if config.console:
        print("online: no chat platform section, so there is nothing to ask", file=out)
    for finding in findings:
        place = finding.place
        title = f" ({finding.info.title})" if finding.info.title else ""
        print(
            f"{finding.platform}: {place.school}: {place.key} {place.id}{title}: "
            f"{finding.info.presence}",
            file=out,
        )
    missing = [f for f in findings if f.info.presence is not Presence.FOUND]
    # Counted from the config, not from the answers: a platform that could not be asked has
    # given none, and "0 of 0" would read as if nothing were configured.
    configured = _configured_count(config)
    if missing or failed:
        unchecked = configured - len(findings)
        print(
            f"online: {len(missing)} of {configured} configured channels and chats missing"
            + (f", {unchecked} not checked" if unchecked else "")
            + ("; a platform could not be asked" if failed else ""),
            file=out,
        )
        return 2
    print(f"online: all {len(findings)} configured channels and chats found", file=out)
    return 0


async def _slack(config: Config, findings: list[Finding], out: TextIO) -> bool:
    settings = slack_settings(config.transports.get(SLACK))
    if settings.install:  # no one token: each workspace's is in the database
        print("slack: installed by OAuth into each workspace; nothing to sign in with", file=out)
        return True
    client = web_client(settings)
    try:
        me = await client.auth_test()
    except SlackApiError as error:
        print(f"slack: auth.test failed ({_slack_error(error)}): check SLACK_BOT_TOKEN", file=out)
        return False
    except (OSError, TimeoutError) as error:
        print(f"slack: cannot reach Slack ({type(error).__name__})", file=out)
        return False
    print(f"slack: signed in as {me.get('user')} (team {me.get('team_id')})", file=out)
    for place in _slack_places(config):
        try:
            info = await slack_channel(client, place.id)
        except SlackApiError as error:
            print(f"slack: conversations.info {place.id} failed ({_slack_error(error)})", file=out)
            return False
        findings.append(Finding("slack", place, info))
    return True


async def _telegram(config: Config, findings: list[Finding], out: TextIO) -> bool:
    telegram = telegram_settings(config.transports.get(TELEGRAM))
    kwargs: dict[str, Any] = {}
    if telegram.api_url:
        kwargs["base_url"] = telegram.api_url
    bot = Bot(telegram.bot_token.value, **kwargs)
    try:
        me = await bot.get_me()
        print(f"telegram: signed in as @{me.username}", file=out)
        for place in _telegram_places(config):
            info = await telegram_chat(bot, int(place.id), me.id)
            findings.append(Finding("telegram", place, info))
    except NetworkError as error:
        if isinstance(error, BadRequest):  # PTB counts a refused request as a network error
            print(f"telegram: {type(error).__name__}: check TELEGRAM_BOT_TOKEN", file=out)
        else:
            # No answer at all says nothing about the token; blaming it sends people astray.
            print(f"telegram: cannot reach Telegram ({type(error).__name__})", file=out)
        return False
    except TelegramError as error:
        # The token itself is never printed: PTB's messages do not contain it.
        print(f"telegram: {type(error).__name__}: check TELEGRAM_BOT_TOKEN", file=out)
        return False
    finally:
        await bot.shutdown()
    return True


def _configured_count(config: Config) -> int:
    """How many ids the platforms being asked about are configured with."""
    count = 0
    if SLACK in config.transports:
        count += sum(1 for _ in _slack_places(config))
    if TELEGRAM in config.transports:
        count += sum(1 for _ in _telegram_places(config))
    return count


def _slack_places(config: Config) -> Iterator[Configured]:
    for school in config.schools:
        places = school.on(SLACK)
        for channel in places.report_places:
            yield Configured(school.name, "slack_report_channels", channel)
        if places.digest_place:
            yield Configured(school.name, "slack_digest_channel", places.digest_place)


def _telegram_places(config: Config) -> Iterator[Configured]:
    for school in config.schools:
        places = school.on(TELEGRAM)
        for chat in places.report_places:
            yield Configured(school.name, "telegram_report_chats", chat)
        if places.digest_place is not None:
            yield Configured(school.name, "telegram_digest_chat", places.digest_place)


def _slack_error(error: SlackApiError) -> str:
    return str(error.response.get("error", "unknown")) if error.response is not None else "unknown"
