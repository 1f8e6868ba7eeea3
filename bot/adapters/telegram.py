"""The Telegram transport: python-telegram-bot's `Bot`, long polling or a webhook on our server.

The lifecycle is explicit and driven by the composition root (`start`, `stop`). PTB's own
Application and persistence are not used: conversation state lives in Casebook's database.
Polling commits each batch of updates to the inbox before asking for the next batch, which is
what moves Telegram's offset past them; the webhook commits before it answers 200.

Start-up never waits on Telegram: getMe, the command lists and the webhook are set up in the
background, retried with backoff while the Bot API cannot be reached, and /healthz says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import secrets
import warnings
from collections.abc import Callable
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import FloodLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot import web as web_paths
from bot.adapters import lookup, telegram_events, text_limits
from bot.adapters.send_limits import Limit, SendLimits
from bot.adapters.telegram_config import (
    TELEGRAM,
    TelegramConfig,
    TelegramMode,
    telegram_settings,
)
from bot.backoff import Backoff, describe
from bot.delivery import PermanentSendError, RateLimited, TemporarySendError
from bot.log_throttle import ThrottledLog
from bot.router import Router
from bot.tasks import Background
from bot.web import Handler
from handlers.commands import CommandInfo, offered
from handlers.events import Incoming, IncomingKind, Outgoing
from handlers.settings import Config
from handlers.text import whole_number

log = logging.getLogger(__name__)

SOURCE = "telegram"
# my_chat_member: the bot added to a group or removed from it (a hosted Casebook's groups).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
MESSAGE_LIMIT = 4096  # UTF-16 code units of the text after Telegram reads its HTML entities
# Telegram's documented limits (python-telegram-bot's AIORateLimiter uses the same figures).
OVERALL_LIMIT = Limit(FloodLimit.MESSAGES_PER_SECOND, 1.0)
GROUP_LIMIT = Limit(FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP, 60.0)
POLL_TIMEOUT = 25
POLL_RETRY = 2  # seconds to wait after a failed poll


class TelegramTransport:
    def __init__(self, config: Config, router: Router, wake: Callable[[], None]) -> None:
        self._config = config
        self._telegram: TelegramConfig = telegram_settings(config.transports.get(TELEGRAM))
        self._router = router
        self._wake = wake
        self._ignored = ThrottledLog(router.clock)  # chats of no school, logged now and then
        kwargs: dict[str, Any] = {}
        if self._telegram.api_url:
            kwargs["base_url"] = self._telegram.api_url
        self.bot = Bot(self._telegram.bot_token.value, **kwargs)
        self.transport = TELEGRAM
        self.sender = TelegramSender(self.bot)
        self.username = ""
        self._poller: asyncio.Task[None] | None = None
        self._background = Background()
        self.connected = False
        self.problem = "not connected yet"

    async def start(self) -> None:
        """Set up in the background (see the module's docstring); returns at once."""
        self._poller = asyncio.create_task(self._run())

    async def health(self) -> tuple[bool, str]:
        return self.connected, "" if self.connected else self.problem

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._set_up()
                break
            except Exception as error:
                delay = backoff.next()
                self.problem = f"start-up: {describe(error)}"
                log.warning(
                    "telegram: start-up failed (%s); retrying in %.0fs", describe(error), delay
                )
                await asyncio.sleep(delay)
        if self._telegram.mode is TelegramMode.WEBHOOK:
            self.problem = ""
            self.connected = True
        else:
            await self._poll()

    async def _set_up(self) -> None:
        """getMe, commands for private chats and groups, then the webhook (or none, to poll)."""
        await self.bot.initialize()
        me = await self.bot.get_me()
        self.username = me.username or ""
        if not me.can_read_all_group_messages:
            log.warning(
                "telegram: privacy mode is on, so the bot sees only commands and replies in "
                "groups; make it an admin or turn privacy mode off with @BotFather"
            )
        await self.bot.set_my_commands(
            _commands(offered(private=True)),
            scope=BotCommandScopeAllPrivateChats(),
        )
        await self.bot.set_my_commands(
            _commands(offered(private=False)),
            scope=BotCommandScopeAllGroupChats(),
        )
        if self._telegram.mode is TelegramMode.WEBHOOK:
            await self.bot.set_webhook(
                url=self._telegram.webhook_url or "",
                secret_token=self._telegram.webhook_secret.value,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await self.bot.delete_webhook()

    async def stop(self) -> None:
        self.connected = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await self._background.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(3):
                await self.bot.shutdown()

    @property
    def routes(self) -> dict[str, Handler]:
        return (
            {web_paths.TELEGRAM_WEBHOOK: self.handle_webhook}
            if self._telegram.mode is TelegramMode.WEBHOOK
            else {}
        )

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: the secret header must match, or nothing is stored."""
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        expected = self._telegram.webhook_secret.value
        # aiohttp keeps undecodable header bytes as surrogates: encode them back, never fail.
        if not expected or not secrets.compare_digest(
            given.encode("utf-8", "surrogateescape"), expected.encode()
        ):
            log.info("telegram webhook refused: wrong secret")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads((await request.read()).decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, TelegramError):
            log.info("telegram webhook refused: not a Telegram update")
            return web.Response(status=400, text="not a Telegram update")
        try:
            await self._store(update)
        except Exception as error:
            log.error("telegram update %s not stored: %s", update.update_id, type(error).__name__)
            return web.Response(status=503, text="not stored; send it again")
        return web.Response(text="ok")

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = Backoff(first=POLL_RETRY)
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=list(ALLOWED_UPDATES)
                )
            except RetryAfter as error:
                await asyncio.sleep(_flood_wait(error))
                continue
            except (NetworkError, TelegramError) as error:
                self.connected = False  # /healthz says so until a poll succeeds again
                self.problem = f"polling: {describe(error)}"
                delay = max(POLL_RETRY, backoff.next())
                log.warning(
                    "telegram polling failed: %s; retrying in %.0fs", describe(error), delay
                )
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.connected = True
            self.problem = ""
            for update in updates:
                try:
                    await self._store(update)
                except Exception as error:
                    # Not stored, so the offset stays: the next poll asks for it again.
                    delay = backoff.next()
                    log.error(
                        "telegram update %s not stored (%s); asking again in %.0fs",
                        update.update_id,
                        type(error).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    break
                offset = update.update_id + 1  # only after the update is in the inbox

    async def _store(self, update: Update) -> None:
        incoming = telegram_events.incoming(self._router.config, update, self.username)
        if update.callback_query is not None:
            self._background.start(self._answer_callback(update.callback_query.id))
        if incoming is None:
            unknown = telegram_events.unconfigured_chat(self._router.config, update)
            if unknown is not None and await self._router.schools_changed():
                # Claimed a moment ago, through another process: read it again.
                await self._store(update)
                return
            if unknown is not None:
                held = self._ignored.due(str(unknown[0]))
                if held is not None:
                    lookup.log_ignored(
                        log,
                        SOURCE,
                        str(unknown[0]),
                        unknown[1],
                        "telegram_report_chats",
                        held,
                        hosting=self._router.hosting,
                    )
                return
            log.info("telegram update %s ignored", update.update_id)
            return
        await self._commit(incoming)

    async def _commit(self, incoming: Incoming) -> None:
        if await self._router.receive(incoming, SOURCE, incoming.event_id or ""):
            if incoming.kind is IncomingKind.MOVED:
                # Handled before the next update is read: the supergroup's first messages
                # follow at once, and must find the place under its new id.
                await self._router.process_pending()
            self._wake()
        else:
            log.info("telegram %s already received; dropped", incoming.event_id)

    async def _answer_callback(self, query_id: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.answer_callback_query(query_id)


class TelegramSender:
    """Sends one outbox row with HTML parse mode, every piece of our text escaped for it.

    Flood control (429) is never waited out here: it raises `RateLimited`, and the delivery
    loop pauses every send to Telegram for at least `retry_after` (Telegram does not say
    whether a 429 is for one chat or the whole bot). A send that would break Telegram's
    documented limits is not made at all and raises `RateLimited` in the same way.
    """

    def __init__(self, bot: Bot, limits: SendLimits | None = None) -> None:
        self._bot = bot
        self._limits = limits or SendLimits(OVERALL_LIMIT, GROUP_LIMIT)

    async def send(self, outgoing: Outgoing) -> str | None:
        chat = _chat_of_call(outgoing)
        wait, everyone = self._limits.wait(_group(chat))
        if wait > 0:
            raise RateLimited(
                "telegram: its sending limits", wait, whole_platform=everyone, answered=False
            )
        try:
            return await self._send(outgoing)
        except RetryAfter as error:
            raise RateLimited("telegram flood control", _flood_wait(error)) from error
        except Forbidden as error:
            raise PermanentSendError("telegram: the bot may not write there") from error
        except BadRequest as error:
            raise PermanentSendError(f"telegram refused: {error.message[:80]}") from error
        except NetworkError as error:
            raise TemporarySendError("telegram network error") from error

    def _note(self, chat: int) -> None:
        self._limits.note(_group(chat))

    async def _send(self, outgoing: Outgoing) -> str | None:
        if outgoing.replace_ref:
            chat, _, message_id = outgoing.replace_ref.partition("|")
            self._note(int(chat))
            await self._bot.edit_message_text(
                chat_id=int(chat),
                message_id=int(message_id),
                text=html.escape(_chunks(outgoing.text or " ", MESSAGE_LIMIT)[0], quote=False),
                parse_mode="HTML",
            )
            return outgoing.replace_ref
        chat_id = _chat_of(outgoing)
        try:
            reference = await self._post(chat_id, outgoing, reply_to=None)
        except Forbidden:
            if outgoing.fallback is None:
                raise
            # The person never started a private chat with the bot: answer in the group.
            return await self._post(
                int(outgoing.fallback.id), outgoing, reply_to=outgoing.fallback_thread
            )
        attachment = outgoing.attachment
        if attachment is not None:
            upload = InputFile(attachment.data, filename=attachment.name)
            self._note(chat_id)
            if attachment.mime.startswith("image/"):
                await self._bot.send_photo(chat_id=chat_id, photo=upload)
            else:
                await self._bot.send_document(chat_id=chat_id, document=upload)
        return reference

    async def _post(self, chat_id: int, outgoing: Outgoing, reply_to: str | None) -> str:
        chunks = _chunks(outgoing.text or " ", MESSAGE_LIMIT)
        reference = ""
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            self._note(chat_id)
            message = await self._bot.send_message(
                chat_id=chat_id,
                text=html.escape(chunk, quote=False),
                parse_mode="HTML",
                reply_markup=_keyboard(outgoing) if last and outgoing.buttons else None,
                reply_parameters=ReplyParameters(reply_id, allow_sending_without_reply=True)
                if reply_to and (reply_id := whole_number(reply_to)) is not None
                else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            reference = f"{message.chat_id}|{message.message_id}"
        return reference


def _chat_of(outgoing: Outgoing) -> int:
    """Private replies and direct places go to the person's own chat (its id is their user id)."""
    if outgoing.private and outgoing.to_user is not None:
        return int(outgoing.to_user.id)
    return int(outgoing.place.id)


def _chat_of_call(outgoing: Outgoing) -> int:
    """The chat the message's first API call goes to: an edit's own chat, else `_chat_of`."""
    if outgoing.replace_ref:
        return int(outgoing.replace_ref.partition("|")[0])
    return _chat_of(outgoing)


def _group(chat: int) -> str | None:
    """The key of a group's own limit: groups and channels have negative ids, people positive."""
    return str(chat) if chat < 0 else None


def _keyboard(outgoing: Outgoing) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(b.label, callback_data=b.value) for b in outgoing.buttons]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _commands(commands: list[CommandInfo]) -> list[BotCommand]:
    return [BotCommand(info.command, info.about) for info in commands]


def _chunks(text: str, size: int) -> list[str]:
    return text_limits.split(text, size, measure=text_limits.utf16_length)


def _flood_wait(error: RetryAfter) -> float:
    """Seconds to wait, whether this PTB gives an int or a timedelta (without its warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    return float(value)
