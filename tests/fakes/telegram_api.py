"""A small fake of the Telegram Bot API on loopback, for the real python-telegram-bot `Bot`.

Serves /bot{token}/{method}: records calls, answers like Telegram, queues updates for getUpdates,
and can be told to answer with flood control (429 with retry_after) or 403 for some chats. A
flood (`start_flood`) answers every send 429 for a while, as Telegram does a bot that sent too
much; `moments` says when each recorded call came, to check waits against retry_after.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.faults import Faults
from tests.fakes.recording import WaitsForCalls
from tests.fakes.serving import bound_port, serve

BOT_ID = 4242
SENDS = frozenset({"sendMessage", "editMessageText", "sendDocument", "sendPhoto"})
PHOTO_FILE_ID = "AgACAgQAAxkBAAIPHOTOFILEID"


@dataclass
class FakeTelegramApi(WaitsForCalls):
    token: str = "123456:TEST-token"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)
    polls: list[dict[str, Any]] = field(default_factory=list)  # getUpdates arguments, in order
    flood: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    blocked_chats: set[int] = field(default_factory=set)
    down: set[str] = field(default_factory=set)  # methods answering 502 Bad Gateway
    can_read_all_group_messages: bool = False
    faults: Faults = field(default_factory=Faults)
    # What getChat knows: chat id -> title; others are "chat not found". The bot's own member
    # status in each (getChatMember) is "member" unless `bot_status` says otherwise ("left").
    chats: dict[int, str] = field(default_factory=dict)
    bot_status: dict[int, str] = field(default_factory=dict)
    flood_until: float = 0.0  # time.monotonic() until which every send answers 429
    flood_retry_after: int = 1
    moments: list[float] = field(default_factory=list)  # time.monotonic() of each call in `calls`
    url: str = ""
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    async def start(self) -> FakeTelegramApi:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        self._runner = await serve(app, "127.0.0.1", 0)
        port = bound_port(self._runner)
        self.faults.attach(self._runner, port)
        self.url = f"http://127.0.0.1:{port}/bot"
        return self

    async def stop(self) -> None:
        await self.faults.clear()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_flood(self, seconds: float, retry_after: int) -> None:
        """Answer every send 429 with `retry_after` for the next `seconds`."""
        self.flood_until = time.monotonic() + seconds
        self.flood_retry_after = retry_after

    def early_calls(self, retry_after: float) -> list[tuple[int, float]]:
        """(chat, seconds) for every call to a chat sooner than `retry_after` after the last
        429 that chat was answered."""
        last_429: dict[int, float] = {}
        early: list[tuple[int, float]] = []
        for (method, args), moment in zip(self.calls, self.moments, strict=True):
            chat = args.get("chat_id")
            if not isinstance(chat, int):
                continue
            if chat in last_429 and moment - last_429[chat] < retry_after:
                early.append((chat, round(moment - last_429[chat], 3)))
            if method.endswith("!429"):
                last_429[chat] = moment
        return early

    def of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    async def wait_for_text(self, text: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_for_call_text("sendMessage", text, timeout)

    async def wait_for_line(self, line: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_for_call_line("sendMessage", line, timeout)

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        form = await request.post()
        args: dict[str, Any] = {}
        for key, value in form.items():
            if hasattr(value, "file"):
                args[key] = {"filename": value.filename, "content": value.file.read()}
            else:
                try:
                    args[key] = json.loads(value)
                except (TypeError, ValueError):
                    args[key] = value
        faulty = await self.faults.answer(method, _flood)
        if faulty is not None:
            await self._record(f"{method}!{faulty.status}", args)
            return faulty
        if method in self.down:
            await self._record(f"{method}!502", args)
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        flooded = method in SENDS and time.monotonic() < self.flood_until
        if self.flood[method] or flooded:
            seconds = self.flood[method].pop(0) if self.flood[method] else self.flood_retry_after
            await self._record(f"{method}!429", args)
            return _flood(seconds)
        chat = args.get("chat_id")
        if (
            method in ("sendMessage", "sendDocument")
            and isinstance(chat, int)
            and chat in self.blocked_chats
        ):
            await self._record(f"{method}!403", args)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot can't initiate conversation with a user",
                },
                status=403,
            )
        if method in ("getChat", "getChatMember") and int(args.get("chat_id", 0)) not in self.chats:
            await self._record(f"{method}!400", args)
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        if method in ("sendMessage", "editMessageText") and _too_long(str(args.get("text", ""))):
            await self._record(f"{method}!400", args)
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
                status=400,
            )
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(args)})
        await self._record(method, args)
        return web.json_response({"ok": True, "result": self._answer(method, args)})

    def _answer(self, method: str, args: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Casebook",
                "username": "casebook_test_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": self.can_read_all_group_messages,
                "supports_inline_queries": False,
            }
        if method == "getChat":
            chat_id = int(args["chat_id"])
            return {
                "id": chat_id,
                "type": "supergroup",
                "title": self.chats[chat_id],
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        if method == "getChatMember":
            status = self.bot_status.get(int(args["chat_id"]), "member")
            user = {"id": BOT_ID, "is_bot": True, "first_name": "Casebook"}
            return {"status": status, "user": user}
        if method in ("sendMessage", "editMessageText", "sendDocument"):
            chat_id = int(args.get("chat_id", 0))
            return {
                "message_id": int(args.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "text": args.get("text", ""),
            }
        return True

    async def _get_updates(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        offset = args.get("offset")
        self.offsets.append(offset)
        self.polls.append(args)
        if offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
        deadline = time.monotonic() + min(float(args.get("timeout", 0) or 0), 0.3)
        while not self.updates and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        async with self._changed:
            self._changed.notify_all()
        return list(self.updates)

    async def _record(self, method: str, args: dict[str, Any]) -> None:
        self.calls.append((method, args))
        self.moments.append(time.monotonic())
        await self.notify()


def _flood(retry_after: int) -> web.Response:
    return web.json_response(
        {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        },
        status=429,
    )


_update_ids = itertools.count(1000)


def message_update(
    text: str,
    *,
    user: int = 501,
    chat: int = -100111,
    username: str = "alex",
    entities: list[dict[str, Any]] | None = None,
    caption: bool = False,
    update_id: int | None = None,
    title: str = "Staff",
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_update_ids),
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup", "title": title},
        "from": {"id": user, "is_bot": False, "first_name": username.title(), "username": username},
    }
    if caption:
        message["caption"] = text
        message["photo"] = [
            {"file_id": PHOTO_FILE_ID, "file_unique_id": "UNIQUE-PHOTO", "width": 90, "height": 90}
        ]
        if entities:
            message["caption_entities"] = entities
    else:
        message["text"] = text
        if text.startswith("/"):
            command = text.split(" ", 1)[0]
            entities = [
                {"type": "bot_command", "offset": 0, "length": len(command)},
                *(entities or []),
            ]
        if entities:
            message["entities"] = entities
    return {"update_id": update_id or next(_update_ids), "message": message}


def callback_update(
    data: str, *, user: int = 501, chat: int = 501, message_id: int = 77
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"cb{next(_update_ids)}",
            "from": {"id": user, "is_bot": False, "first_name": "Alex", "username": "alex"},
            "chat_instance": "ci1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
                "text": "question",
            },
        },
    }


def _too_long(text: str) -> bool:
    """Telegram's limit: 4096 UTF-16 code units of the text once its HTML entities are read."""
    return len(html.unescape(text).encode("utf-16-le")) // 2 > 4096
