"""Cutting our text to fit a chat platform's limits, measured the way that platform measures.

Slack counts the characters of the escaped text it receives (`&lt;` is four); Telegram counts
UTF-16 code units of the text after its HTML entities are read (an emoji is two, `&lt;` is one).
A message cut short says how much is missing, so a lead knows there is more to see.
"""

from __future__ import annotations

from collections.abc import Callable

Measure = Callable[[str], int]


def utf16_length(text: str) -> int:
    """Telegram's measure: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Consecutive pieces of `text`, each within `limit` by `measure`, broken after a newline
    where one falls in the second half of a piece; nothing is lost or reordered."""
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        end = _longest_prefix(rest, limit, measure)
        newline = rest.rfind("\n", 0, end)
        if newline >= end // 2:
            end = newline + 1
        pieces.append(rest[:end])
        rest = rest[end:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def fit(text: str, limit: int, more: Callable[[int], str], measure: Measure = len) -> str:
    """`text` whole if it fits, else as much as fits followed by `more(characters left out)`."""
    if measure(text) <= limit:
        return text
    room = limit - measure(more(len(text)))
    kept = text[: _longest_prefix(text, room, measure)]
    return kept + more(len(text) - len(kept))


def _longest_prefix(text: str, limit: int, measure: Measure) -> int:
    """The length of the longest prefix of `text` within `limit` (at least one character)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low
