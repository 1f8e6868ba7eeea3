"""GET /join: the page a school starts from. Plain HTML, one request, nothing fetched from
anywhere (no script, no style sheet, no image, no font), so it works behind any proxy, loads on
a slow phone and tells no third party who looked. The sentences are in handlers/messages.py."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from handlers import messages

JOIN = "/join"
SLACK_INSTALL = "/slack/install"
# Nothing may load from anywhere; the one inline style block is the page's own.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a;background:#fff}"
    "a.button{display:inline-block;padding:.6rem 1rem;border-radius:.3rem;background:#1d4ed8;"
    "color:#fff;text-decoration:none;font-weight:600}"
    "a.button:focus{outline:3px solid #f59e0b;outline-offset:2px}"
    "code{background:#f3f4f6;padding:0 .2rem}"
)


@dataclass(frozen=True)
class JoinPage:
    """What the page offers: the Add to Slack button when the Slack app is installable, the
    Telegram link when the bot's name is known, and how to get the Teams app; and, for a
    platform set up with nothing to offer here, what a school does there instead."""

    slack_install: bool = False
    telegram_bot: str = ""
    teams: bool = False  # Teams is set up: its app package comes from whoever runs Casebook
    slack: bool = False  # Slack is set up for its one workspace (no install)
    telegram: bool = False  # Telegram is set up (its bot's name may not be known yet)


def render(page: JoinPage) -> str:
    e = html.escape
    ways: list[str] = []
    if page.slack_install:
        label = e(messages.JOIN_PAGE_INSTALL_BUTTON)
        ways.append(f'<p><a class="button" href="{SLACK_INSTALL}">{label}</a></p>')
    elif page.slack:
        ways.append(f"<p>{e(messages.JOIN_PAGE_ONE_WORKSPACE)}</p>")
    if page.telegram and not page.telegram_bot:
        ways.append(f"<p>{e(messages.JOIN_PAGE_BOT_UNNAMED)}</p>")
    if page.telegram_bot:
        link = f"https://t.me/{e(page.telegram_bot)}"
        ways.append(
            f'<p><a class="button" href="{link}">{e(messages.JOIN_PAGE_BOT_LINK)}</a></p>'
            f"<p>{e(messages.JOIN_PAGE_BOT_LINK_CODE)} <code>{link}?start=CODE</code></p>"
        )
    if page.teams:
        ways.append(f"<p>{e(messages.JOIN_PAGE_APP_PACKAGE)}</p>")
    if not ways:
        ways.append(f"<p>{e(messages.JOIN_PAGE_NO_CHAT)}</p>")
    steps = "".join(f"<li>{e(step)}</li>" for step in messages.JOIN_PAGE_STEPS)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(messages.JOIN_PAGE_TITLE)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{e(messages.JOIN_PAGE_TITLE)}</h1>"
        f"<p>{e(messages.JOIN_PAGE_INTRO)}</p>{''.join(ways)}"
        f"<h2>{e(messages.JOIN_PAGE_STEPS_HEADING)}</h2><ol>{steps}</ol></main></body></html>"
    )


def handler(page: Callable[[], JoinPage]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route, reading what to offer at each request (the bot's name is learnt at start)."""

    async def join(_request: web.Request) -> web.Response:
        return web.Response(
            text=render(page()),
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff"},
        )

    return join
