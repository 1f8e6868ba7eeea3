"""Typed values out of a TOML table, each problem named by its key and line in the file.

The person reading these errors is a school's IT technician editing the file by hand, so every
message says which key is wrong, why, and (where it can be found) on which line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from handlers.settings import ConfigError, FollowUp, SchoolPlaces, Secret

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class KeyProblem(ConfigError):
    """One problem with one key, and the line it is on, so problems can be shown in file order."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class Reader:
    """Reads one config file's values for the parser and the transports' config sections."""

    def __init__(
        self, path: Path, text: str, env: Mapping[str, str], *, secrets: bool = True
    ) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.env = env
        # Whether a missing secret is a problem: only for the commands that use the secrets
        # (running, check-config). A Slack app's manifest comes before its secrets exist.
        self.secrets_needed = secrets
        # Every problem found so far: a technician fixing the file by hand wants all of them
        # from one run, not one per run.
        self.problems: list[ConfigError] = []

    def attempt(self, read: Callable[[], T], fallback: T) -> T:
        """`read()`, or, when it finds a problem, the problem noted and `fallback` to go on with."""
        try:
            return read()
        except ConfigError as problem:
            self.problems.append(problem)
            return fallback

    def note(self, problem: ConfigError) -> None:
        """A problem that does not stop the rest of the file being read."""
        self.problems.append(problem)

    def check(self) -> None:
        """Raise every problem noted, in the order of their lines (those of no line last)."""
        if not self.problems:
            return
        ordered = sorted(
            self.problems,
            key=lambda p: (p.line is None, p.line or 0) if isinstance(p, KeyProblem) else (True, 0),
        )
        raise ConfigError("\n".join(str(problem) for problem in ordered))

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"[{key}] must be a table")
        return value

    def text(self, table: dict[str, Any], where: str, key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"{section(where)}{key} must be text in quotes", within=where)
        return value

    def choice(
        self, table: dict[str, Any], where: str, key: str, allowed: tuple[str, ...], default: str
    ) -> str:
        value = self.text(table, where, key, default).lower()
        if value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise self.error(key, f"{section(where)}{key} must be one of {options}", within=where)
        return value

    def mode(self, table: dict[str, Any], where: str, key: str, kind: type[E], default: E) -> E:
        """One of an enum's values, offered in the order the enum lists them."""
        return kind(self.choice(table, where, key, tuple(m.value for m in kind), default.value))

    def texts(self, table: dict[str, Any], where: str, key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(
                key, f"{section(where)}{key} must be a list of texts in quotes", within=where
            )
        return tuple(value)

    def numbers(self, table: dict[str, Any], where: str, key: str) -> tuple[int, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.error(key, f"{section(where)}{key} must be a list of numbers", within=where)
        return tuple(value)

    def optional_url(self, table: dict[str, Any], where: str, key: str) -> str | None:
        if key not in table:
            return None
        value = self.text(table, where, key, "")
        if not re.match(r"^https?://[^\s/]+", value):
            raise self.error(
                key, f"[{where}] {key} must start with http:// or https://", within=where
            )
        return value

    def clock(self, raw: str, key: str) -> time:
        try:
            return time.fromisoformat(raw)
        except ValueError as error:
            raise self.error(key, f"{key} {raw!r} is not a time like 08:00") from error

    def secret(self, name: str) -> Secret:
        return Secret(self.env.get(name, ""))

    def require_env(self, names: list[str], why: str) -> None:
        if not self.secrets_needed:
            return
        missing = [n for n in names if not self.env.get(n)]
        if missing:
            raise ConfigError(
                f"{self.path}: {why} needs the environment variable(s) {', '.join(missing)}; "
                "secrets are never read from the file."
            )

    def no_unknown(
        self,
        where: str,
        table: dict[str, Any],
        known: set[str],
        hints: Mapping[str, str] | None = None,
    ) -> None:
        """Notes each unknown key, with its hint (what was probably meant) if `hints` has one;
        reading goes on, as the known keys are still worth checking."""
        for key in table:
            if key not in known:
                within = f" in {section(where).strip()}" if where else ""
                hint = f"; {hints[key]}" if hints and key in hints else ""
                self.note(self.error(key, f"unknown key {key!r}{within}{hint}", within=where))

    def error(
        self, key: str, message: str, mentioning: str = "", nth: int = 1, within: str = ""
    ) -> ConfigError:
        """An error naming the line of `key`: its `nth` line that mentions `mentioning`, when
        one does (a value repeated in a later table is blamed where it is repeated), else its
        first. With `within` (a table as `section` names it: "slack", "[[schools]] #2"), the
        line is looked for in that table first, so the same key in another table is not
        blamed."""
        lines = self._table_lines(within)
        line = (
            self._line_of(key, mentioning, nth, lines)
            or self._line_of(key, "", 1, lines)
            or self._line_of(key, mentioning, nth)
            or self._line_of(key)
        )
        where = f"{self.path}, line {line}" if line else str(self.path)
        return KeyProblem(f"{where}: {message}.", line)

    def quoted(self, value: str) -> str:
        """`value` as the file writes it, in double or single quotes, so finding its line does
        not stop at a line that merely contains it ("a" is in `name = "Alder"`)."""
        for quoted in (f'"{value}"', f"'{value}'"):
            if any(quoted in line for line in self.lines):
                return quoted
        return value

    def _line_of(
        self, key: str, mentioning: str = "", nth: int = 1, lines: range | None = None
    ) -> int | None:
        """The `nth` line (of `lines`, else the whole file) that sets `key` or opens a table
        named `key`, such as `[slack]` or `[schools.slack]`, and mentions `mentioning`."""
        name = re.escape(key)
        pattern = re.compile(rf"^\s*(?:{name}\s*=|\[\[?\s*(?:[\w-]+\s*\.\s*)*{name}\s*\]?\])")
        found = 0
        for number in lines or range(1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if pattern.match(line) and mentioning in line:
                found += 1
                if found == nth:
                    return number
        return None

    def _table_lines(self, within: str) -> range | None:
        """The lines of one table, from its header to the next table that is not inside it:
        `[slack]` for "slack", the second `[[schools]]` for "[[schools]] #2"; None for the top
        level or a table the file does not open."""
        entry = re.fullmatch(r"\[\[([\w-]+)\]\] #(\d+)", within)
        table, nth = (entry.group(1), int(entry.group(2))) if entry else (within, 1)
        if not table:
            return None
        opens = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(?:#.*)?$")
        inside = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\.")
        start = None
        found = 0
        for number, line in enumerate(self.lines, start=1):
            if start is None:
                if opens.match(line):
                    found += 1
                    if found == nth:
                        start = number
            elif line.lstrip().startswith("[") and not inside.match(line):
                return range(start, number)
        return None if start is None else range(start, len(self.lines) + 1)


def section(where: str) -> str:
    """How an error names the table a key is in: "[slack] " or "[[schools]] #2 "."""
    if not where:
        return ""
    return f"{where} " if where.startswith("[") else f"[{where}] "


def text_places(
    reader: Reader, where: str, table: dict[str, Any], prefix: str, follow_ups: tuple[FollowUp, ...]
) -> SchoolPlaces:
    """A school's places on a platform whose ids are text (Slack's, Teams'): the keys
    `{prefix}_report_channels`, `_leads`, `_digest_channel` and `_followup` (one of
    `follow_ups`, the first when left out), each read on its own so one run names every key's
    problem."""
    attempt = reader.attempt
    digest = f"{prefix}_digest_channel"
    allowed = tuple(f.value for f in follow_ups)
    return SchoolPlaces(
        report_places=attempt(lambda: reader.texts(table, where, f"{prefix}_report_channels"), ()),
        leads=attempt(lambda: reader.texts(table, where, f"{prefix}_leads"), ()),
        digest_place=attempt(
            lambda: table.get(digest) and reader.text(table, where, digest, ""), None
        ),
        follow_up=attempt(
            lambda: FollowUp(
                reader.choice(table, where, f"{prefix}_followup", allowed, follow_ups[0].value)
            ),
            follow_ups[0],
        ),
    )
