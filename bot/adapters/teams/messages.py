"""What the Teams adapter says to the person setting it up, in one place for review and
translation (the chat's own sentences are handlers/messages.py's, as on every platform)."""

from __future__ import annotations

from pathlib import Path

MANIFEST_NEEDS_CONFIG = (
    "the Teams app package needs the bot's app id: give --config FILE with a [teams] section."
)
MANIFEST_PLACEHOLDER_URL = (
    "casebook: warning: no --url given, so the package names a placeholder host "
    "(casebook.example.org); give --url https://YOUR-HOST."
)


def manifest_bad_url(url: str) -> str:
    return (
        f"--url {url!r} is not an https address: give the address Teams reaches Casebook at, "
        "such as https://casebook.example.org"
    )


def package_written(path: Path) -> str:
    return (
        f"wrote {path}: upload it in Teams (Apps, Manage your apps, Upload an app) and add it "
        "to the team whose channels take reports."
    )
