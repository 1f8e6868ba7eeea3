"""A small fake of Slack's Web API (and Socket Mode) on loopback, for the real slack_sdk client.

It records every call, answers like Slack does for the methods Casebook uses, and can be told to
fail (429 with Retry-After, 5xx) or to be slow, so retry and timing behaviour is tested for real.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.faults import Faults
from tests.fakes.recording import WaitsForCalls
from tests.fakes.serving import bound_port, serve


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    authorization: str = ""  # the Authorization header: which workspace's token was used


@dataclass
class FakeSlackApi(WaitsForCalls):
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    # What conversations.info knows: channel id -> {"name": …, "is_member": …}; others are
    # channel_not_found, as for a private channel the bot is not in.
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_error: str | None = None  # e.g. "invalid_auth": auth.test fails with it
    # OAuth: the codes oauth.v2.access takes, each for a workspace (team id); with `rotating`,
    # tokens expire in 12 hours and come with a refresh token.
    oauth_codes: dict[str, str] = field(default_factory=dict)
    rotating: bool = False
    # A workspace throttled: every call made with this bearer token is answered 429 with this
    # Retry-After, as Slack limits each workspace on its own.
    throttled_tokens: dict[str, int] = field(default_factory=dict)
    url: str = ""
    connections: set[Any] = field(default_factory=set)  # the client's address of every call
    _runner: web.AppRunner | None = None
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _refreshed: set[str] = field(default_factory=set)  # refresh tokens spent: each works once

    async def start(self) -> FakeSlackApi:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and friends are GETs
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = await serve(app, "127.0.0.1", 0)
        port = bound_port(self._runner)
        self.faults.attach(self._runner, port)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self.faults.clear()
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    async def wait_for_text(self, method: str, text: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_for_call_text(method, text, timeout)

    async def wait_for_line(self, method: str, line: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_for_call_line(method, line, timeout)

    async def push_socket_event(self, envelope: dict[str, Any]) -> None:
        for ws in self._sockets:
            await ws.send_str(json.dumps(envelope))

    async def wait_for_socket(self, timeout: float = 5.0) -> None:
        async def connected() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._sockets))

        await asyncio.wait_for(connected(), timeout)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> None:
        async def acked() -> None:
            async with self._changed:
                await self._changed.wait_for(
                    lambda: any(a.get("envelope_id") == envelope_id for a in self.socket_acks)
                )

        await asyncio.wait_for(acked(), timeout)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.transport is not None:
            self.connections.add(request.transport.get_extra_info("peername"))
        if request.method == "GET":
            args = {}
        elif request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        args.update(request.query)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        faulty = await self.faults.answer(method, _rate_limited)
        if faulty is not None:
            await self._record(Call(f"{method}!{faulty.status}", args))
            return faulty
        if self.failures[method]:
            status = self.failures[method].pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            await self._record(Call(f"{method}!{status}", args))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=status, headers=headers
            )
        throttled = self.throttled_tokens.get(
            request.headers.get("Authorization", "").removeprefix("Bearer ")
        )
        if throttled is not None:
            await self._record(Call(f"{method}!429", args, request.headers["Authorization"]))
            return _rate_limited(throttled)
        refused = _over_limits(method, args)
        if refused is not None:
            await self._record(Call(f"{method}!{refused}", args))
            return web.json_response({"ok": False, "error": refused})
        authorization = request.headers.get("Authorization", "")
        await self._record(Call(method, args, authorization))
        return web.json_response(self._answer(method, args, authorization))

    def tokens_used(self, method: str) -> list[str]:
        """The bearer token of every successful call of `method`."""
        return [c.authorization.removeprefix("Bearer ") for c in self.calls if c.method == method]

    def _answer(self, method: str, args: dict[str, Any], authorization: str = "") -> dict[str, Any]:
        if method == "oauth.v2.access":
            return self._oauth(args)
        installed = re.fullmatch(r"Bearer xoxb-(T\w+)-token", authorization)
        if method == "auth.test" and installed:  # a token oauth.v2.access gave
            team = installed.group(1)
            return {"ok": True, "user_id": f"UBOT{team}", "bot_id": f"B{team}", "team_id": team}
        if method == "auth.test" and self.auth_error:
            return {"ok": False, "error": self.auth_error}
        if method == "conversations.info":
            channel = str(args.get("channel", ""))
            if channel not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": channel, **self.channels[channel]}}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "casebook",
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": f"{next(self._ts)}.000100"}
        if method == "chat.postEphemeral":
            if str(args.get("channel", "")).startswith("CNOTIN"):
                return {"ok": False, "error": "not_in_channel"}
            return {"ok": True, "message_ts": f"{next(self._ts)}.000200"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).lstrip("U")}}
        if method == "users.info":
            user = str(args.get("user", ""))
            profile = {"display_name": f"Ms {user[1:].title()}", "real_name": "Real Name"}
            return {"ok": True, "user": {"id": user, "name": "handle", "profile": profile}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.url}/upload/F1", "file_id": "F1"}
        if method == "files.completeUploadExternal":
            return {"ok": True, "files": [{"id": "F1", "title": "export"}]}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http", "ws") + "/socket"}
        return {"ok": True}

    def _oauth(self, args: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access: a code for a bot token in its workspace, or (grant_type
        refresh_token) a used refresh token for new ones."""
        rotation: dict[str, Any] = {}
        if args.get("grant_type") == "refresh_token":
            old = str(args.get("refresh_token", ""))
            if not old.startswith("xoxe-") or old in self._refreshed:
                return {"ok": False, "error": "invalid_refresh_token"}
            self._refreshed.add(old)
            n = next(self._ts)
            team = old.split("-")[1]
            return {
                "ok": True,
                "access_token": f"xoxe.xoxb-{team}-{n}",
                "refresh_token": f"xoxe-{team}-{n}",
                "expires_in": 43200,
                "token_type": "bot",
                "team": {"id": team},
            }
        team = self.oauth_codes.get(str(args.get("code", "")))
        if team is None:
            return {"ok": False, "error": "invalid_code"}
        if self.rotating:
            n = next(self._ts)
            rotation = {"refresh_token": f"xoxe-{team}-{n}", "expires_in": 43200}
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": f"UINSTALLER{team}"},
            "scope": "chat:write,commands",
            "token_type": "bot",
            "access_token": f"xoxb-{team}-token",
            "bot_user_id": f"UBOT{team}",
            "team": {"id": team, "name": f"Team {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
            **rotation,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        await self._record(Call("upload", {"bytes": body}))
        return web.Response(text="OK")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self._sockets.append(ws)
        async with self._changed:
            self._changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                async with self._changed:
                    self._changed.notify_all()
        return ws

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        await self.notify()


def _rate_limited(retry_after: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def _over_limits(method: str, args: dict[str, Any]) -> str | None:
    """Slack's refusals of a message too big: more than 50 blocks or a section over 3000
    characters (`invalid_blocks`), or text over 40 000 characters (`msg_too_long`)."""
    if method not in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
        return None
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    sections = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    if len(blocks) > 50 or any(len(text) > 3000 for text in sections):
        return "invalid_blocks"
    if len(str(args.get("text", ""))) > 40_000:
        return "msg_too_long"
    return None
