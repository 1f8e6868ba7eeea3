"""Servers the intake benchmark starts in their own processes.

`python benchmarks/servers.py slack-api PORT` — a fake Slack Web API that says ok to everything,
and notes when the first `chat.postMessage` into each thread arrived (`GET /stats` reads them:
`time.monotonic()` is one clock for every process on the machine).
`python benchmarks/servers.py floor PORT DB SECRET` — the floor: an aiohttp endpoint that checks
the Slack signature, reads the event id and commits one SQLite row before answering 200.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import sqlite3
import sys
import time
from collections import Counter
from urllib.parse import parse_qs

from aiohttp import web


def slack_api(port: int) -> None:
    counter = itertools.count(1)
    first_in_thread: dict[str, float] = {}
    calls = Counter[str]()

    async def api(request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        calls[method] += 1
        body = await request.read()
        if method == "chat.postMessage":
            thread = _field(request.content_type, body, "thread_ts")
            if thread and thread not in first_in_thread:
                first_in_thread[thread] = arrived
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
            )
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "DBENCH"}})
        return web.json_response({"ok": True, "channel": "C1", "ts": f"{next(counter)}.0001"})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"first": first_in_thread, "calls": calls})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/api/{method}", api)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _field(content_type: str, body: bytes, name: str) -> str | None:
    """One field of a Web API call, sent as JSON or as a form."""
    if content_type == "application/json":
        value = json.loads(body).get(name)
    else:
        value = (parse_qs(body.decode()).get(name) or [None])[0]
    return value if isinstance(value, str) else None


def floor(port: int, database: str, secret: str) -> None:
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, payload TEXT)")

    async def events(request: web.Request) -> web.Response:
        body = await request.text()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "0")
        expected = (
            "v0="
            + hmac.new(
                secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
            ).hexdigest()
        )
        given = request.headers.get("X-Slack-Signature", "")
        if abs(time.time() - int(timestamp)) > 300 or not hmac.compare_digest(expected, given):
            return web.Response(status=401)
        event_id = json.loads(body)["event_id"]
        db.execute("INSERT OR IGNORE INTO inbox VALUES (?, ?)", (event_id, body))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    if sys.argv[1] == "slack-api":
        slack_api(int(sys.argv[2]))
    else:
        floor(int(sys.argv[2]), sys.argv[3], sys.argv[4])
