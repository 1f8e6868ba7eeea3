"""The config file read into frozen dataclasses; secrets come from the environment."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from functools import partial
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
    ChatSection,
)
from handlers.settings import (
    DEFAULT_DATABASE,
    NOWHERE,
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


def load_config(path: Path, env: Mapping[str, str], *, secrets: bool = True) -> Config:
    """Read and validate a config file; secrets come from `env`, never from the file.

    With `secrets` False a secret missing from `env` is no error (it is left empty): for the
    commands that never use one, such as the manifest that creates the Slack app issuing them."""
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
    return _Parser(Reader(path, text, env, secrets=secrets)).config(data)


def school_problem(path: Path, name: str, message: str) -> ConfigError:
    """An error naming the line of the [[schools]] entry called `name`, for what is found
    wrong with it only after the file is read (the database holds a school of that name)."""
    reader = Reader(path, path.read_text(encoding="utf-8"), {})
    return reader.error("name", message, mentioning=reader.quoted(name))


@dataclass(frozen=True)
class _ReadSchool:
    """One [[schools]] entry as read: how errors name it, its places, and the school to run
    (None when it has no usable name)."""

    label: str  # "'Alder School'", or "[[schools]] #2" for an entry with no usable name
    places: dict[Transport, SchoolPlaces]
    school: SchoolConfig | None


class _Parser:
    """Turns the TOML tree into dataclasses, naming the key and line of the first problem."""

    def __init__(self, reader: Reader) -> None:
        self.read = reader
        self.path = reader.path

    def config(self, data: dict[str, Any]) -> Config:
        tables = {section.table for section in CHAT_SECTIONS if section.table}
        attempt = self.read.attempt
        self.read.no_unknown("", data, set(GENERAL_TABLES | tables))
        transports: dict[Transport, TransportSettings] = {}
        for section in CHAT_SECTIONS:
            if section.table and section.table in data:
                settings = attempt(partial(self._settings, section, data[section.table]), None)
                if settings is not None:
                    transports[section.transport] = settings
        # With a chat platform, schools may all join from the chat (a hosted Casebook).
        chat_tables = any(section.table in data for section in CHAT_SECTIONS if section.table)
        raw_schools = data.get("schools", [] if chat_tables else None)
        if not isinstance(raw_schools, list) or not (raw_schools or chat_tables):
            self.read.note(self.read.error("schools", "at least one [[schools]] table is needed"))
            raw_schools = []
        read_schools = [self._school(i, s) for i, s in enumerate(raw_schools, start=1)]
        schools = tuple(read.school for read in read_schools if read and read.school)
        names = [s.name for s in schools]
        folded = [name.casefold() for name in names]
        for nth, name in enumerate(names):
            if folded[nth] in folded[:nth]:
                first = names[folded.index(folded[nth])]
                self.read.note(
                    self.read.error(
                        "name",
                        f"two schools are called {name!r}; names must differ"
                        if first == name
                        else f"schools {first!r} and {name!r} differ only in letter case; "
                        "names must differ",
                        mentioning=self.read.quoted(name),
                        nth=names[:nth].count(name) + 1,
                    )
                )
        self._no_shared_places([read for read in read_schools if read is not None])
        config = Config(
            schools=schools,
            storage=attempt(
                lambda: self._storage(self.read.table(data, "storage")), StorageConfig()
            ),
            server=attempt(lambda: self._server(self.read.table(data, "server")), ServerConfig()),
            transports=transports,
            reminders=attempt(
                lambda: self._reminders(self.read.table(data, "reminders")), RemindersConfig()
            ),
            digest=attempt(lambda: self._digest(self.read.table(data, "digest")), DigestConfig()),
            retention=attempt(
                lambda: self._retention(self.read.table(data, "retention")), RetentionConfig()
            ),
            logging=attempt(
                lambda: self._logging(self.read.table(data, "logging")), LoggingConfig()
            ),
            source=self.path,
            warnings=self._warnings(raw_schools, schools),
        )
        self.read.check()
        return config

    def _settings(self, section: ChatSection, table: Any) -> TransportSettings:
        if not isinstance(table, dict):
            raise self.read.error(str(section.table), f"[{section.table}] must be a table")
        return section.settings(self.read, table)

    def _warnings(
        self, raw_schools: list[Any], schools: tuple[SchoolConfig, ...]
    ) -> tuple[str, ...]:
        """What will run but is probably not meant: a default timezone, and report places whose
        reports alert nobody or alert each lead separately."""
        warnings = [
            f"[[schools]] #{index} {table.get('name')!r} has no timezone; "
            f"using {SchoolConfig.timezone}"
            for index, table in enumerate(raw_schools, start=1)
            if isinstance(table, dict) and "timezone" not in table
        ]
        for school in schools:
            for section in CHAT_SECTIONS:
                places, names = school.on(section.transport), section.names
                if not places.report_places or names.report_key is None:
                    continue
                if not places.leads:
                    warnings.append(
                        f"{school.name!r} has {names.report_key} but no {names.leads_key}: "
                        f"nobody on {names.label} can manage its cases"
                    )
                if places.digest_place is None:
                    warnings.append(
                        f"{school.name!r} has {names.report_key} but no {names.digest_key}: "
                        "alerts and the digest go to each lead directly"
                        if places.leads
                        else f"{school.name!r} has {names.report_key} but no "
                        f"{names.digest_key}: its alerts and digest reach nobody"
                    )
        return tuple(warnings)

    def _no_shared_places(self, schools: list[_ReadSchool]) -> None:
        """A report place must belong to one school, or a report there has no single owner.
        Schools with problems of their own are checked too, so this is named among them."""
        owners: dict[tuple[str, str], str] = {}
        for school in schools:
            places = [
                (section.names.report_key, place)
                for section in CHAT_SECTIONS
                if section.names.report_key
                for place in school.places.get(section.transport, NOWHERE).report_places
            ]
            for key, place in places:
                other = owners.setdefault((key, place), school.label)
                if other != school.label:
                    self.read.note(
                        self.read.error(
                            key,
                            f"{key} {place} is listed for both {other} and {school.label}; "
                            "a report place belongs to one school",
                            mentioning=place,
                            nth=2,  # the first school to list it keeps it; the second is wrong
                        )
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
                        "~/.pgpass (or give the whole URL in the environment variable "
                        "CASEBOOK_DATABASE_URL; never on a command line, where ps shows it)",
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
        default = ServerConfig()
        port = table.get("port", default.port)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            self.read.note(
                self.read.error("port", "[server] port must be a whole number from 0 to 65535")
            )
            port = default.port
        host = self.read.attempt(
            lambda: self.read.text(table, "server", "host", default.host), default.host
        )
        return ServerConfig(host=host, port=port)

    def _school(self, index: int, table: Any) -> _ReadSchool | None:
        """What a school entry holds (its problems noted), or None when it is not a table."""
        where = f"[[schools]] #{index}"
        if not isinstance(table, dict):
            self.read.note(self.read.error("schools", f"{where} must be a table"))
            return None
        keys = set(SCHOOL_KEYS).union(*(section.school_keys for section in CHAT_SECTIONS))
        # A [schools.slack] table is a guess at where a school's Slack keys go.
        hints = {
            str(section.table): f"a school's {section.names.label} keys are written in the "
            f"[[schools]] entry itself, like {section.names.report_key}"
            for section in CHAT_SECTIONS
            if section.table and section.names.report_key
        }
        self.read.no_unknown(where, table, keys, hints)
        name = self.read.attempt(lambda: self.read.text(table, where, "name", "").strip(), None)
        if name == "":
            self.read.note(self.read.error("name", f"{where} needs a name", within=where))
        timezone = self.read.attempt(lambda: self._timezone(where, table), "Europe/London")
        # Only the platforms it has keys for (the terminal, which runs any school, needs none):
        # a platform it does not use has no places, and no defaults to show as if it had.
        places: dict[Transport, SchoolPlaces] = {}
        for section in CHAT_SECTIONS:
            if section.table is None or section.school_keys & set(table):
                places[section.transport] = self.read.attempt(
                    partial(section.places, self.read, where, table), SchoolPlaces()
                )
        if not name:
            return _ReadSchool(where, places, None)  # no usable name: no school to run
        return _ReadSchool(repr(name), places, SchoolConfig(name, timezone, places))

    def _timezone(self, where: str, table: dict[str, Any]) -> str:
        timezone = self.read.text(table, where, "timezone", "Europe/London")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise self.read.error(
                "timezone", f"{where} timezone {timezone!r} is unknown", within=where
            ) from error
        return timezone

    def _reminders(self, table: dict[str, Any]) -> RemindersConfig:
        self.read.no_unknown("reminders", table, set(REMINDER_KEYS))
        default = RemindersConfig()
        attempt = self.read.attempt
        durations = {
            key: attempt(
                partial(self._duration, table, key, getattr(default, key)), getattr(default, key)
            )
            for key in REMINDER_DURATIONS
        }
        start, end = attempt(
            lambda: self._hours(table.get("working_hours", "08:00-17:00")),
            (default.working_start, default.working_end),
        )
        days = attempt(
            lambda: self._days(table.get("working_days", "mon-fri")), default.working_days
        )
        written = tuple(
            (key, str(table[key]).strip() if key in table else default.as_written(key))
            for key in REMINDER_DURATIONS
        )
        return RemindersConfig(
            unanswered=durations["unanswered"],
            not_reported=durations["not_reported"],
            still_up=durations["still_up"],
            escalate=durations["escalate"],
            working_start=start,
            working_end=end,
            working_days=days,
            written=written,
        )

    def _digest(self, table: dict[str, Any]) -> DigestConfig:
        self.read.no_unknown("digest", table, {"day", "time", "chart"})
        default = DigestConfig()
        attempt = self.read.attempt
        day = attempt(
            lambda: self.read.choice(table, "digest", "day", WEEKDAYS, "mon"),
            WEEKDAYS[default.day],
        )
        at = attempt(
            lambda: self.read.clock(self.read.text(table, "digest", "time", "08:00"), "time"),
            default.time,
        )
        chart = table.get("chart", True)
        if not isinstance(chart, bool):
            self.read.note(self.read.error("chart", "[digest] chart must be true or false"))
            chart = default.chart
        return DigestConfig(day=WEEKDAYS.index(day), time=at, chart=chart)

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
        mode, attempt = self.read.mode, self.read.attempt
        return LoggingConfig(
            level=attempt(
                lambda: mode(table, "logging", "level", LogLevel, LogLevel.WARNING),
                LogLevel.WARNING,
            ),
            format=attempt(
                lambda: mode(table, "logging", "format", LogFormat, LogFormat.TEXT), LogFormat.TEXT
            ),
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
