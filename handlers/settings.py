"""The settings handlers read: frozen dataclasses that bot/config/ fills from the config file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from storage.models import Transport

DEFAULT_DATABASE = Path("casebook.db")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class Secret:
    """A value that must never be printed or logged."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret(***)" if self.value else "Secret(<unset>)"

    def __str__(self) -> str:
        return "***" if self.value else "<unset>"

    def __bool__(self) -> bool:
        return bool(self.value)


NO_SECRET = Secret("")


@dataclass(frozen=True)
class StorageConfig:
    database: Path = DEFAULT_DATABASE
    # A PostgreSQL URL: when set, it is the store and `database` is not used.
    url: str | None = None

    @property
    def target(self) -> str | Path:
        """What opens the store: the URL, or the SQLite file."""
        return self.url if self.url is not None else self.database


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080


class FollowUp(StrEnum):
    """Where a reporter's follow-up questions go, and where their answers are read."""

    DM = "dm"  # privately, wherever they reported
    THREAD = "thread"  # in the thread of their report
    STREAM = "stream"  # one stream of lines (the terminal): any line of theirs may answer


@dataclass(frozen=True)
class SchoolPlaces:
    """One school's places and leads on one transport.

    Ids are text as the transport writes them: the transport's config section normalises them,
    so no handler parses a platform's id format.
    """

    report_places: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    digest_place: str | None = None  # the leads' channel; without one, each lead directly
    follow_up: FollowUp = FollowUp.DM


NOWHERE = SchoolPlaces()


@dataclass(frozen=True)
class TransportNames:
    """How a transport and its `[[schools]]` keys are named to the person setting Casebook up."""

    label: str  # "Slack"
    leads_key: str = "the leads"  # "slack_leads"
    report_key: str | None = None  # "slack_report_channels"
    digest_key: str | None = None  # "slack_digest_channel"


class TransportSettings(Protocol):
    """A chat transport's own section of the file: read by its adapter, opaque to handlers."""

    def secrets(self) -> tuple[Secret, ...]:
        """The secrets it holds, so logging can scrub them."""
        ...


@dataclass(frozen=True)
class SchoolConfig:
    name: str
    timezone: str = "Europe/London"
    # Per transport, so a handler looks a school's places up by transport instead of knowing
    # which transports exist.
    places: Mapping[Transport, SchoolPlaces] = field(default_factory=dict, hash=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def on(self, transport: Transport) -> SchoolPlaces:
        """This school's places and leads on one transport (none when it has none there)."""
        return self.places.get(transport, NOWHERE)


@dataclass(frozen=True)
class RemindersConfig:
    unanswered: timedelta = timedelta(hours=2)
    not_reported: timedelta = timedelta(hours=24)
    still_up: timedelta = timedelta(hours=48)
    escalate: timedelta = timedelta(days=7)
    working_start: time = time(8, 0)
    working_end: time = time(17, 0)
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    # The durations as the file wrote them ("24h"), so check-config shows what the person typed.
    written: tuple[tuple[str, str], ...] = (
        ("unanswered", "2h"),
        ("not_reported", "24h"),
        ("still_up", "48h"),
        ("escalate", "7d"),
    )

    def as_written(self, key: str) -> str:
        return dict(self.written).get(key) or str(getattr(self, key))


@dataclass(frozen=True)
class DigestConfig:
    day: int = 0
    time: time = time(8, 0)
    chart: bool = True


@dataclass(frozen=True)
class RetentionConfig:
    closed_case_days: int = 365


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    TEXT = "text"  # one readable line per entry
    JSON = "json"  # one JSON object per line, for a log collector


@dataclass(frozen=True)
class LoggingConfig:
    level: LogLevel = LogLevel.WARNING
    format: LogFormat = LogFormat.TEXT

    @property
    def json(self) -> bool:
        return self.format is LogFormat.JSON


@dataclass(frozen=True)
class Config:
    schools: tuple[SchoolConfig, ...]
    storage: StorageConfig = StorageConfig()
    server: ServerConfig = ServerConfig()
    # The chat transports' own sections, by transport; the terminal runs when there are none.
    transports: Mapping[Transport, TransportSettings] = field(default_factory=dict, hash=False)
    reminders: RemindersConfig = RemindersConfig()
    digest: DigestConfig = DigestConfig()
    retention: RetentionConfig = RetentionConfig()
    logging: LoggingConfig = LoggingConfig()
    source: Path | None = None
    demo: bool = False  # the terminal's demo school, made when `casebook run` is given no file
    # Things that work but may not be what was meant; check-config shows them.
    warnings: tuple[str, ...] = ()

    def secrets(self) -> list[str]:
        """Every secret value in use, so logging can scrub them."""
        values = [
            secret.value
            for settings in self.transports.values()
            for secret in settings.secrets()
            if secret
        ]
        # A password may come with a URL given on the command line (never from the file).
        password = urlsplit(self.storage.url).password if self.storage.url else None
        return [*values, password] if password else values

    @property
    def console(self) -> bool:
        """The terminal transport runs when no chat platform is configured."""
        return not self.transports

    def school(self, name: str) -> SchoolConfig | None:
        for school in self.schools:
            if school.name == name:
                return school
        return None
