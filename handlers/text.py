"""Cleaning what people type before it is stored or shown back to them."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Report text as the reporter wrote it, less control characters no chat can show."""
    return _CONTROL.sub("", text).strip()


def printable(word: str, limit: int = 40) -> str:
    """A word someone typed, safe and short enough to quote back in a reply ("?" if nothing is)."""
    return "".join(c for c in word if c.isprintable())[:limit] or "?"


def whole_number(text: str, digits: int = 18) -> int | None:
    """A non-negative number written in ASCII digits, at most `digits` long; None otherwise.

    `str.isdigit` alone is not enough: it accepts "¹" or "①", which `int` refuses, and `int`
    refuses more than 4 300 digits.
    """
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None
