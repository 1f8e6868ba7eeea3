"""The Slack transport: slack-bolt's AsyncApp over HTTP (Events API) or Socket Mode.

Every listener does the same three quick things: translate the payload, commit it to the inbox,
wake the worker. Slack gets its acknowledgement after the commit and before any Web API call, so
a crash after the acknowledgement loses nothing and a slow Web API never delays it. Retries and
replays carry an event id the inbox has seen, and are acknowledged without doing anything.

Bolt is given a fixed `authorize` answered from memory: the bot's identity is learnt once, in the
background, with backoff. Otherwise bolt would call `auth.test` on a request, and while the Web
API failed it would answer Slack 200 with a "reinstall" text before our listener stored anything.
An event that cannot be stored is answered 500, so Slack sends it again. Installed into many
workspaces by OAuth (`[slack] install = true`, slack_oauth.py), there is no one identity:
`authorize` and the check of the bot's own messages read the workspace's installation, ids are
qualified by their workspace (slack_workspaces.py), and a workspace that has not installed
Casebook is answered 200 with nothing stored.

Every HTTP request's signature is checked over its raw bytes before anything parses it
(`slack_signature`). Message events, nearly every request in a burst of reports, then skip
bolt's dispatch (a context, a per-request client, `authorize`, every listener's matcher), which
cost as much again as storing the event: bolt's rule for the bot's own messages runs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot import web as web_paths
from bot.adapters import lookup, slack_events, slack_signature, slack_workspaces
from bot.adapters.slack_config import SLACK, SlackConfig, SlackMode, slack_settings
from bot.adapters.slack_oauth import SlackOAuth
from bot.adapters.slack_send import SlackSender
from bot.adapters.slack_workspaces import SlackIdentity
from bot.backoff import Backoff, describe
from bot.log_throttle import ThrottledLog
from bot.router import Router
from bot.tasks import Background
from bot.web import Handler
from handlers import messages, questions
from handlers.commands import Command, offered
from handlers.events import Incoming
from handlers.settings import Config

log = logging.getLogger(__name__)

SOURCE = "slack"
INVALID_REQUEST = {"error": "invalid request"}  # bolt's answer to a bad signature, with 401


# The answer to an event the inbox did not commit in time: Slack sends it again, and a load
# balancer takes this process out of turn for a while.
NOT_STORED = 503


class EventNotStored(Exception):
    """The inbox could not take an event: Slack must get an error, and will send it again."""


def web_client(slack: SlackConfig) -> AsyncWebClient:
    """The Web API client, retrying rate limits (after Retry-After), 5xx and dropped connections."""
    return AsyncWebClient(token=slack.bot_token.value, **client_settings(slack))


def client_settings(slack: SlackConfig) -> dict[str, Any]:
    """Where the Web API is and how calls to it are retried, for every client made. A 429 is
    not retried inside the call: sleeping out its Retry-After there would hold a message's
    claim (past its lease, for a long one); delivery pauses the workspace instead."""
    return {
        "retry_handlers": [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
        **_where(slack),
    }


class SlackTransport:
    def __init__(self, config: Config, router: Router, wake: Callable[[], None]) -> None:
        self._slack = slack_settings(config.transports.get(SLACK))
        self._router = router
        self._wake = wake
        self._ignored = ThrottledLog(router.clock)  # channels of no school, logged now and then
        self.client = web_client(self._slack)
        self.transport = SLACK
        # Installed by OAuth: each workspace's token from the database (slack_oauth.py).
        self.oauth = (
            SlackOAuth(
                self._slack,
                router.database,
                router.clock,
                self.client,
                client_settings(self._slack),
            )
            if self._slack.install
            else None
        )
        self.sender = SlackSender(
            self.client, self.oauth.workspaces if self.oauth is not None else None
        )
        if self.oauth is not None:
            _warn_of_bare_ids(config)
        self._background = Background()
        self._socket: AsyncSocketModeHandler | None = None
        self._named: set[str] = set()  # people whose display name was already asked for
        self.identity: SlackIdentity | None = None
        self.problem = "not connected yet"  # what /healthz says while something is wrong
        self._channel_names = lookup.SlackChannelNames(self.client)
        secret = self._slack.signing_secret.value
        http = self._slack.mode is SlackMode.HTTP
        self._verifier = SignatureVerifier(secret) if http and secret.strip() else None
        self.app = AsyncApp(
            # Bolt's per-request client gets its token from `authorize`; ours sends.
            client=_listener_client(self._slack),
            authorize=self._authorizer(),
            signing_secret=self._slack.signing_secret.value or None,
            request_verification_enabled=self._slack.mode is SlackMode.HTTP,
            process_before_response=True,  # listeners only commit to the inbox: ack after that
            raise_error_for_unhandled_request=False,
            logger=_bolt_logger(),
        )
        self.app.event("message")(self._on_message)
        # The `message` event of the same post makes the case; a mention only needs its 200.
        self.app.event("app_mention")(self._on_mention)
        self.app.action(re.compile(f"^{slack_events.ANSWER_ACTION_PREFIX}"))(self._on_button)
        for info in offered(private=False):
            self.app.command(f"/{info.command}")(self._on_command)
        self.app.view(slack_events.REPORT_VIEW)(self._on_report_form)
        self.app.error(self._on_error)

    @property
    def routes(self) -> dict[str, Handler]:
        return (
            {web_paths.SLACK_EVENTS: self.handle_http} if self._slack.mode is SlackMode.HTTP else {}
        )

    @property
    def pages(self) -> dict[str, Handler]:
        """GET paths: the OAuth install and Slack's redirect back, when installing is on."""
        return self.oauth.pages if self.oauth is not None else {}

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: events, interactivity and slash commands.

        Nothing parses the body before its signature is checked over the raw bytes (a forged
        or missing one is a 401, one log line); a signed body that cannot be read as bolt reads
        it (not JSON, nested too deeply) is a 400. A message event, nearly every request in a
        burst of reports, then goes the direct way (`_message_event`); everything else through
        bolt, whose listeners raise EventNotStored when the inbox could not take an event,
        which bolt answers with 500."""
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        problem = _unreadable(timestamp, body)
        if problem:
            log.info("slack request refused: %s", problem)
            return web.Response(status=400, text=problem)
        if self._verifier is not None:
            refused = slack_signature.refusal(self._verifier, body, request.headers, time.time())
            if refused:
                log.info("slack request refused (401): %s", refused)
                return web.json_response(INVALID_REQUEST, status=401)
        content_type = (request.headers.get("Content-Type") or "").split(";")[0] or None
        problem, parsed = slack_signature.parsed_body(body.decode("utf-8"), content_type)
        if problem:
            log.info("slack request refused: %s", problem)
            return web.Response(status=400, text=problem)
        assert parsed is not None
        identity = self.identity
        if self.oauth is not None and not slack_workspaces.of_no_workspace(parsed):
            team = slack_workspaces.team_of(parsed)
            if await self.oauth.uninstalled(parsed, team):
                return web.Response(status=200)
            identity = await self.oauth.identity(team)
            if identity is None:
                log.info(
                    "slack request from team %s, which has not installed Casebook: ignored",
                    team.team_id if team else "?",
                )
                return web.Response(status=200)
        if self._verifier is not None and _is_message_event(parsed):
            response = await self._message_event(parsed, identity)
        else:
            response = await to_aiohttp_response(
                await self.app.async_dispatch(await to_bolt_request(request))
            )
        if response.status >= 500:
            log.warning("slack request answered %s", response.status)
        return response

    async def _message_event(
        self, callback: dict[str, Any], identity: SlackIdentity | None
    ) -> web.Response:
        """A signed message event, answered as bolt answers it without bolt's dispatch, which
        cost as much again as storing the event: the bot's own messages acknowledged and
        dropped as bolt drops them, then the listener. A callback without an event object,
        which bolt failed on with a 500, is refused with a 400."""
        event = callback.get("event")
        if not isinstance(event, dict):
            log.info("slack request refused: an event callback without an event object")
            return web.Response(status=400, text="event callback without an event object")
        if not _from_self(event, identity):
            try:
                await self._on_message(callback)
            except EventNotStored:
                return web.Response(status=NOT_STORED)
        return web.Response(status=200)

    @property
    def _config(self) -> Config:
        """The schools as the router last loaded them: channels claimed from the chat too."""
        return self._router.config

    async def start(self) -> None:
        """Learn the bot's identity and, in Socket Mode, connect: both in the background,
        retried with backoff, so start-up never waits on Slack."""
        # One HTTP session for every Web API call: without it the SDK opens (and closes) a
        # connection per call, which in a burst costs more than the call itself.
        self.client.session = aiohttp.ClientSession()
        if self.oauth is not None:  # no token of its own: each workspace is checked as it sends
            self.oauth.workspaces.session = self.client.session
            self.problem = ""
            return
        if self._slack.mode is SlackMode.SOCKET:
            self._socket = AsyncSocketModeHandler(
                self.app,
                self._slack.app_token.value,
                logger=_socket_logger(),
                web_client=self.client,
            )
        self._background.start(self._connect())

    async def stop(self) -> None:
        await self._background.close()  # cancels a connection attempt in progress
        if self._socket is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self.client.session is not None:
            await self.client.session.close()

    async def health(self) -> tuple[bool, str]:
        """Whether Slack is reachable as far as this process knows, and if not, why."""
        if self.oauth is not None:
            return True, ""
        if self.identity is None:
            return False, self.problem
        if self._socket is not None and not await self._socket.client.is_connected():
            return False, self.problem or "socket mode not connected"
        return True, ""

    async def _connect(self) -> None:
        backoff = Backoff()
        while self.identity is None:
            try:
                response = await self.client.auth_test()
                self.identity = SlackIdentity(
                    str(response.get("user_id") or ""),
                    str(response.get("bot_id") or ""),
                    str(response.get("team_id") or ""),
                )
                self.problem = ""
            except Exception as error:
                await self._retry_later("auth.test", error, backoff)
        log.info("slack: connected as %s", self.identity.user_id or "?")
        if self._socket is None:
            return
        backoff.reset()
        client = self._socket.client
        while True:
            try:
                client.wss_uri = await client.issue_new_wss_url()
                await client.connect()  # type: ignore[no-untyped-call]
                self.problem = ""
                log.info("slack: socket mode connected")
                return
            except Exception as error:
                await self._retry_later("socket mode", error, backoff)

    async def _retry_later(self, step: str, error: Exception, backoff: Backoff) -> None:
        delay = backoff.next()
        self.problem = f"{step}: {describe(error)}"
        log.warning("slack: %s failed (%s); retrying in %.0fs", step, describe(error), delay)
        await asyncio.sleep(delay)

    def _authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt's `authorize`, answered from memory (bolt passes arguments by their names, so
        this is a plain function rather than a bound method)."""

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            if self.oauth is not None:
                found = await self.oauth.authorize(enterprise_id, team_id)
                return found or AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id)
            identity = self.identity
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=self._slack.bot_token.value,
                bot_user_id=identity.user_id if identity else None,
                bot_id=identity.bot_id if identity else None,
            )

        return authorize

    async def _on_message(self, body: dict[str, Any]) -> None:
        body = self._qualified(body)
        incoming = slack_events.message(self._config, body)
        if incoming is None:
            unknown = slack_events.unconfigured_channel(self._config, body.get("event") or {})
            if unknown is not None:  # named after the ack (Web API)
                held = self._ignored.due(unknown)
                if held is not None:
                    self._background.start(self._log_unconfigured(unknown, held))
                return
            log.info(
                "slack event %s ignored (not a report place or not a person)", body.get("event_id")
            )
            return
        await self._store(incoming)

    async def _on_mention(self) -> None:
        return None

    async def _on_error(self, error: Exception) -> BoltResponse | None:
        """An event the inbox could not take is answered NOT_STORED, as the direct path does;
        anything else keeps bolt's 500."""
        if isinstance(error, EventNotStored):
            return BoltResponse(status=NOT_STORED, body="")
        log.error("slack listener failed: %s", type(error).__name__)
        return None

    async def _on_button(self, ack: Callable[..., Any], body: dict[str, Any]) -> None:
        incoming = slack_events.button(self._config, self._qualified(body))
        if incoming is not None:
            await self._store(incoming)
        await ack()

    async def _on_command(self, ack: Callable[..., Any], body: dict[str, Any]) -> None:
        incoming = slack_events.command(self._config, self._qualified(body))
        if incoming is None:
            await ack()
            return
        if incoming.command == Command.REPORT and not incoming.text.strip():
            await ack()
            self._background.start(
                self._open_report_form(str(body.get("trigger_id", "")), incoming)
            )
            return
        await self._store(incoming)
        await ack()

    async def _on_report_form(self, ack: Callable[..., Any], body: dict[str, Any]) -> None:
        incoming = slack_events.report_form(self._config, self._qualified(body))
        if incoming is not None:
            await self._store(incoming)
        await ack()

    def _qualified(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with its ids qualified by its workspace when installed by OAuth (the
        request was refused before here if it named no installed workspace)."""
        if self.oauth is None:
            return body
        team = slack_workspaces.team_of(body)
        return body if team is None else slack_workspaces.qualified_body(body, team.team_id)

    async def _store(self, incoming: Incoming) -> None:
        event_id = incoming.event_id or ""
        try:
            added = await self._router.receive(incoming, SOURCE, event_id)
        except Exception as error:
            log.error("slack event %s not stored: %s", event_id, type(error).__name__)
            raise EventNotStored() from error
        if added:
            self._wake()
            if incoming.user.id not in self._named and not incoming.external:
                self._named.add(incoming.user.id)
                self._background.start(self._learn_name(incoming.user.id))
        else:
            log.info("slack event %s already received; acknowledged and dropped", event_id)

    async def _learn_name(self, user_id: str) -> None:
        """Leads read names, not ids, in timelines: ask Slack once per person, after the ack."""
        try:
            client, bare = await self._client_for(user_id)
            response = await client.users_info(user=bare)
        except Exception as error:
            log.info("users.info failed: %s", type(error).__name__)
            return
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("name") or ""
        if isinstance(name, str) and name.strip():
            try:
                await self._router.remember_name(f"{SOURCE}:{user_id}", name.strip()[:80])
            except Exception as error:  # the database is down: ask again at their next event
                self._named.discard(user_id)
                log.info("could not keep a display name: %s", type(error).__name__)

    async def _client_for(self, platform_id: str) -> tuple[AsyncWebClient, str]:
        """The client for the workspace an id belongs to, and Slack's own id."""
        if self.oauth is None:
            return self.client, platform_id
        team, bare = slack_workspaces.split(platform_id)
        client = await self.oauth.workspaces.client(team)
        if client is None:
            raise LookupError("workspace not installed")
        return client, bare

    async def _log_unconfigured(self, channel: str, held: int) -> None:
        # Installed into many workspaces, the one client that looks names up has no token.
        title = "" if self.oauth is not None else await self._channel_names.name(channel)
        lookup.log_ignored(
            log,
            SOURCE,
            channel,
            title,
            "slack_report_channels",
            held,
            hosting=self._router.hosting,
        )

    async def _open_report_form(self, trigger_id: str, incoming: Incoming) -> None:
        try:
            client, _ = await self._client_for(incoming.user.id)
            await client.views_open(trigger_id=trigger_id, view=report_view(incoming.place.id))
        except Exception as error:
            log.warning("could not open the report form: %s", type(error).__name__)


def report_view(channel: str) -> dict[str, Any]:
    """The /report modal: link and description, then the follow-up questions, all optional."""

    def element(asked: questions.Asked) -> dict[str, Any]:
        # Radio buttons for a handful of answers, a menu for more, a multi-select for several.
        kind = (
            "multi_static_select"
            if asked.several
            else "static_select"
            if len(asked.options) > 5
            else "radio_buttons"
        )
        options = [
            {"text": {"type": "plain_text", "text": option.label[:75]}, "value": option.value}
            for option in asked.options
        ]
        return {"type": kind, "options": options}

    def block(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": True,
            "label": {"type": "plain_text", "text": label[:2000]},
            "element": {"action_id": block_id, **element},
        }

    return {
        "type": "modal",
        "callback_id": slack_events.REPORT_VIEW,
        "private_metadata": channel,
        "title": {"type": "plain_text", "text": messages.REPORT_FORM_TITLE},
        "submit": {"type": "plain_text", "text": messages.REPORT_FORM_SUBMIT},
        "close": {"type": "plain_text", "text": messages.REPORT_FORM_CLOSE},
        "blocks": [
            block("link", messages.REPORT_FORM_LINK, {"type": "url_text_input"}),
            block(
                "description",
                messages.REPORT_FORM_DESCRIPTION,
                {"type": "plain_text_input", "multiline": True, "max_length": 3000},
            ),
            *(
                block(asked.question.value, asked.form_text or asked.text, element(asked))
                for asked in questions.FORM
            ),
        ],
    }


def _warn_of_bare_ids(config: Config) -> None:
    """Installed by OAuth, ids are read as "TEAM/ID": a `[[schools]]` Slack id written without
    its workspace would never match, so say so rather than drop its messages silently."""
    for school in config.schools:
        places = school.on(SLACK)
        ids = (*places.report_places, *places.leads, places.digest_place or "")
        for bare in (i for i in ids if i and slack_workspaces.SEPARATOR not in i):
            log.warning(
                "slack: %r of school %r is never matched with [slack] install = true: write it "
                "with its workspace, as TEAM/ID (T0123/%s)",
                bare,
                school.name,
                bare,
            )


def _listener_client(slack: SlackConfig) -> AsyncWebClient:
    return AsyncWebClient(**_where(slack))


def _where(slack: SlackConfig) -> dict[str, Any]:
    """The Web API's address, when the config points somewhere else (tests, a proxy)."""
    return {"base_url": slack.api_url.rstrip("/") + "/"} if slack.api_url else {}


def _unreadable(timestamp: str | None, body: bytes) -> str:
    """Why a request cannot be from Slack, seen without parsing it ("" when it may be: its
    signature is checked next). A missing timestamp is left to the signature check; an empty
    or unreadable one is refused here."""
    readable = timestamp is None or (
        timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
    )
    if not readable:
        return "bad X-Slack-Request-Timestamp"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    return ""


def _is_message_event(parsed: dict[str, Any]) -> bool:
    """An Events API callback carrying a `message` event (any subtype: bolt's
    `event("message")` takes them all), or no event object at all, which bolt fails on."""
    if parsed.get("type") != "event_callback":
        return False
    event = parsed.get("event")
    return not isinstance(event, dict) or event.get("type") == "message"


def _from_self(event: dict[str, Any], identity: SlackIdentity | None) -> bool:
    """Bolt's rule for the bot's own events: written by its user (for an edit or a deletion,
    the message's), or by its bot id. Until auth.test has answered, nothing is."""
    if identity is None:
        return False
    user = event.get("user")
    for inner in ("message", "previous_message"):
        if user is None and isinstance(event.get(inner), dict):
            user = event[inner].get("user")
    bot_id = event.get("bot_id")
    return (user is not None and user == identity.user_id) or (
        bot_id is not None and bot_id == identity.bot_id
    )


class _OneLine(logging.Filter):
    """The Socket Mode client logs a traceback for every failed attempt; one line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            error = record.exc_info[1]
            record.msg = f"socket mode: {type(error).__name__}" if error else "socket mode error"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _socket_logger() -> logging.Logger:
    logger = logging.getLogger("casebook.slack.socket")
    if not any(isinstance(f, _OneLine) for f in logger.filters):
        logger.addFilter(_OneLine())
    return logger


class _WithoutTokenNotice(logging.Filter):
    """Drops bolt's notice that SLACK_BOT_TOKEN (which bolt reads from the environment itself)
    goes unused because a client was given: our client is built with that very token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _WithoutTokenNotice) for f in logger.filters):
        logger.addFilter(_WithoutTokenNotice())
    return logger
