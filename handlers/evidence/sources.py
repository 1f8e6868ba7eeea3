"""Where the evidence comes from: anonymised exports from many deployments, combined once each.

Each school or trust runs its own Casebook, so an association collects exports. An export written
by this version carries a random `deployment` id and a random `case_key` per case that stays the
same in every export of that database: the same case read twice (the same file twice, or two
overlapping exports) is counted once, from the copy updated last. An export written before them
counts as a deployment of its own, named by a hash of its bytes, so the same old file read twice
still counts once.

Only fields the figures need are read, and each is checked: a platform or a category must be one
Casebook knows, so no free text can reach the report through them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from storage.evidence import EvidenceRow
from storage.models import Category, Platform

_PLATFORMS = frozenset(p.value for p in Platform)
_CATEGORIES = frozenset(c.value for c in Category)


class EvidenceInputError(Exception):
    """An input file that cannot be used, with the file and the record to look at."""


def read_exports(paths: Iterable[Path]) -> tuple[list[EvidenceRow], int]:
    """Every case in these exports, each counted once, and how many records were read."""
    newest: dict[tuple[str, str], EvidenceRow] = {}
    read = 0
    for path in paths:
        for row in read_export(path):
            read += 1
            key = (row.deployment, row.key)
            held = newest.get(key)
            if held is None or row.updated >= held.updated:
                newest[key] = row
    return list(newest.values()), read


def read_export(path: Path) -> list[EvidenceRow]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise EvidenceInputError(f"{path}: cannot be read ({error.strerror})") from error
    try:
        records = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvidenceInputError(
            f"{path}: is not a JSON export (casebook export --anonymised --format json): {error}"
        ) from error
    if not isinstance(records, list):
        raise EvidenceInputError(f"{path}: is not a JSON export: expected a list of cases")
    old_deployment = "file-" + hashlib.sha256(raw).hexdigest()[:16]
    rows = []
    for number, record in enumerate(records, start=1):
        try:
            rows.append(_row(record, old_deployment))
        except _Bad as bad:
            ident = record.get("id") if isinstance(record, dict) else None
            which = f"record {number}" + (f" (case {ident})" if isinstance(ident, int) else "")
            raise EvidenceInputError(f"{path}: {which}: {bad}") from None
    return rows


class _Bad(Exception):
    pass


def _row(record: Any, old_deployment: str) -> EvidenceRow:
    if not isinstance(record, dict):
        raise _Bad("is not an object")
    deployment = record.get("deployment")
    case_key = record.get("case_key")
    number = record.get("id")
    if not isinstance(number, int) or isinstance(number, bool):
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
    if not isinstance(categories, list) or not all(c in _CATEGORIES for c in categories):
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
    return EvidenceRow(
        deployment,
        case_key,
        school,
        platform,
        created,
        _day(record, "reported_to_platform_at"),
        _day(record, "removed_at"),
        _day(record, "closed_at"),
        reason,
        tuple(categories),
        updated or "",
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
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _Bad(f"{name!r} is not a date: {value[:30]!r}") from None
