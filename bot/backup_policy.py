"""What `person erase` can say about backups: erasure changes the database, never a copy of it.

The deploy's backup timer (deploy/casebook-backup.service) writes into `backups` beside the
database and deletes copies older than CASEBOOK_BACKUP_DAYS, so an erased person is gone from
those within that many days. Anywhere else Casebook cannot know of, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DAYS_VARIABLE = "CASEBOOK_BACKUP_DAYS"
DEFAULT_DAYS = 30  # the backup service's own default, when the variable is not set
FOLDER_NAME = "backups"  # the service's folder, beside the database


@dataclass(frozen=True)
class BackupPolicy:
    folder: Path
    days: int


def backup_policy(database: Path | str, environ: Mapping[str, str]) -> BackupPolicy | None:
    """The backup timer's folder and how long it keeps copies, when there is one beside this
    SQLite database (None for a PostgreSQL URL, whose backups are the server's)."""
    if not isinstance(database, Path):
        return None
    folder = database.resolve().parent / FOLDER_NAME
    if not folder.is_dir():
        return None
    return BackupPolicy(folder, kept_days(environ))


def kept_days(environ: Mapping[str, str]) -> int:
    """CASEBOOK_BACKUP_DAYS as the service reads it; its default when unset or unreadable."""
    text = environ.get(DAYS_VARIABLE, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_DAYS
