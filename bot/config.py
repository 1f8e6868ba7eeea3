"""Configuration: a TOML file parsed into frozen dataclasses; secrets come from the environment.

Validation errors name the key and, where it can be found, the line in the file, because the person
reading them is a school's IT technician editing the file by hand.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.settings import (
    DEFAULT_DATABASE,
    WEEKDAYS,
    Config,
    ConfigError,
    DigestConfig,
    LoggingConfig,
    RemindersConfig,
    RetentionConfig,
    SchoolConfig,
    Secret,
    ServerConfig,
    SlackConfig,
    StorageConfig,
    TelegramConfig,
)
from storage.store import DatabaseError, Target, redact


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
    return _Parser(path, text, env).config(data)


class _Parser:
    """Turns the TOML tree into dataclasses, naming the key and line of the first problem."""

    def __init__(self, path: Path, text: str, env: Mapping[str, str]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.env = env

    def config(self, data: dict[str, Any]) -> Config:
        known = {"storage", "server", "slack", "telegram", "schools", "reminders", "digest"}
        self._no_unknown("", data, known | {"retention", "logging"})
        slack = self._slack(self._table(data, "slack")) if "slack" in data else None
        telegram = self._telegram(self._table(data, "telegram")) if "telegram" in data else None
        raw_schools = data.get("schools")
        if not isinstance(raw_schools, list) or not raw_schools:
            raise self._error("schools", "at least one [[schools]] table is needed")
        schools = tuple(self._school(i, s) for i, s in enumerate(raw_schools, start=1))
        names = [s.name for s in schools]
        for name in names:
            if names.count(name) > 1:
                raise self._error("name", f"two schools are called {name!r}; names must differ")
        self._no_shared_places(schools)
        warnings = tuple(
            f"[[schools]] #{index} {table.get('name')!r} has no timezone; "
            f"using {SchoolConfig.timezone}"
            for index, table in enumerate(raw_schools, start=1)
            if "timezone" not in table
        )
        return Config(
            schools=schools,
            storage=self._storage(self._table(data, "storage")),
            server=self._server(self._table(data, "server")),
            slack=slack,
            telegram=telegram,
            reminders=self._reminders(self._table(data, "reminders")),
            digest=self._digest(self._table(data, "digest")),
            retention=self._retention(self._table(data, "retention")),
            logging=self._logging(self._table(data, "logging")),
            source=self.path,
            warnings=warnings,
        )

    def _no_shared_places(self, schools: tuple[SchoolConfig, ...]) -> None:
        """A report place must belong to one school, or a report there has no single owner."""
        owners: dict[tuple[str, str], str] = {}
        for school in schools:
            places = [("slack_report_channels", c) for c in school.slack_report_channels]
            places += [("telegram_report_chats", str(c)) for c in school.telegram_report_chats]
            for key, place in places:
                other = owners.setdefault((key, place), school.name)
                if other != school.name:
                    raise self._error(
                        key,
                        f"{key} {place} is listed for both {other!r} and {school.name!r}; "
                        "a report place belongs to one school",
                    )

    def _storage(self, table: dict[str, Any]) -> StorageConfig:
        self._no_unknown("storage", table, {"database", "url"})
        database = self._str(table, "storage", "database", str(DEFAULT_DATABASE))
        if "url" in table:
            if "database" in table:
                raise self._error("url", "[storage] has both database and url; keep one of them")
            url = self._str(table, "storage", "url", "")
            try:
                target = Target.parse(url)
            except DatabaseError as error:
                raise self._error("url", f"[storage] url: {error}") from error
            if target.url is not None:
                if urlsplit(url).password is not None:
                    raise self._error(
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
        self._no_unknown("server", table, {"host", "port"})
        port = table.get("port", 8080)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise self._error("port", "[server] port must be a whole number from 0 to 65535")
        return ServerConfig(host=self._str(table, "server", "host", "127.0.0.1"), port=port)

    def _slack(self, table: dict[str, Any]) -> SlackConfig:
        self._no_unknown("slack", table, {"mode", "api_url"})
        mode = self._choice(table, "slack", "mode", ("socket", "http"), "socket")
        config = SlackConfig(
            mode=mode,
            api_url=self._optional_url(table, "slack", "api_url"),
            bot_token=self._secret("SLACK_BOT_TOKEN"),
            signing_secret=self._secret("SLACK_SIGNING_SECRET"),
            app_token=self._secret("SLACK_APP_TOKEN"),
        )
        needed = ["SLACK_BOT_TOKEN"] + (["SLACK_APP_TOKEN"] if mode == "socket" else [])
        needed += ["SLACK_SIGNING_SECRET"] if mode == "http" else []
        self._require_env(needed, f"[slack] mode = {mode!r}")
        return config

    def _telegram(self, table: dict[str, Any]) -> TelegramConfig:
        self._no_unknown("telegram", table, {"mode", "api_url", "webhook_url"})
        mode = self._choice(table, "telegram", "mode", ("polling", "webhook"), "polling")
        webhook_url = self._optional_url(table, "telegram", "webhook_url")
        if mode == "webhook" and webhook_url is None:
            raise self._error("webhook_url", "[telegram] mode = 'webhook' needs webhook_url")
        needed = ["TELEGRAM_BOT_TOKEN"] + (["TELEGRAM_WEBHOOK_SECRET"] if mode == "webhook" else [])
        self._require_env(needed, f"[telegram] mode = {mode!r}")
        return TelegramConfig(
            mode=mode,
            api_url=self._optional_url(table, "telegram", "api_url"),
            webhook_url=webhook_url,
            bot_token=self._secret("TELEGRAM_BOT_TOKEN"),
            webhook_secret=self._secret("TELEGRAM_WEBHOOK_SECRET"),
        )

    def _school(self, index: int, table: Any) -> SchoolConfig:
        where = f"[[schools]] #{index}"
        if not isinstance(table, dict):
            raise self._error("schools", f"{where} must be a table")
        keys = {
            "name",
            "timezone",
            "slack_report_channels",
            "slack_leads",
            "slack_digest_channel",
            "slack_followup",
            "telegram_report_chats",
            "telegram_leads",
            "telegram_digest_chat",
            "console_leads",
        }
        self._no_unknown(where, table, keys)
        name = self._str(table, where, "name", "").strip()
        if not name:
            raise self._error("name", f"{where} needs a name")
        timezone = self._str(table, where, "timezone", "Europe/London")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise self._error("timezone", f"{where} timezone {timezone!r} is unknown") from error
        digest_chat = table.get("telegram_digest_chat")
        if digest_chat is not None and (
            not isinstance(digest_chat, int) or isinstance(digest_chat, bool)
        ):
            raise self._error(
                "telegram_digest_chat", f"{where} telegram_digest_chat must be a number"
            )
        return SchoolConfig(
            name=name,
            timezone=timezone,
            slack_report_channels=self._strings(table, where, "slack_report_channels"),
            slack_leads=self._strings(table, where, "slack_leads"),
            slack_digest_channel=table.get("slack_digest_channel")
            and self._str(table, where, "slack_digest_channel", ""),
            slack_followup=self._choice(table, where, "slack_followup", ("dm", "thread"), "dm"),
            telegram_report_chats=self._ints(table, where, "telegram_report_chats"),
            telegram_leads=self._ints(table, where, "telegram_leads"),
            telegram_digest_chat=digest_chat,
            console_leads=self._strings(table, where, "console_leads"),
        )

    def _reminders(self, table: dict[str, Any]) -> RemindersConfig:
        keys = {
            "unanswered",
            "not_reported",
            "still_up",
            "escalate",
            "working_hours",
            "working_days",
        }
        self._no_unknown("reminders", table, keys)
        default = RemindersConfig()
        start, end = self._hours(table.get("working_hours", "08:00-17:00"))
        durations = ("unanswered", "not_reported", "still_up", "escalate")
        written = tuple(
            (key, str(table[key]).strip() if key in table else default.as_written(key))
            for key in durations
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
        self._no_unknown("digest", table, {"day", "time", "chart"})
        day = self._choice(table, "digest", "day", WEEKDAYS, "mon")
        raw_time = self._str(table, "digest", "time", "08:00")
        chart = table.get("chart", True)
        if not isinstance(chart, bool):
            raise self._error("chart", "[digest] chart must be true or false")
        return DigestConfig(
            day=WEEKDAYS.index(day), time=self._clock(raw_time, "time"), chart=chart
        )

    def _retention(self, table: dict[str, Any]) -> RetentionConfig:
        self._no_unknown("retention", table, {"closed_case_days"})
        days = table.get("closed_case_days", 365)
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise self._error(
                "closed_case_days",
                "[retention] closed_case_days must be a whole number of days, 1 or more (like 365)",
            )
        return RetentionConfig(closed_case_days=days)

    def _logging(self, table: dict[str, Any]) -> LoggingConfig:
        self._no_unknown("logging", table, {"level", "format"})
        level = self._choice(
            table, "logging", "level", ("debug", "info", "warning", "error"), "warning"
        )
        fmt = self._choice(table, "logging", "format", ("text", "json"), "text")
        return LoggingConfig(level=level, json=fmt == "json")

    # --- small readers ---------------------------------------------------------------------------

    def _table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self._error(key, f"[{key}] must be a table")
        return value

    def _str(self, table: dict[str, Any], where: str, key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self._error(key, f"{_section(where)}{key} must be text in quotes")
        return value

    def _choice(
        self, table: dict[str, Any], where: str, key: str, allowed: tuple[str, ...], default: str
    ) -> str:
        value = self._str(table, where, key, default).lower()
        if value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise self._error(key, f"{_section(where)}{key} must be one of {options}")
        return value

    def _strings(self, table: dict[str, Any], where: str, key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._error(key, f"{_section(where)}{key} must be a list of texts in quotes")
        return tuple(value)

    def _ints(self, table: dict[str, Any], where: str, key: str) -> tuple[int, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self._error(key, f"{_section(where)}{key} must be a list of numbers")
        return tuple(value)

    def _optional_url(self, table: dict[str, Any], where: str, key: str) -> str | None:
        if key not in table:
            return None
        value = self._str(table, where, key, "")
        if not re.match(r"^https?://[^\s/]+", value):
            raise self._error(key, f"[{where}] {key} must start with http:// or https://")
        return value

    def _duration(self, table: dict[str, Any], key: str, default: timedelta) -> timedelta:
        if key not in table:
            return default
        raw = table[key]
        match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", raw) if isinstance(raw, str) else None
        if match is None or int(match.group(1)) == 0:
            raise self._error(key, f'[reminders] {key} must be like "30m", "2h" or "7d"')
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return timedelta(**{unit: int(match.group(1))})

    def _hours(self, raw: Any) -> tuple[time, time]:
        parts = raw.split("-") if isinstance(raw, str) else []
        if len(parts) != 2:
            raise self._error(
                "working_hours", '[reminders] working_hours must be like "08:00-17:00"'
            )
        start, end = (self._clock(p.strip(), "working_hours") for p in parts)
        if start >= end:
            raise self._error("working_hours", "[reminders] working_hours must end after it starts")
        return start, end

    def _days(self, raw: Any) -> frozenset[int]:
        if not isinstance(raw, str):
            raise self._error("working_days", '[reminders] working_days must be like "mon-fri"')
        days: set[int] = set()
        for part in raw.lower().replace(" ", "").split(","):
            ends = part.split("-")
            if not all(e in WEEKDAYS for e in ends) or len(ends) > 2:
                raise self._error(
                    "working_days", '[reminders] working_days must be like "mon-fri" or "mon,wed"'
                )
            first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
            days.update(
                range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
            )
        return frozenset(days)

    def _clock(self, raw: str, key: str) -> time:
        try:
            return time.fromisoformat(raw)
        except ValueError as error:
            raise self._error(key, f"{key} {raw!r} is not a time like 08:00") from error

    def _secret(self, name: str) -> Secret:
        return Secret(self.env.get(name, ""))

    def _require_env(self, names: list[str], why: str) -> None:
        missing = [n for n in names if not self.env.get(n)]
        if missing:
            raise ConfigError(
                f"{self.path}: {why} needs the environment variable(s) {', '.join(missing)}; "
                "secrets are never read from the file."
            )

    def _no_unknown(self, where: str, table: dict[str, Any], known: set[str]) -> None:
        for key in table:
            if key not in known:
                hint = f" in {_section(where).strip()}" if where else ""
                raise self._error(key, f"unknown key {key!r}{hint}")

    def _error(self, key: str, message: str) -> ConfigError:
        line = self._line_of(key)
        where = f"{self.path}, line {line}" if line else str(self.path)
        return ConfigError(f"{where}: {message}.")

    def _line_of(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[\[?\s*{re.escape(key)}\s*\]?\])")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return number
        return None


def _section(where: str) -> str:
    if not where:
        return ""
    return f"{where} " if where.startswith("[") else f"[{where}] "


def describe(config: Config) -> str:
    """What `check-config` prints: every setting that will be used, with secrets redacted."""
    lines = [f"database: {redact(str(config.storage.target))}"]
    if config.console:
        lines.append("transport: terminal (no [slack] or [telegram] section)")
    if config.slack is not None:
        s = config.slack
        lines.append(
            f"slack: mode={s.mode} api_url={s.api_url or 'default'} bot_token={s.bot_token} "
            f"signing_secret={s.signing_secret} app_token={s.app_token}"
        )
    if config.telegram is not None:
        t = config.telegram
        lines.append(
            f"telegram: mode={t.mode} api_url={t.api_url or 'default'} "
            f"webhook_url={t.webhook_url or '-'} bot_token={t.bot_token} "
            f"webhook_secret={t.webhook_secret}"
        )
    if (config.slack is not None and config.slack.mode == "http") or (
        config.telegram is not None and config.telegram.mode == "webhook"
    ):
        lines.append(f"server: {config.server.host}:{config.server.port}")
    for school in config.schools:
        lines.append(
            f"school: {school.name} ({school.timezone}); slack channels "
            f"{list(school.slack_report_channels)}, slack leads {list(school.slack_leads)}, "
            f"telegram chats {list(school.telegram_report_chats)}, telegram leads "
            f"{list(school.telegram_leads)}"
        )
    r = config.reminders
    days = ",".join(WEEKDAYS[d] for d in sorted(r.working_days))
    lines.append(
        f"reminders: unanswered={r.as_written('unanswered')} "
        f"not_reported={r.as_written('not_reported')} still_up={r.as_written('still_up')} "
        f"escalate={r.as_written('escalate')} working hours "
        f"{r.working_start:%H:%M}-{r.working_end:%H:%M} on {days}"
    )
    lines.append(
        f"digest: {WEEKDAYS[config.digest.day]} {config.digest.time:%H:%M}, "
        f"chart={'on' if config.digest.chart else 'off'}"
    )
    lines.append(f"retention: closed cases kept {config.retention.closed_case_days} days")
    return "\n".join(lines)
