"""Neutral Outgoing values into Slack Web API calls, with Block Kit buttons and escaped text.

All our text is plain text, so `&`, `<` and `>` are escaped before Slack sees it: a report that
contains `<!channel>` or `<@U123>` is shown literally and never notifies anyone.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters import slack_workspaces, text_limits
from bot.adapters.slack_events import ANSWER_ACTION_PREFIX
from bot.adapters.slack_workspaces import WorkspaceClients
from bot.delivery import NowhereToSend, PermanentSendError, RateLimited, TemporarySendError
from handlers import messages
from handlers.events import Outgoing, PlaceKind

log = logging.getLogger(__name__)

# Slack's limits, counted on the escaped text it receives.
SECTION_LIMIT = 3000
MAX_BLOCKS = 50
TEXT_LIMIT = 40_000
RATE_LIMIT_WAIT = 1.0  # seconds, when a 429 comes without the Retry-After Slack always sends
# Answers that sending the same message again cannot change.
_REFUSED_FOR_GOOD = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "msg_too_long",
        "invalid_blocks",
        "no_text",
        "user_not_found",
        "cannot_dm_bot",
        "restricted_action",
    }
)
_EPHEMERAL_FALLBACK = frozenset({"channel_not_found", "not_in_channel", "user_not_in_channel"})


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(text: str) -> int:
    return len(escape(text))


def text(outgoing: Outgoing) -> str:
    """The message's `text` field: escaped, and cut to Slack's limit with how much is left out."""
    return escape(
        text_limits.fit(outgoing.text, TEXT_LIMIT, messages.more_text, measure=escaped_length)
    )


def blocks(outgoing: Outgoing) -> list[dict[str, Any]]:
    """Sections for the text (split to fit, at most 50 blocks in all, the last saying how much
    is left out), then one actions block with the buttons."""
    chunks = text_limits.split(outgoing.text or " ", SECTION_LIMIT, measure=escaped_length)
    room = MAX_BLOCKS - (1 if outgoing.buttons else 0)
    if len(chunks) > room:
        left_out = sum(len(chunk) for chunk in chunks[room - 1 :])
        chunks = [*chunks[: room - 1], messages.more_text(left_out).lstrip("\n")]
    rendered: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(chunk), "verbatim": True}}
        for chunk in chunks
    ]
    if outgoing.buttons:
        rendered.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{ANSWER_ACTION_PREFIX}{index}",
                        "text": {"type": "plain_text", "text": button.label[:75]},
                        "value": button.value,
                    }
                    for index, button in enumerate(outgoing.buttons[:25])
                ],
            }
        )
    return rendered


class SlackSender:
    """Sends one outbox row to Slack and returns "channel|ts" so it can be updated later.

    With `workspaces` (Casebook installed by OAuth), each message goes with the token of the
    workspace its ids name, and the reference it returns names that workspace too."""

    def __init__(self, client: AsyncWebClient, workspaces: WorkspaceClients | None = None) -> None:
        self._client = client
        self._workspaces = workspaces
        self._direct_channels: dict[str, str] = {}

    async def send(self, outgoing: Outgoing) -> str | None:
        client, team = self._client, ""
        if self._workspaces is not None:
            team_id, outgoing = slack_workspaces.unqualified(outgoing)
            found = await self._workspaces.client(team_id)
            if found is None:
                raise NowhereToSend("slack workspace not installed")
            client, team = found, team_id or ""
        try:
            ref = await self._send(outgoing, client, team)
        except SlackApiError as error:
            status = error.response.status_code if error.response is not None else 0
            code = _error_code(error)
            if status == 429 or status >= 500:
                headers = error.response.headers if error.response is not None else None
                retry = _seconds(headers.get("Retry-After") if headers else None)
                if status == 429:
                    # Slack's limits are per method and workspace: every send to the workspace
                    # waits, and other workspaces' sends go on.
                    wait = RATE_LIMIT_WAIT if retry is None else retry
                    raise RateLimited(f"slack {status}", wait, workspace=team) from error
                raise TemporarySendError(f"slack {status}", retry) from error
            if code in _REFUSED_FOR_GOOD:
                raise PermanentSendError(f"slack refused: {code}") from None
            raise TemporarySendError(f"slack error {code or 'unknown'}") from None
        return slack_workspaces.qualify(team, ref) if ref and team else ref

    async def _send(self, outgoing: Outgoing, client: AsyncWebClient, team: str) -> str | None:
        fitted = text(outgoing)
        if outgoing.replace_ref:
            channel, _, ts = outgoing.replace_ref.partition("|")
            await client.chat_update(channel=channel, ts=ts, text=fitted, blocks=blocks(outgoing))
            return outgoing.replace_ref
        if outgoing.attachment is not None:
            person = outgoing.to_user.id if outgoing.to_user else outgoing.place.id
            channel = await self._direct_channel(client, team, person)
            await client.files_upload_v2(
                channel=channel,
                file=outgoing.attachment.data,
                filename=outgoing.attachment.name,
                title=outgoing.attachment.name,
                initial_comment=fitted,
            )
            return None
        if outgoing.private and outgoing.to_user and outgoing.place.kind is not PlaceKind.DIRECT:
            try:
                await client.chat_postEphemeral(
                    channel=outgoing.place.id,
                    user=outgoing.to_user.id,
                    text=fitted,
                    blocks=blocks(outgoing),
                    thread_ts=outgoing.thread,
                )
                return None
            except SlackApiError as error:
                if _error_code(error) not in _EPHEMERAL_FALLBACK:
                    raise
            channel = await self._direct_channel(client, team, outgoing.to_user.id)
        elif outgoing.place.kind is PlaceKind.DIRECT:
            channel = await self._direct_channel(client, team, outgoing.place.id)
        else:
            channel = outgoing.place.id
        response = await client.chat_postMessage(
            channel=channel,
            text=fitted,
            blocks=blocks(outgoing),
            thread_ts=outgoing.thread if outgoing.place.kind is not PlaceKind.DIRECT else None,
            unfurl_links=False,
            unfurl_media=False,
        )
        return f"{response.get('channel', channel)}|{response.get('ts', '')}"

    async def _direct_channel(self, client: AsyncWebClient, team: str, user_id: str) -> str:
        """The bot's direct-message channel with a person (remembered; Slack gives the same one)."""
        key = slack_workspaces.qualify(team, user_id) if team else user_id
        if key not in self._direct_channels:
            response = await client.conversations_open(users=user_id)
            channel = (response.get("channel") or {}).get("id")
            if not isinstance(channel, str):
                raise TemporarySendError("slack conversations.open gave no channel")
            self._direct_channels[key] = channel
        return self._direct_channels[key]


def _error_code(error: SlackApiError) -> str:
    """Slack's error code, or "" when the answer had none (a proxy's HTML 502 page, say)."""
    data = error.response.data if error.response is not None else None
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
