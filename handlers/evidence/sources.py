"""Where the evidence comes from: anonymised exports from many deployments, combined once each.

Each school or trust runs its own Casebook, so an association collects exports. An export written
by this version carries a random `deployment` id and a random `case_key` per case that stays the
same in every export of that database: the same case read twice (the same file twice, or two
overlapping exports) is counted once, from the copy updated last. An export written before them
counts as a deployment of its own, named by a hash of its bytes, so the same old file read twice
still counts once.

Only fields the figures need are read, and each is checked: a platform or a category must be one
Casebook knows, so no free text can reach the report through them.

The files come from elsewhere and cannot be trusted: each is read up to `MAX_BYTES`, a number too
long to be one Casebook wrote stays a string-free marker instead of a huge integer, brackets
nested too deep are refused rather than exhausting the stack, a date before `EARLIEST` (or a
removal before its report) is refused rather than stretching the period or counting 0 days, and
a full export (names, links) is refused unless the person says that is intended: an association
is meant to see no one's name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from handlers import messages
from storage.evidence import EvidenceRow
from storage.models import Category, EscalationRoute, Platform

_PLATFORMS = frozenset(p.value for p in Platform)
_CATEGORIES = frozenset(c.value for c in Category)
_ROUTES = frozenset(r.value for r in EscalationRoute)
# An export of 100 000 cases is some 45 MB; four times that is still read in a few seconds.
MAX_BYTES = 200 * 1024 * 1024
# Before Casebook, and before any of the platforms it knows: a date earlier is a mistake, and
# one in year 1 would stretch the report to two thousand years of weeks.
EARLIEST = date(2000, 1, 1)
# Case numbers and counts Casebook writes fit in far fewer digits.
_MAX_DIGITS = 18
# The fields only a full export fills: who reported, who was assigned, which post.
_IDENTIFYING = ("url", "links", "assignee")


class EvidenceInputError(Exception):
    """An input file that cannot be used, with the file and the record to look at."""


def read_exports(
    paths: Iterable[Path], allow_identifying: bool = False
) -> tuple[list[EvidenceRow], int]:
    """Every case in these exports, each counted once, and how many records were read."""
    newest: dict[tuple[str, str], EvidenceRow] = {}
    read = 0
    for path in paths:
        for row in read_export(path, allow_identifying):
            read += 1
            key = (row.deployment, row.key)
            held = newest.get(key)
            if held is None or row.updated >= held.updated:
                newest[key] = row
    return list(newest.values()), read


def read_export(path: Path, allow_identifying: bool = False) -> list[EvidenceRow]:
    """One export's cases; EvidenceInputError (one line) for anything that cannot be used."""
    name = messages.shown_path(path)
    raw = _read_limited(path, name)
    old_deployment = "file-" + hashlib.sha256(raw).hexdigest()[:16]
    rows = []
    number = 0
    record: Any = None
    try:
        for record in _records(raw, name):
            number += 1
            if not allow_identifying:
                _refuse_identifying(record)
            rows.append(_row(record, old_deployment))
    except _Bad as bad:
        ident = record.get("id") if isinstance(record, dict) else None
        which = f"record {number}" + (f" (case {ident})" if type(ident) is int else "")
        raise EvidenceInputError(f"{name}: {which}: {bad}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvidenceInputError(
            f"{name}: is not a JSON export (casebook export --anonymised --format json): {error}"
        ) from error
    except RecursionError:
        raise EvidenceInputError(messages.evidence_nested_too_deep(name)) from None
    return rows


def _records(raw: bytes, name: str) -> Iterator[Any]:
    """The records of a JSON array, one at a time: only one record's objects are held at once,
    and a file that goes wrong early stops there, however much follows."""
    text = raw.decode(json.detect_encoding(raw))
    decoder = json.JSONDecoder(parse_int=_integer, parse_float=_decimal)
    at = _skip(text, 0)
    if at < len(text) and text[at] != "[":
        decoder.decode(text)  # says what is wrong with it, if anything
        raise EvidenceInputError(f"{name}: is not a JSON export: expected a list of cases")
    if at == len(text):
        raise json.JSONDecodeError("Expecting value", text, at)
    at = _skip(text, at + 1)
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            record, at = decoder.raw_decode(text, at)
            yield record
            at = _skip(text, at)
            if text.startswith("]", at):
                at += 1
                break
            if not text.startswith(",", at):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            at = _skip(text, at + 1)
    if _skip(text, at) != len(text):
        raise json.JSONDecodeError("Extra data", text, at)


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """Past the JSON whitespace at `at`."""
    found = _WHITESPACE.match(text, at)
    return at if found is None else found.end()


class _Bad(Exception):
    pass


@dataclass(frozen=True)
class _TooLong:
    """A number in the file too long to be one Casebook wrote: kept as its length only."""

    digits: int


def _integer(text: str) -> int | _TooLong:
    return int(text) if len(text) <= _MAX_DIGITS else _TooLong(len(text))


def _decimal(text: str) -> float | _TooLong:
    return float(text) if len(text) <= 2 * _MAX_DIGITS else _TooLong(len(text))


def _read_limited(path: Path, name: str) -> bytes:
    """The file's bytes, refused unread when it says it is larger than MAX_BYTES, and never
    more than MAX_BYTES read from what does not say (a pipe, /dev/zero)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with path.open("rb") as stream:
            if path.is_file() and path.stat().st_size > MAX_BYTES:
                raise EvidenceInputError(messages.evidence_file_too_large(name, MAX_BYTES))
            # In pieces: read(MAX_BYTES + 1) would set aside the whole limit for a small file.
            while size <= MAX_BYTES and (chunk := stream.read(_CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as error:
        raise EvidenceInputError(f"{name}: cannot be read ({error.strerror})") from error
    if size > MAX_BYTES:
        raise EvidenceInputError(messages.evidence_file_too_large(name, MAX_BYTES))
    return b"".join(chunks)


_CHUNK = 1024 * 1024


def _refuse_identifying(record: Any) -> None:
    if isinstance(record, dict) and (
        any(record.get(field) for field in _IDENTIFYING)
        or isinstance(record.get("reporters"), list)
    ):
        raise _Bad(messages.EVIDENCE_IDENTIFYING_EXPORT)


def _row(record: Any, old_deployment: str) -> EvidenceRow:
    if not isinstance(record, dict):
        raise _Bad("is not an object")
    deployment = record.get("deployment")
    case_key = record.get("case_key")
    number = record.get("id")
    if type(number) is not int:
        raise _Bad("'id' is not a case number")
    school = _text(record, "school")
    if deployment is None and case_key is None:
        # Written before exports carried ids: case numbers are per school within one file.
        deployment, case_key = old_deployment, f"{school}#{number}"
    elif not isinstance(deployment, str) or not deployment or not isinstance(case_key, str):
        raise _Bad("'deployment' and 'case_key' must both be text")
    platform = _text(record, "platform")
    if platform not in _PLATFORMS:
        raise _Bad(f"'platform' is not one Casebook knows: {platform[:40]!r}")
    categories = record.get("categories", [])
    if not isinstance(categories, list) or not all(
        isinstance(c, str) and c in _CATEGORIES for c in categories
    ):
        raise _Bad("'categories' must be a list of Casebook's categories")
    reason = record.get("close_reason")
    if reason is not None and not isinstance(reason, str):
        raise _Bad("'close_reason' is not text")
    updated = record.get("updated_at")
    if updated is not None and not isinstance(updated, str):
        raise _Bad("'updated_at' is not text")
    created = _day(record, "created_at")
    if created is None:
        raise _Bad("'created_at' is missing")
    reported = _day(record, "reported_to_platform_at")
    removed = _day(record, "removed_at")
    if removed is not None and removed < created:
        raise _Bad(messages.evidence_removed_before("created_at", removed, created))
    if removed is not None and reported is not None and removed < reported:
        raise _Bad(messages.evidence_removed_before("reported_to_platform_at", removed, reported))
    # Written since exports carried escalations; an older export has neither.
    route = record.get("escalated_to")
    if route is not None and not (isinstance(route, str) and route in _ROUTES):
        raise _Bad(messages.EVIDENCE_BAD_ROUTE)
    escalated = _day(record, "escalated_at")
    if (route is None) != (escalated is None):
        raise _Bad(messages.EVIDENCE_BAD_ROUTE)
    if removed is not None and escalated is not None and removed < escalated:
        raise _Bad(messages.evidence_removed_before("escalated_at", removed, escalated))
    return EvidenceRow(
        deployment,
        case_key,
        school,
        platform,
        created,
        reported,
        removed,
        _day(record, "closed_at"),
        reason,
        tuple(categories),
        updated or "",
        route,
        escalated,
    )


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{name!r} is missing or not text")
    return value


def _day(record: dict[str, Any], name: str) -> date | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{name!r} is not a date")
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise _Bad(f"{name!r} is not a date: {value[:30]!r}") from None
    if day < EARLIEST:
        raise _Bad(messages.evidence_date_too_early(name, day, EARLIEST))
    return day
