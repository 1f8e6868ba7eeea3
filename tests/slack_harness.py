"""Runs the real Casebook (run_chat) in Slack HTTP mode against the fake Web API, and signs
requests exactly as Slack does: v0={hex HMAC-SHA256 of "v0:{timestamp}:{body}"}."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bot.adapters.slack_config import SLACK, SlackConfig, SlackMode
from handlers.settings import (
    Config,
    FollowUp,
    SchoolConfig,
    SchoolPlaces,
    Secret,
    ServerConfig,
    StorageConfig,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.running import RunningBot

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token-0123456789"
REPORT_CHANNEL = "CREPORT"
LEADS_CHANNEL = "CLEADS"
LEAD = "ULEAD"


def signature(body: str, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slack_config(
    database: Path, fake: FakeSlackApi, mode: str = "http", follow_up: FollowUp = FollowUp.DM
) -> Config:
    return Config(
        schools=(
            SchoolConfig(
                name="Northfield",
                places={
                    SLACK: SchoolPlaces(
                        report_places=(REPORT_CHANNEL,),
                        leads=(LEAD,),
                        digest_place=LEADS_CHANNEL,
                        follow_up=follow_up,
                    )
                },
            ),
            SchoolConfig(
                name="Southgate",
                places={SLACK: SchoolPlaces(report_places=("CSOUTH",), leads=("USOUTHLEAD",))},
            ),
        ),
        storage=StorageConfig(database=database),
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
            SLACK: SlackConfig(
                mode=SlackMode(mode),
                api_url=fake.url + "/api/",
                bot_token=Secret(TOKEN),
                signing_secret=Secret(SECRET),
                app_token=Secret("xapp-test"),
            )
        },
    )


class SlackBot(RunningBot):
    def __init__(
        self, config: Config, fake: FakeSlackApi, introduced: bool = True, **running: Any
    ) -> None:
        super().__init__(config, introduced, **running)
        self.fake = fake
        self._events = 0
        self.last_ts = ""
        # How often an event answered 503 (not stored in time) is sent again, as Slack does
        # (up to three times, saying so in X-Slack-Retry-Num). 0: the test sees the 503 itself.
        self.resends = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        assert self.session is not None
        headers = {
            "Content-Type": content_type,
            **signature(body, timestamp or int(time.time()), secret),
        }
        headers.update(extra or {})
        for retry in range(self.resends + 1):
            if retry:
                headers.update(
                    {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
                )
            async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
                status, text = response.status, await response.text()
            if status != 503:
                break
        return status, text

    async def event(
        self, event: dict[str, Any], event_id: str | None = None, **kwargs: Any
    ) -> tuple[int, str]:
        self._events += 1
        body = json.dumps(
            {
                "token": "unused",
                "team_id": "T1",
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{self._events:04d}",
                "event_time": int(time.time()),
                "event": event,
                "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            }
        )
        return await self.post(body, "application/json", **kwargs)

    async def body(self, body: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        """An event callback body as it is (from tests/payloads), signed and posted."""
        return await self.post(json.dumps(body), "application/json", **kwargs)

    async def message(
        self,
        text: str,
        user: str = "UALEX",
        channel: str = REPORT_CHANNEL,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> tuple[int, str]:
        """A plain message event as Slack sends it (a thread reply when `thread_ts` is given);
        `self.last_ts` is its ts, for replying to it or sending it again."""
        self._events += 1
        event = {
            "type": "message",
            "user": user,
            "text": text,
            "channel": channel,
            "channel_type": "im" if channel.startswith("D") else "channel",
            "ts": ts or f"{1700000000 + self._events}.000100",
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            event["parent_user_id"] = "UPARENT"
        self.last_ts = str(event["ts"])
        return await self.event(event, **kwargs)

    async def command(
        self, name: str, text: str = "", user: str = "UALEX", channel: str = REPORT_CHANNEL
    ) -> tuple[int, str]:
        self._events += 1
        body = urllib.parse.urlencode(
            {
                "command": f"/{name}",
                "text": text,
                "user_id": user,
                "user_name": user.lower(),
                "channel_id": channel,
                "team_id": "T1",
                "trigger_id": f"trigger.{self._events}",
                "response_url": "https://hooks.invalid/commands/1",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(
        self, value: str, user: str = "UALEX", channel: str = "DALEX", ts: str = "1.000100"
    ) -> tuple[int, str]:
        self._events += 1
        return await self.interaction(
            {
                "type": "block_actions",
                "team": {"id": "T1"},
                "user": {"id": user, "username": user.lower(), "team_id": "T1"},
                "api_app_id": "A1",
                "trigger_id": f"trigger.press.{self._events}",
                "container": {"type": "message", "message_ts": ts, "channel_id": channel},
                "channel": {"id": channel},
                "message": {"ts": ts, "text": "question"},
                "actions": [
                    {
                        "type": "button",
                        "action_id": "casebook_answer_0",
                        "block_id": "b1",
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )


def buttons_of(call: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = call.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e for b in blocks if b.get("type") == "actions" for e in b["elements"]]


async def metrics_text(bot: SlackBot) -> str:
    """What GET /metrics serves."""
    assert bot.session is not None
    async with bot.session.get(f"http://127.0.0.1:{bot.port}/metrics") as response:
        assert response.status == 200
        return await response.text()


async def metric_values(bot: SlackBot) -> dict[str, float]:
    """Each sample of GET /metrics by its name (labels included)."""
    return {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in (await metrics_text(bot)).splitlines()
        if line and not line.startswith("#")
    }
