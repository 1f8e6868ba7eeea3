"""The terminal's part of the config: `console_leads` in a school, and the demo config.

The terminal has no table of its own: it runs when no chat transport is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.reader import Reader
from handlers.settings import (
    DEFAULT_DATABASE,
    Config,
    FollowUp,
    SchoolConfig,
    SchoolPlaces,
    StorageConfig,
    TransportNames,
    TransportSettings,
)
from storage.models import Transport

CONSOLE = Transport("console")
DEMO_SCHOOL = "Demo School"
DEMO_STAFF = "demo-staff"
DEMO_LEAD = "demo-lead"
LEADS_PLACE = "leads"  # the terminal prints what is for the leads under this heading


def console_places(leads: tuple[str, ...] = ()) -> SchoolPlaces:
    """A school on the terminal: one stream of lines, in which the leads have their own place."""
    return SchoolPlaces(leads=leads, digest_place=LEADS_PLACE, follow_up=FollowUp.STREAM)


def demo_config(database: Path = DEFAULT_DATABASE) -> Config:
    """What `casebook run` uses with no file: one demo school on the terminal."""
    return Config(
        schools=(SchoolConfig(name=DEMO_SCHOOL, places={CONSOLE: console_places((DEMO_LEAD,))}),),
        storage=StorageConfig(database=database),
        demo=True,
    )


class ConsoleSection:
    transport = CONSOLE
    table = None
    names = TransportNames("terminal", "console_leads")
    school_keys = frozenset({"console_leads"})

    def settings(self, reader: Reader, table: dict[str, Any]) -> TransportSettings:
        raise NotImplementedError("the terminal has no table of its own")

    def places(self, reader: Reader, where: str, table: dict[str, Any]) -> SchoolPlaces:
        return console_places(reader.texts(table, where, "console_leads"))

    def needs_server(self, settings: TransportSettings) -> bool:
        return False

    def describe(self, settings: TransportSettings) -> str:
        raise NotImplementedError("the terminal has no table of its own")

    def describe_school(self, places: SchoolPlaces) -> str | None:
        return f"terminal leads {list(places.leads)}" if places.leads else None


CONSOLE_SECTION = ConsoleSection()
