"""Casebook running with a `[teams]` section against the fake Microsoft endpoints, and a way to
post activities to its /api/messages signed as Bot Framework signs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.adapters.teams.config import TEAMS, TeamsConfig
from handlers.settings import (
    Config,
    SchoolConfig,
    SchoolPlaces,
    Secret,
    ServerConfig,
    StorageConfig,
)
from tests.fakes.teams_api import APP_ID, APP_PASSWORD, TENANT, FakeTeamsApi
from tests.running import RunningBot

STAFF_CHANNEL = "19:staff-room@thread.tacv2"
LEADS_CHANNEL = "19:leads-room@thread.tacv2"
OTHER_SCHOOL_CHANNEL = "19:southgate@thread.tacv2"
LEAD = "aad-lead-1"
TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456?is_from_webapp=1"


def teams_config(database: Path, fake: FakeTeamsApi, followup: str = "thread") -> Config:
    from handlers.settings import FollowUp

    return Config(
        schools=(
            SchoolConfig(
                name="Northfield",
                places={
                    TEAMS: SchoolPlaces(
                        report_places=(STAFF_CHANNEL,),
                        leads=(LEAD,),
                        digest_place=LEADS_CHANNEL,
                        follow_up=FollowUp(followup),
                    )
                },
            ),
            SchoolConfig(
                name="Southgate",
                places={TEAMS: SchoolPlaces(report_places=(OTHER_SCHOOL_CHANNEL,))},
            ),
        ),
        storage=StorageConfig(database=database),
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
            TEAMS: TeamsConfig(
                app_id=APP_ID,
                tenant_id=TENANT,
                app_password=Secret(APP_PASSWORD),
                openid_metadata=fake.openid_metadata,
                token_url=fake.token_url,
                service_urls=(fake.service_url,),
            )
        },
    )


class TeamsBot(RunningBot):
    fake: FakeTeamsApi

    async def post(
        self,
        activity: dict[str, Any],
        token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST an activity; `token` "" signs it for its serviceUrl, None sends no header."""
        assert self.session is not None
        activity.setdefault("serviceUrl", self.fake.service_url)
        if not activity["serviceUrl"]:
            activity["serviceUrl"] = self.fake.service_url
        sent = dict(headers or {})
        if token == "":
            token = self.fake.sign(activity["serviceUrl"])
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.session.post(
            f"http://127.0.0.1:{self.port}/api/messages", json=activity, headers=sent
        ) as response:
            return response.status, await response.text()


async def teams_bot(database: Path, fake: FakeTeamsApi, **kwargs: Any) -> TeamsBot:
    bot = TeamsBot(teams_config(database, fake, **kwargs))
    bot.fake = fake
    return await bot.start()
