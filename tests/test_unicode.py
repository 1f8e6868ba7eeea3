"""Unicode cannot split one post into several cases, nor reorder what a lead reads."""

from __future__ import annotations

import re

import pytest

from handlers import messages
from handlers.export import export_rows, to_csv
from handlers.links import canonicalise, find_links
from storage.db import Database
from storage.models import Platform
from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "variant",
    [
        TIKTOK + "\u200b",  # a zero-width space after the link
        TIKTOK + "\u2069 thanks",  # a bidi isolate closing after it
        "https://www.\uff54\uff49\uff4b\uff54\uff4f\uff4b.com/@someone/video/1",  # full-width host
        "https://www.tiktok\uff0ecom/@someone/video/1",  # full-width full stop
        "https://www.tik\u200btok.com/@someone/video/1",  # zero-width space inside the host
        "\u202ehttps://www.tiktok.com/@someone/video/1\u202c",  # an override around it
        "https://www.tiktok.com/@someone/\ufeffvideo/1",  # a byte-order mark in the path
    ],
)
async def test_invisible_and_full_width_characters_do_not_make_a_new_case(
    chat: Chat, variant: str
) -> None:
    await chat.say(TIKTOK, user="alex")
    replies = await chat.say(variant, user="sam")
    assert texts(replies) == messages.already_logged(1)


def test_a_zero_width_space_inside_a_host_leaves_one_link() -> None:
    [link] = find_links("look https://insta\u200bgram.com/p/Abc now")
    assert link.canonical == "https://instagram.com/p/Abc"
    assert link.platform is Platform.INSTAGRAM


def test_a_full_width_host_is_its_platform() -> None:
    link = canonicalise("https://\uff54\uff49\uff4b\uff54\uff4f\uff4b.com/@a/video/9")
    assert link is not None and link.platform is Platform.TIKTOK
    assert link.canonical == "https://tiktok.com/@a/video/9"


@pytest.mark.parametrize("host", ["bücher.example", "BÜCHER.example", "xn--bcher-kva.example"])
def test_hosts_are_compared_in_their_idna_form(host: str) -> None:
    link = canonicalise(f"https://{host}/a")
    assert link is not None and link.canonical == "https://xn--bcher-kva.example/a"


async def test_text_shown_to_leads_carries_no_bidi_overrides(
    chat: Chat, database: Database
) -> None:
    await chat.say(f"the file \u202egpj.exe\u202c is here {TIKTOK}", user="alex")
    await chat.command("cases", "note 1 rang \u2067POSH\u2069 today", user="lena")
    await chat.say(f"\u202dme too\u202c {TIKTOK}", user="s\u202eam")
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    listed = texts(await chat.command("cases", "", user="lena"))
    assert "gpj.exe" in shown and "rang POSH today" in shown
    assert not BIDI.search(shown) and not BIDI.search(listed)
    async with database.transaction() as unit:
        rows = await export_rows(unit)
    assert not BIDI.search(to_csv(rows))


def test_full_width_slashes_and_digits_in_a_path_are_folded() -> None:
    link = canonicalise("https://www.tiktok.com/@someone\uff0fvideo\uff0f\uff11")
    assert link is not None and link.canonical == "https://tiktok.com/@someone/video/1"
