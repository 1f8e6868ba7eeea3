"""Online backup with SQLite's backup API: a consistent copy even while the bot writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def backup_database(source: Path, target: Path) -> str:
    """Copy `source` into the new file `target` in one step; returns the copy's integrity check."""
    with sqlite3.connect(source, timeout=30) as live, sqlite3.connect(target) as copy:
        # One step (pages=-1) copies every page under a single read transaction: the copy is
        # the database as it was at one moment, whatever is written meanwhile.
        live.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")
        row = copy.execute("PRAGMA integrity_check").fetchone()
    return str(row[0]) if row else "no answer"
