"""Cleaning what people type before it is stored or shown back to them."""

from __future__ import annotations

import re

# The most of a person's words one message stores (the README's "very long" text rule): a
# reporter is told when theirs were cut (messages.text_truncated).
MAX_TEXT_LENGTH = 20_000
# The most of one person's words one case keeps, however many replies they come in: five whole
# messages. Past it a reply adds nothing, and its writer is told (messages.words_full).
MAX_WORDS_PER_CASE = 5 * MAX_TEXT_LENGTH
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069) reorder the text around
# them: "#12 gpj.exe" can be shown as "#12 exe.jpg". Nobody needs them to report abuse.
_BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Report text as the reporter wrote it, less control characters no chat can show and the
    bidirectional overrides that would reorder what a lead reads."""
    return without_bidi_overrides(_CONTROL.sub("", text)).strip()


def capped(text: str) -> tuple[str, bool]:
    """The words one message may store, and whether any were cut: every path that stores a
    person's words (a report, a late link, a thread reply, an edit) keeps the same cap."""
    return text[:MAX_TEXT_LENGTH], len(text) > MAX_TEXT_LENGTH


def without_bidi_overrides(text: str) -> str:
    """The text with no bidirectional embedding, override or isolate characters."""
    return _BIDI_OVERRIDES.sub("", text)


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
