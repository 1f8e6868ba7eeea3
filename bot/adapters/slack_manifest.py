"""The Slack app manifest: exactly the scopes, events, commands and interactivity Casebook uses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.adapters.slack_config import SlackMode
from bot.web import SLACK_EVENTS
from handlers import messages
from handlers.commands import offered

# What each scope is for: reading report channels and DMs, posting, opening DMs, sending exports.
BOT_SCOPES = (
    "channels:history",  # messages in public report channels
    "groups:history",  # messages in private report channels
    "im:history",  # direct messages to the bot
    "chat:write",  # questions, guidance, alerts, ephemeral replies
    "im:write",  # opening a direct chat for follow-up questions
    "commands",  # /report, /cases, /mycases, /withdraw, /help, /whoami
    "files:write",  # the CSV a lead asks for with /cases export
    "users:read",  # display names, so leads read names rather than ids in timelines
    "channels:read",  # check-config --online and the log line: a channel's name and membership
    "groups:read",  # the same for private channels
)
BOT_EVENTS = ("message.channels", "message.groups", "message.im")
# With `[slack] install = true`: a workspace that removes the app, or revokes its token, is
# forgotten (bot/adapters/slack_oauth.py).
INSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")
OAUTH_REDIRECT = "/slack/oauth_redirect"


def url_warnings(request_url: str) -> list[str]:
    """What is wrong with a request URL Slack would be told to post to: Slack refuses plain
    http, and Casebook answers only on its own path, so either makes every event fail later."""
    parts = urlsplit(request_url)
    warnings = []
    if parts.scheme != "https":
        warnings.append(messages.manifest_url_not_https(request_url))
    if not parts.path.endswith(SLACK_EVENTS):
        warnings.append(messages.manifest_url_wrong_path(request_url, SLACK_EVENTS))
    return warnings


def manifest(
    mode: SlackMode, request_url: str | None = None, install: bool = False
) -> dict[str, Any]:
    """Socket Mode needs no public URL; HTTP mode sends everything to one request URL. An app
    installed by OAuth also names its redirect URL and hears of its own removal."""
    http = mode is SlackMode.HTTP
    url = request_url or "https://casebook.example.org/slack/events"
    commands = []
    # A slash command works in channels and DMs alike, so private-only commands are left out.
    for info in offered(private=False):
        entry: dict[str, Any] = {
            "command": f"/{info.command}",
            "description": info.about,
            "should_escape": False,
        }
        if info.usage:
            entry["usage_hint"] = info.usage
        if http:
            entry["url"] = url
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS + (INSTALL_EVENTS if install else ()))}
    oauth: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if install:
        redirect = urlsplit(url)._replace(path=OAUTH_REDIRECT, query="", fragment="")
        oauth["redirect_urls"] = [redirect.geturl()]
    interactivity: dict[str, Any] = {"is_enabled": True}
    if http:
        events["request_url"] = url
        interactivity["request_url"] = url
    return {
        "display_information": {
            "name": "Casebook",
            "description": messages.APP_DESCRIPTION,
            "background_color": "#2c3e50",
        },
        "features": {
            "bot_user": {"display_name": "Casebook", "always_online": True},
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "slash_commands": commands,
        },
        "oauth_config": oauth,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": not http,
            "token_rotation_enabled": False,
        },
    }
