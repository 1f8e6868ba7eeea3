"""The Teams app package: manifest.json and its two icons, zipped, for a team owner to upload.

The bot is offered in teams, group chats and personal chats, with the commands staff and leads
use. It asks for the resource-specific consent permissions `ChannelMessage.Read.Group` and
`ChatMessage.Read.Chat`: without them Teams sends a bot only the channel and group chat
messages that @mention it, and staff would have to mention Casebook in every report.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from urllib.parse import urlsplit

from matplotlib.figure import Figure

from bot.adapters.teams.config import TeamsConfig
from handlers import messages
from handlers.commands import COMMANDS, Command

SCHEMA_VERSION = "1.19"
SCHEMA = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/"
    f"v{SCHEMA_VERSION}/MicrosoftTeams.schema.json"
)
APP_VERSION = "1.0.0"
SCOPES = ("team", "groupChat", "personal")
# The commands Teams lists when someone types / or opens the bot's menu, in this order.
MENU = (Command.CASES, Command.MYCASES, Command.WITHDRAW, Command.WHOAMI, Command.HELP)
# Every message in a team's channels, and in a group chat, without an @mention.
RSC_PERMISSIONS = ("ChannelMessage.Read.Group", "ChatMessage.Read.Chat")
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
ACCENT = "#2C3E50"


def package(settings: TeamsConfig, url: str) -> bytes:
    """The zip file Teams takes: manifest.json at the top with the icons it names."""
    color, outline = icons()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest(settings, url), indent=2))
        archive.writestr(COLOR_ICON, color)
        archive.writestr(OUTLINE_ICON, outline)
    return buffer.getvalue()


def manifest(settings: TeamsConfig, url: str) -> dict[str, Any]:
    """manifest.json for the app whose bot is the Azure Bot `app_id`, served at `url`."""
    host = urlsplit(url).hostname or "casebook.example.org"
    about = {info.command: info.about for info in COMMANDS}
    commands = [
        {"title": f"/{command.value}", "description": about.get(command, "")[:128]}
        for command in MENU
    ]
    return {
        "$schema": SCHEMA,
        "manifestVersion": SCHEMA_VERSION,
        "version": APP_VERSION,
        "id": settings.app_id,
        "developer": {
            "name": "Casebook",
            "websiteUrl": f"https://{host}/",
            "privacyUrl": f"https://{host}/privacy",
            "termsOfUseUrl": f"https://{host}/terms",
        },
        "name": {"short": "Casebook", "full": "Casebook"},
        "description": {
            "short": messages.APP_DESCRIPTION[:80],
            "full": messages.APP_DESCRIPTION[:4000],
        },
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": settings.app_id,
                "scopes": list(SCOPES),
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": list(SCOPES), "commands": commands}],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
        "webApplicationInfo": {
            "id": settings.app_id,
            "resource": f"api://{host}/botid-{settings.app_id}",
        },
        "authorization": {
            "permissions": {
                "resourceSpecific": [
                    {"name": name, "type": "Application"} for name in RSC_PERMISSIONS
                ]
            }
        },
    }


def icons() -> tuple[bytes, bytes]:
    """The color icon (192x192, full colour) and the outline icon (32x32, white on
    transparent), drawn here so the package needs no image files."""
    return _draw(192, ACCENT, "white"), _draw(32, None, "white")


def _draw(size: int, background: str | None, ink: str) -> bytes:
    figure = Figure(figsize=(size / 100, size / 100), dpi=100)
    figure.patch.set_alpha(0.0 if background is None else 1.0)
    if background is not None:
        figure.patch.set_facecolor(background)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    # An open book's two pages: a case file.
    axes.fill([0.14, 0.48, 0.48, 0.14], [0.24, 0.18, 0.80, 0.84], color=ink)
    axes.fill([0.52, 0.86, 0.86, 0.52], [0.18, 0.24, 0.84, 0.80], color=ink)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100, transparent=background is None)
    return out.getvalue()
