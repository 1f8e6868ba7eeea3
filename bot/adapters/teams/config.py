"""Teams' part of the config: the `[teams]` table and each school's `teams_*` keys."""

from __future__ import annotations

from dataclasses import dataclass
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

TEAMS = Transport("teams")
OPENID_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"  # noqa: S105
SERVICE_URLS = ("https://smba.trafficmanager.net/",)
_FOLLOW_UPS = (FollowUp.THREAD, FollowUp.DM)  # what `teams_followup` may say, its default first


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str = ""
    tenant_id: str = ""
    app_password: Secret = NO_SECRET
    openid_metadata: str = OPENID_METADATA
    token_url: str = ""
    # The only places the bot's token is ever sent: a serviceUrl must begin with one of them.
    service_urls: tuple[str, ...] = SERVICE_URLS

    def secrets(self) -> tuple[Secret, ...]:
        return (self.app_password,)

    def allows(self, service_url: str) -> bool:
        return any(service_url.startswith(prefix) for prefix in self.service_urls)


def teams_settings(settings: TransportSettings | None) -> TeamsConfig:
    """The `[teams]` table of a config that has one."""
    if not isinstance(settings, TeamsConfig):
        raise TypeError("no [teams] section")
    return settings


class TeamsSection:
    transport = TEAMS
    table = "teams"
    names = TransportNames("Teams", "teams_leads", "teams_report_channels", "teams_digest_channel")
    school_keys = frozenset(
        {"teams_report_channels", "teams_leads", "teams_digest_channel", "teams_followup"}
    )

    def settings(self, reader: Reader, table: dict[str, Any]) -> TeamsConfig:
        reader.no_unknown(
            "teams",
            table,
            {"app_id", "tenant_id", "openid_metadata", "token_url", "service_urls"},
        )
        app_id = reader.text(table, "teams", "app_id", "")
        tenant_id = reader.text(table, "teams", "tenant_id", "")
        for key, value in (("app_id", app_id), ("tenant_id", tenant_id)):
            if not value.strip():
                raise reader.error(key, f"[teams] needs {key}")
        service_urls = reader.texts(table, "teams", "service_urls") or SERVICE_URLS
        for url in service_urls:
            if not url.startswith(("https://", "http://")) or not url.endswith("/"):
                raise reader.error(
                    "service_urls",
                    "[teams] service_urls must be addresses starting with https:// and ending "
                    "with /",
                )
        reader.require_env(["TEAMS_APP_PASSWORD"], "[teams]")
        return TeamsConfig(
            app_id=app_id.strip(),
            tenant_id=tenant_id.strip(),
            app_password=reader.secret("TEAMS_APP_PASSWORD"),
            openid_metadata=reader.optional_url(table, "teams", "openid_metadata")
            or OPENID_METADATA,
            token_url=reader.optional_url(table, "teams", "token_url")
            or TOKEN_URL.format(tenant=tenant_id.strip()),
            service_urls=service_urls,
        )

    def places(self, reader: Reader, where: str, table: dict[str, Any]) -> SchoolPlaces:
        # In a channel, a report's questions are asked in its thread unless told otherwise: a
        # chat with the bot needs the app installed for the person too.
        return text_places(reader, where, table, "teams", _FOLLOW_UPS)

    def needs_server(self, settings: TransportSettings) -> bool:
        return True  # Teams posts every activity to /api/messages

    def describe(self, settings: TransportSettings) -> str:
        t = teams_settings(settings)
        return (
            f"teams: app_id={t.app_id} tenant_id={t.tenant_id} app_password={t.app_password} "
            f"openid_metadata={t.openid_metadata} token_url={t.token_url} "
            f"service_urls={list(t.service_urls)}"
        )

    def describe_school(self, places: SchoolPlaces) -> str:
        digest = f", teams digest channel {places.digest_place}" if places.digest_place else ""
        return (
            f"teams channels {list(places.report_places)}, teams leads {list(places.leads)}"
            f"{digest}, teams followup {places.follow_up.value}"
        )


TEAMS_SECTION = TeamsSection()
