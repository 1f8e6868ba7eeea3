"""The config file read into frozen dataclasses; secrets come from the environment."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.reader import Reader
from bot.config.schema import (
    CHAT_SECTIONS,
    GENERAL_TABLES,
    REMINDER_DURATIONS,
    REMINDER_KEYS,
    SCHOOL_KEYS,
)
from handlers.settings import (
    DEFAULT_DATABASE,
    WEEKDAYS,
    Config,
    ConfigError,
    DigestConfig,
    LogFormat,
    LoggingConfig,
    LogLevel,
    RemindersConfig,
    RetentionConfig,
    SchoolConfig,
    SchoolPlaces,
    ServerConfig,
    StorageConfig,
    TransportSettings,
)
from storage.models import Transport
from storage.store import DatabaseError, Target


def load_config(path: Path, env: Mapping[str, str]) -> Config:
    """Read and validate a config file; secrets come from `env`, never from the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the file ({error.strerror}).") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: the file is not UTF-8 text.") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}.") from error
    return _Parser(Reader(path, text, env)).config(data)


class _Parser:
    """Turns the TOML tree into dataclasses, naming the key and line of the first problem."""

    def __init__(self, reader: Reader) -> None:
        self.read = reader
        self.path = reader.path

    def config(self, data: dict[str, Any]) -> Config:
        tables = {section.table for section in CHAT_SECTIONS if section.table}
        self.read.no_unknown("", data, set(GENERAL_TABLES | tables))
        transports: dict[Transport, TransportSettings] = {
            section.transport: section.settings(self.read, self.read.table(data, section.table))
            for section in CHAT_SECTIONS
            if section.table and section.table in data
        }
        # With a chat platform, schools may all join from the chat (a hosted Casebook).
        raw_schools = data.get("schools", [] if transports else None)
        if not isinstance(raw_schools, list) or not (raw_schools or transports):
            raise self.read.error("schools", "at least one [[schools]] table is needed")
        schools = tuple(self._school(i, s) for i, s in enumerate(raw_schools, start=1))
        names = [s.name for s in schools]
        for name in names:
            if names.count(name) > 1:
                raise self.read.error("name", f"two schools are called {name!r}; names must differ")
        self._no_shared_places(schools)
        warnings = tuple(
            f"[[schools]] #{index} {table.get('name')!r} has no timezone; "
            f"using {SchoolConfig.timezone}"
            for index, table in enumerate(raw_schools, start=1)
            if "timezone" not in table
        )
        return Config(
            schools=schools,
            storage=self._storage(self.read.table(data, "storage")),
            server=self._server(self.read.table(data, "server")),
            transports=transports,
            reminders=self._reminders(self.read.table(data, "reminders")),
            digest=self._digest(self.read.table(data, "digest")),
            retention=self._retention(self.read.table(data, "retention")),
            logging=self._logging(self.read.table(data, "logging")),
            source=self.path,
            warnings=warnings,
        )

    def _no_shared_places(self, schools: tuple[SchoolConfig, ...]) -> None:
        """A report place must belong to one school, or a report there has no single owner."""
        owners: dict[tuple[str, str], str] = {}
        for school in schools:
            places = [
                (section.names.report_key, place)
                for section in CHAT_SECTIONS
                if section.names.report_key
                for place in school.on(section.transport).report_places
            ]
            for key, place in places:
                other = owners.setdefault((key, place), school.name)
                if other != school.name:
                    raise self.read.error(
                        key,
                        f"{key} {place} is listed for both {other!r} and {school.name!r}; "
                        "a report place belongs to one school",
                        mentioning=place,
                        nth=2,  # the first school to list it keeps it; the second is wrong
                    )

    def _storage(self, table: dict[str, Any]) -> StorageConfig:
        self.read.no_unknown("storage", table, {"database", "url"})
        database = self.read.text(table, "storage", "database", str(DEFAULT_DATABASE))
        if "url" in table:
            if "database" in table:
                raise self.read.error(
                    "url", "[storage] has both database and url; keep one of them"
                )
            url = self.read.text(table, "storage", "url", "")
            try:
                target = Target.parse(url)
            except DatabaseError as error:
                raise self.read.error("url", f"[storage] url: {error}") from error
            if target.url is not None:
                if urlsplit(url).password is not None:
                    raise self.read.error(
                        "url",
                        "[storage] url must not hold a password: set PGPASSWORD or use "
                        "~/.pgpass (or give the whole URL with --db)",
                    )
                return StorageConfig(url=url)
            assert target.path is not None
            database = str(target.path)
        path = Path(database)
        if not path.is_absolute():
            path = self.path.parent / path
        return StorageConfig(database=path)

    def _server(self, table: dict[str, Any]) -> ServerConfig:
        self.read.no_unknown("server", table, {"host", "port"})
        port = table.get("port", 8080)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise self.read.error("port", "[server] port must be a whole number from 0 to 65535")
        return ServerConfig(host=self.read.text(table, "server", "host", "127.0.0.1"), port=port)

    def _school(self, index: int, table: Any) -> SchoolConfig:
        where = f"[[schools]] #{index}"
        if not isinstance(table, dict):
            raise self.read.error("schools", f"{where} must be a table")
        keys = set(SCHOOL_KEYS).union(*(section.school_keys for section in CHAT_SECTIONS))
        self.read.no_unknown(where, table, keys)
        name = self.read.text(table, where, "name", "").strip()
        if not name:
            raise self.read.error("name", f"{where} needs a name")
        timezone = self.read.text(table, where, "timezone", "Europe/London")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise self.read.error(
                "timezone", f"{where} timezone {timezone!r} is unknown"
            ) from error
        places: dict[Transport, SchoolPlaces] = {
            section.transport: section.places(self.read, where, table) for section in CHAT_SECTIONS
        }
        return SchoolConfig(name=name, timezone=timezone, places=places)

    def _reminders(self, table: dict[str, Any]) -> RemindersConfig:
        self.read.no_unknown("reminders", table, set(REMINDER_KEYS))
        default = RemindersConfig()
        start, end = self._hours(table.get("working_hours", "08:00-17:00"))
        written = tuple(
            (key, str(table[key]).strip() if key in table else default.as_written(key))
            for key in REMINDER_DURATIONS
        )
        return RemindersConfig(
            unanswered=self._duration(table, "unanswered", default.unanswered),
            not_reported=self._duration(table, "not_reported", default.not_reported),
            still_up=self._duration(table, "still_up", default.still_up),
            escalate=self._duration(table, "escalate", default.escalate),
            working_start=start,
            working_end=end,
            working_days=self._days(table.get("working_days", "mon-fri")),
            written=written,
        )

    def _digest(self, table: dict[str, Any]) -> DigestConfig:
        self.read.no_unknown("digest", table, {"day", "time", "chart"})
        day = self.read.choice(table, "digest", "day", WEEKDAYS, "mon")
        raw_time = self.read.text(table, "digest", "time", "08:00")
        chart = table.get("chart", True)
        if not isinstance(chart, bool):
            raise self.read.error("chart", "[digest] chart must be true or false")
        return DigestConfig(
            day=WEEKDAYS.index(day), time=self.read.clock(raw_time, "time"), chart=chart
        )

    def _retention(self, table: dict[str, Any]) -> RetentionConfig:
        self.read.no_unknown("retention", table, {"closed_case_days"})
        days = table.get("closed_case_days", 365)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise self.read.error(
                "closed_case_days",
                "[retention] closed_case_days must be a whole number of days, 1 or more (like 365)",
            )
        return RetentionConfig(closed_case_days=days)

    def _logging(self, table: dict[str, Any]) -> LoggingConfig:
        self.read.no_unknown("logging", table, {"level", "format"})
        return LoggingConfig(
            level=self.read.mode(table, "logging", "level", LogLevel, LogLevel.WARNING),
            format=self.read.mode(table, "logging", "format", LogFormat, LogFormat.TEXT),
        )

    def _duration(self, table: dict[str, Any], key: str, default: timedelta) -> timedelta:
        if key not in table:
            return default
        raw = table[key]
        match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", raw) if isinstance(raw, str) else None
        if match is None or int(match.group(1)) == 0:
            raise self.read.error(key, f'[reminders] {key} must be like "30m", "2h" or "7d"')
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return timedelta(**{unit: int(match.group(1))})

    def _hours(self, raw: Any) -> tuple[time, time]:
        parts = raw.split("-") if isinstance(raw, str) else []
        if len(parts) != 2:
            raise self.read.error(
                "working_hours", '[reminders] working_hours must be like "08:00-17:00"'
            )
        start, end = (self.read.clock(p.strip(), "working_hours") for p in parts)
        if start >= end:
            raise self.read.error(
                "working_hours", "[reminders] working_hours must end after it starts"
            )
        return start, end

    def _days(self, raw: Any) -> frozenset[int]:
        if not isinstance(raw, str):
            raise self.read.error("working_days", '[reminders] working_days must be like "mon-fri"')
        days: set[int] = set()
        for part in raw.lower().replace(" ", "").split(","):
            ends = part.split("-")
            if not all(e in WEEKDAYS for e in ends) or len(ends) > 2:
                raise self.read.error(
                    "working_days", '[reminders] working_days must be like "mon-fri" or "mon,wed"'
                )
            first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
            days.update(
                range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
            )
        return frozenset(days)
