"""Casebook's one HTTP server: Slack's Events API, Telegram's webhook and a health check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.metrics import Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SLACK_EVENTS = "/slack/events"
TELEGRAM_WEBHOOK = "/telegram/webhook"
HEALTH = "/healthz"
METRICS = "/metrics"  # for a scraper on the machine itself; deploy/nginx.conf does not pass it
MAX_BODY = 1024 * 1024  # no Slack or Telegram payload comes near this


def build(
    routes: dict[str, Handler],
    health: Callable[[], Awaitable[tuple[bool, dict[str, object]]]],
    metrics: Metrics,
    pages: Mapping[str, Handler] | None = None,
) -> web.Application:
    """An aiohttp application: a POST route per transport, GET /healthz and GET /metrics, and
    any GET `pages` (the /join page)."""
    app = web.Application(client_max_size=MAX_BODY)
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    for path, handler in (pages or {}).items():
        app.router.add_get(path, handler)

    async def healthz(_request: web.Request) -> web.Response:
        healthy, body = await health()
        return web.json_response(body, status=200 if healthy else 503)

    async def prometheus(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    app.router.add_get(HEALTH, healthz)
    app.router.add_get(METRICS, prometheus)
    return app
