"""What the config file may hold: its general tables, and one section per chat transport.

A chat transport's section owns its `[table]` (tokens come from the environment, modes from the
file) and its keys in each `[[schools]]` entry, which it turns into that school's places on it.
Adding a transport adds its section to CHAT_SECTIONS; nothing else here changes.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.adapters.console_config import CONSOLE_SECTION
from bot.adapters.slack_config import SLACK_SECTION
from bot.adapters.teams.config import TEAMS_SECTION
from bot.adapters.telegram_config import TELEGRAM_SECTION
from bot.config.reader import Reader
from handlers.settings import SchoolPlaces, TransportNames, TransportSettings
from storage.models import Transport

# The tables every file may have besides the chat transports' own.
GENERAL_TABLES = frozenset(
    {"storage", "server", "schools", "reminders", "digest", "retention", "logging"}
)
SCHOOL_KEYS = frozenset({"name", "timezone"})  # the rest of a [[schools]] entry is per transport
REMINDER_DURATIONS = ("unanswered", "not_reported", "still_up", "escalate")
REMINDER_KEYS = frozenset({*REMINDER_DURATIONS, "working_hours", "working_days"})


class ChatSection(Protocol):
    """One chat transport's part of the config file, read and shown by its adapter's config."""

    @property
    def transport(self) -> Transport: ...

    @property
    def table(self) -> str | None:
        """Its own table (`slack` for `[slack]`); None when it has none (the terminal)."""

    @property
    def school_keys(self) -> frozenset[str]:
        """The keys it reads in a `[[schools]]` entry."""

    @property
    def names(self) -> TransportNames:
        """What it is called, and its `[[schools]]` keys, for people setting Casebook up."""

    def settings(self, reader: Reader, table: dict[str, Any]) -> TransportSettings:
        """Its table, read and checked (secrets from the environment)."""

    def places(self, reader: Reader, where: str, table: dict[str, Any]) -> SchoolPlaces:
        """A school's places and leads on this transport, ids normalised to text."""

    def needs_server(self, settings: TransportSettings) -> bool:
        """Whether it receives events over Casebook's HTTP server (webhooks)."""

    def describe(self, settings: TransportSettings) -> str:
        """One line for check-config, secrets redacted."""

    def describe_school(self, places: SchoolPlaces) -> str | None:
        """Its part of a school's line in check-config, if it shows one."""


# In the order their keys are checked and shown.
CHAT_SECTIONS: tuple[ChatSection, ...] = (
    SLACK_SECTION,
    TELEGRAM_SECTION,
    TEAMS_SECTION,
    CONSOLE_SECTION,
)


def names_of(transport: Transport) -> TransportNames:
    """How a transport is named to someone setting Casebook up."""
    for section in CHAT_SECTIONS:
        if section.transport == transport:
            return section.names
    return TransportNames(label=transport)
