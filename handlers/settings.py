"""The settings handlers read: frozen dataclasses that bot/config.py fills from the config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

DEFAULT_DATABASE = Path("casebook.db")
DEMO_SCHOOL = "Demo School"
DEMO_STAFF = "demo-staff"
DEMO_LEAD = "demo-lead"
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


@dataclass(frozen=True)
class SlackConfig:
    mode: str = "socket"
    api_url: str | None = None
    bot_token: Secret = Secret("")
    signing_secret: Secret = Secret("")
    app_token: Secret = Secret("")


@dataclass(frozen=True)
class TelegramConfig:
    mode: str = "polling"
    api_url: str | None = None
    webhook_url: str | None = None
    bot_token: Secret = Secret("")
    webhook_secret: Secret = Secret("")


@dataclass(frozen=True)
class SchoolConfig:
    name: str
    timezone: str = "Europe/London"
    slack_report_channels: tuple[str, ...] = ()
    slack_leads: tuple[str, ...] = ()
    slack_digest_channel: str | None = None
    slack_followup: str = "dm"
    telegram_report_chats: tuple[int, ...] = ()
    telegram_leads: tuple[int, ...] = ()
    telegram_digest_chat: int | None = None
    console_leads: tuple[str, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "warning"
    json: bool = False


@dataclass(frozen=True)
class Config:
    schools: tuple[SchoolConfig, ...]
    storage: StorageConfig = StorageConfig()
    server: ServerConfig = ServerConfig()
    slack: SlackConfig | None = None
    telegram: TelegramConfig | None = None
    reminders: RemindersConfig = RemindersConfig()
    digest: DigestConfig = DigestConfig()
    retention: RetentionConfig = RetentionConfig()
    logging: LoggingConfig = LoggingConfig()
    source: Path | None = None
    # Things that work but may not be what was meant; check-config shows them.
    warnings: tuple[str, ...] = ()

    def secrets(self) -> list[str]:
        """Every secret value in use, so logging can scrub them."""
        found = []
        if self.slack is not None:
            found += [self.slack.bot_token, self.slack.signing_secret, self.slack.app_token]
        if self.telegram is not None:
            found += [self.telegram.bot_token, self.telegram.webhook_secret]
        values = [secret.value for secret in found if secret]
        # A password may come with a URL given on the command line (never from the file).
        password = urlsplit(self.storage.url).password if self.storage.url else None
        return [*values, password] if password else values

    @property
    def console(self) -> bool:
        """The terminal transport runs when no chat platform is configured."""
        return self.slack is None and self.telegram is None

    def school(self, name: str) -> SchoolConfig | None:
        for school in self.schools:
            if school.name == name:
                return school
        return None


def demo_config(database: Path = DEFAULT_DATABASE) -> Config:
    """What `casebook run` uses with no file: one demo school on the terminal."""
    return Config(
        schools=(SchoolConfig(name=DEMO_SCHOOL, console_leads=(DEMO_LEAD,)),),
        storage=StorageConfig(database=database),
    )
