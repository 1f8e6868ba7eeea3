"""A small fake of Microsoft's side of a Teams bot on loopback: the OpenID metadata and key set
that Bot Framework signs with, the token endpoint, and the Bot Connector.

Tokens into Casebook are signed here exactly as Bot Framework signs them (RS256, a `kid` from
the key set, issuer, audience, expiry and the `serviceurl` claim), with a key generated for the
test. The Connector records each call with the Authorization header it came with, so a test can
see where the bot's token went, and can be told to answer some calls 429 (with Retry-After),
5xx or 403.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.recording import WaitsForCalls
from tests.fakes.serving import bound_port, serve

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
APP_PASSWORD = "teams-client-secret"
TENANT = "11111111-2222-3333-4444-555555555555"
ISSUER = "https://api.botframework.com"
BOT_ID = f"28:{APP_ID}"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeTeamsApi(WaitsForCalls):
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "test-key-1"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Answers to give instead of success, in order, per call kind ("send", "reply", "update",
    # "create"): (status, Retry-After seconds or None).
    failures: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    url: str = ""
    keys_down: bool = False  # the key set answers 502, as when Microsoft cannot be reached
    # Conversations the bot was removed from: every send there is answered 403.
    removed_from: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    key_fetches: int = 0
    # The OpenID metadata to serve instead of one naming the key set, and entries to list in
    # the key set before the signing key.
    metadata: dict[str, Any] | None = None
    extra_keys: list[Any] = field(default_factory=list)
    # What the token endpoint says a token lasts, and answers it gives instead of a token, in
    # order: (status, JSON body).
    expires_in: Any = 3599
    token_answers: list[tuple[int, Any]] = field(default_factory=list)
    _issued: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    async def start(self) -> FakeTeamsApi:
        app = web.Application()
        app.router.add_get("/openid", self._openid)
        app.router.add_get("/keys", self._keys)
        app.router.add_post("/token", self._token)
        app.router.add_post("/teams/v3/conversations", self._create)
        app.router.add_post("/teams/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post(
            "/teams/v3/conversations/{conversation}/activities/{activity}", self._reply
        )
        app.router.add_put(
            "/teams/v3/conversations/{conversation}/activities/{activity}", self._update
        )
        self._runner = await serve(app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{bound_port(self._runner)}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def service_url(self) -> str:
        return f"{self.url}teams/"

    @property
    def openid_metadata(self) -> str:
        return f"{self.url}openid"

    @property
    def token_url(self) -> str:
        return f"{self.url}token"

    def sign(
        self,
        service_url: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A token as Bot Framework makes one; keyword arguments replace or add claims
        (`exp=...`, `aud=...`), and None drops one."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": APP_ID,
            "exp": now + 3600,
            "nbf": now - 10,
            "serviceurl": service_url or self.service_url,
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    def revoke_tokens(self) -> None:
        """The Connector stops taking every token issued so far (it answers 401), as when the
        app's password is changed or a token is revoked before it expires."""
        self._issued.clear()

    def of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def authorizations(self) -> list[str]:
        """Every Authorization header the Connector was sent, in order."""
        return [str(args.get("authorization", "")) for _, args in self.calls]

    async def wait_for_text(self, text: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_until(
            lambda: next((a for _, a in self.calls if a.get("text") == text), None), timeout
        )

    async def wait_for_line(self, line: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_until(
            lambda: next(
                (a for _, a in self.calls if line in str(a.get("text", "")).split("\n")), None
            ),
            timeout,
        )

    async def _openid(self, _request: web.Request) -> web.Response:
        if self.metadata is not None:
            return web.json_response(self.metadata)
        return web.json_response({"issuer": ISSUER, "jwks_uri": f"{self.url}keys"})

    async def _keys(self, _request: web.Request) -> web.Response:
        self.key_fetches += 1
        if self.keys_down:
            return web.Response(status=502, text="Bad Gateway")
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams"]})
        return web.json_response({"keys": [*self.extra_keys, jwk]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != APP_ID
            or form.get("client_secret") != APP_PASSWORD
            or form.get("scope") != "https://api.botframework.com/.default"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        if self.token_answers:
            status, body = self.token_answers.pop(0)
            return web.json_response(body, status=status)
        self.tokens_issued += 1
        token = f"bf-access-{uuid.uuid4().hex}"
        self._issued.add(token)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}
        )

    async def _create(self, request: web.Request) -> web.Response:
        return await self._connector(request, "create")

    async def _send(self, request: web.Request) -> web.Response:
        return await self._connector(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._connector(request, "reply")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._connector(request, "update")

    async def _connector(self, request: web.Request, kind: str) -> web.Response:
        body = await request.json()
        authorization = request.headers.get("Authorization", "")
        args = _described(body)
        args.update(
            {
                "authorization": authorization,
                "conversation": request.match_info.get("conversation", ""),
                "activity_id": request.match_info.get("activity", ""),
                "body": body,
            }
        )
        if authorization.removeprefix("Bearer ") not in self._issued:
            await self._record(f"{kind}!401", args)
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if args["conversation"].split(";")[0] in self.removed_from:
            await self._record(f"{kind}!403", args)
            return web.json_response({"error": {"code": "BotNotInConversationRoster"}}, status=403)
        pending = self.failures.get(kind) or []
        if pending:
            status, retry_after = pending.pop(0)
            await self._record(f"{kind}!{status}", args)
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return web.json_response(
                {"error": {"code": "Failure", "message": "no"}}, status=status, headers=headers
            )
        new_id = str(next(self._ids))
        args["id"] = new_id  # the id the activity was given, for a press on its card
        await self._record(kind, args)
        if kind == "create":
            member = (body.get("members") or [{}])[0].get("id", "")
            return web.json_response({"id": f"a:personal-{member}", "activityId": new_id})
        if kind == "update":
            return web.json_response({"id": request.match_info["activity"]})
        return web.json_response({"id": new_id})

    async def _record(self, kind: str, args: dict[str, Any]) -> None:
        self.calls.append((kind, args))
        await self.notify()


def _described(body: dict[str, Any]) -> dict[str, Any]:
    """An activity's text (a card's text block for a card) and its buttons' titles and data."""
    text = body.get("text")
    buttons: list[dict[str, Any]] = []
    for attachment in body.get("attachments") or []:
        if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
            continue
        content = attachment.get("content") or {}
        text = "\n".join(block.get("text", "") for block in content.get("body") or [])
        buttons.extend(
            {"title": action.get("title"), "data": action.get("data")}
            for action in content.get("actions") or []
        )
    return {"text": text, "buttons": buttons}


def activity(
    text: str | None,
    conversation: str,
    user: str = "aad-teacher-1",
    display_name: str = "Alex Teacher",
    kind: str = "channel",
    activity_id: str | None = None,
    service_url: str = "",
    tenant: str = TENANT,
    **extra: Any,
) -> dict[str, Any]:
    """A message activity as Teams posts it: in a channel (`conversation` is its id; a thread
    reply's has `;messageid=` appended), a group chat or a person's chat with the bot, in
    `tenant`."""
    channel = conversation.split(";")[0]
    body: dict[str, Any] = {
        "type": "message",
        "id": activity_id or str(int(time.time() * 1000) + next(_counter)),
        "timestamp": "2026-11-23T09:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "name": display_name, "aadObjectId": user},
        "conversation": {
            "id": conversation,
            "conversationType": kind,
            "tenantId": tenant,
            "isGroup": kind != "personal",
        },
        "recipient": {"id": BOT_ID, "name": "Casebook"},
        "text": text,
        "textFormat": "plain",
        "channelData": {"tenant": {"id": tenant}},
    }
    if kind == "channel":
        body["channelData"].update(
            {"channel": {"id": channel}, "team": {"id": "19:team@thread.tacv2"}}
        )
    body.update(extra)
    return body


_counter = itertools.count(1)
