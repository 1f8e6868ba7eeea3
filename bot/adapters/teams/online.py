"""`check-config --online` for Teams: do the app id and password get a token, and can Bot
Framework's signing keys be fetched?

Channel ids cannot be looked up here: the Bot Connector is reached at a serviceUrl that only an
activity from Teams names, so a mistyped channel id shows up as the log line for a channel of no
school once someone writes there.
"""

from __future__ import annotations

from typing import TextIO

import aiohttp

from bot.adapters.teams.auth import KeysUnavailable, RequestChecker, TokenSource, TokenUnavailable
from bot.adapters.teams.config import TeamsConfig


async def check(settings: TeamsConfig, out: TextIO) -> bool:
    """Print what was found; False when the token or the keys could not be had."""
    async with aiohttp.ClientSession() as session:
        try:
            await TokenSource(settings, session).token()
        except TokenUnavailable as error:
            print(f"teams: {error}: check app_id, tenant_id and TEAMS_APP_PASSWORD", file=out)
            return False
        print(f"teams: app {settings.app_id} got a token for the Bot Connector", file=out)
        try:
            count = await RequestChecker(settings, session).key_count()
        except KeysUnavailable as error:
            print(f"teams: Bot Framework's signing keys: {error}", file=out)
            return False
        print(f"teams: {count} Bot Framework signing keys fetched", file=out)
    print(
        "teams: channel ids are not checked online (Teams names where the bot reaches them "
        "only when it sends an activity)",
        file=out,
    )
    return True
