"""Slack's part of the config: the `[slack]` table and the `slack_*` keys of each school."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.config.reader import Reader, text_places
from handlers.settings import (
    NO_SECRET,
    FollowUp,
    SchoolPlaces,
    Secret,
    TransportNames,
    TransportSettings,
)
from storage.models import Transport

SLACK = Transport("slack")
INSTALL = "[slack] install = true"
INSTALL_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET")
_FOLLOW_UPS = (FollowUp.DM, FollowUp.THREAD)  # what `slack_followup` may say, its default first


class SlackMode(StrEnum):
    SOCKET = "socket"  # Casebook connects out to Slack: no public address needed
    HTTP = "http"  # Slack posts events to Casebook's /slack/events


@dataclass(frozen=True)
class SlackConfig:
    mode: SlackMode = SlackMode.SOCKET
    api_url: str | None = None
    bot_token: Secret = NO_SECRET
    signing_secret: Secret = NO_SECRET
    app_token: Secret = NO_SECRET
    # Installed into many workspaces by OAuth (bot/adapters/slack_installs.py): each workspace's
    # token comes from the database, not SLACK_BOT_TOKEN.
    install: bool = False
    client_id: Secret = NO_SECRET
    client_secret: Secret = NO_SECRET

    def secrets(self) -> tuple[Secret, ...]:
        return (
            self.bot_token,
            self.signing_secret,
            self.app_token,
            self.client_id,
            self.client_secret,
        )


def slack_settings(settings: TransportSettings | None) -> SlackConfig:
    """The `[slack]` table of a config that has one."""
    if not isinstance(settings, SlackConfig):
        raise TypeError("no [slack] section")
    return settings


class SlackSection:
    transport = SLACK
    table = "slack"
    names = TransportNames("Slack", "slack_leads", "slack_report_channels", "slack_digest_channel")
    school_keys = frozenset(
        {"slack_report_channels", "slack_leads", "slack_digest_channel", "slack_followup"}
    )

    def settings(self, reader: Reader, table: dict[str, Any]) -> SlackConfig:
        reader.no_unknown("slack", table, {"mode", "api_url", "install"})
        install = table.get("install", False)
        if not isinstance(install, bool):
            raise reader.error("install", "[slack] install must be true or false")
        default = SlackMode.HTTP if install else SlackMode.SOCKET
        mode = reader.mode(table, "slack", "mode", SlackMode, default)
        config = SlackConfig(
            mode=mode,
            api_url=reader.optional_url(table, "slack", "api_url"),
            bot_token=reader.secret("SLACK_BOT_TOKEN"),
            signing_secret=reader.secret("SLACK_SIGNING_SECRET"),
            app_token=reader.secret("SLACK_APP_TOKEN"),
            install=install,
            client_id=reader.secret("SLACK_CLIENT_ID"),
            client_secret=reader.secret("SLACK_CLIENT_SECRET"),
        )
        if install:
            if mode is not SlackMode.HTTP:
                raise reader.error(
                    "mode",
                    '[slack] install = true needs mode = "http": Slack sends installs'
                    " and events to Casebook's web server",
                    within="slack",
                )
            for name in INSTALL_ENV:  # one line for each that is missing
                reader.attempt(functools.partial(reader.require_env, [name], INSTALL), None)
            return config
        needed = ["SLACK_BOT_TOKEN"] + (["SLACK_APP_TOKEN"] if mode is SlackMode.SOCKET else [])
        needed += ["SLACK_SIGNING_SECRET"] if mode is SlackMode.HTTP else []
        reader.require_env(needed, f"[slack] mode = {mode.value!r}")
        return config

    def places(self, reader: Reader, where: str, table: dict[str, Any]) -> SchoolPlaces:
        return text_places(reader, where, table, "slack", _FOLLOW_UPS)

    def needs_server(self, settings: TransportSettings) -> bool:
        return slack_settings(settings).mode is SlackMode.HTTP

    def describe(self, settings: TransportSettings) -> str:
        s = slack_settings(settings)
        return (
            f"slack: mode={s.mode.value} api_url={s.api_url or 'default'} "
            f"bot_token={s.bot_token} signing_secret={s.signing_secret} app_token={s.app_token}"
            + (
                f" install=on (/slack/install) client_id={s.client_id}"
                f" client_secret={s.client_secret}"
                if s.install
                else ""
            )
        )

    def describe_school(self, places: SchoolPlaces) -> str:
        digest = f", slack digest channel {places.digest_place}" if places.digest_place else ""
        return (
            f"slack channels {list(places.report_places)}, slack leads {list(places.leads)}"
            f"{digest}, slack followup {places.follow_up.value}"
        )


SLACK_SECTION = SlackSection()
