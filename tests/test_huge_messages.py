"""A huge message keeps its links: they are found in the whole message before the text is cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.adapters.console import MAX_LINE_BYTES
from handlers import messages
from handlers.report import MAX_TEXT_LENGTH
from storage.models import Platform
from tests.chat import Chat, texts
from tests.test_console import casebook

TIKTOK = "https://www.tiktok.com/@someone/video/7301234567890123456"
CANONICAL = "https://tiktok.com/@someone/video/7301234567890123456"
MEGABYTE = 1024 * 1024


@pytest.mark.slow  # a process each, reading megabytes
@pytest.mark.parametrize(
    "line",
    [
        b"word " * (MEGABYTE // 5) + TIKTOK.encode(),  # the link after the first megabyte
        # the link across the cut, and more text after it
        b"x" * (MAX_LINE_BYTES - 20) + b" " + TIKTOK.encode() + b" " + b"y" * 100_000,
        b"\xc3\xa9" * MEGABYTE + b" " + TIKTOK.encode() + b" and some more words",
    ],
)
def test_a_link_at_the_end_of_a_megabyte_line_in_the_terminal_makes_its_case(
    tmp_path: Path, line: bytes
) -> None:
    db = str(tmp_path / "x.db")
    result = casebook("run", "--db", db, stdin=line + b"\n")
    assert result.returncode == 0, result.stderr
    output = result.stdout.decode()
    assert messages.case_logged(1, Platform.TIKTOK) in output
    assert messages.text_truncated(MAX_TEXT_LENGTH) in output
    [case] = json.loads(casebook("export", "--db", db).stdout)
    assert case["url"] == CANONICAL


async def test_a_link_after_the_cut_is_still_found(chat: Chat) -> None:
    replies = await chat.say("a" * (MAX_TEXT_LENGTH * 50) + " " + TIKTOK)
    assert messages.case_logged(1, Platform.TIKTOK) in texts(replies)
    assert messages.text_truncated(MAX_TEXT_LENGTH) in texts(replies)
