"""The same conversation, logged on SQLite and on PostgreSQL, exports the same bytes.

Only the deployment id and the case keys differ: they are random per database by design (a
copy of a database keeps them). Everything else, from the order of keys to how a quote, a newline
or an accent is written, must match, so exports from both kinds of deployment combine.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.app import sync_schools
from handlers import export
from storage.store import Store, open_store
from tests.chat import Chat, FakeClock
from tests.conftest import two_schools

RANDOM_IDS = re.compile(r'"(deployment|case_key)":"[0-9a-f]{16}"')


async def _scenario(store: Store, tmp_path: Path) -> None:
    """Reports, answers, a merge and lead changes, with text that JSON must escape."""
    config = two_schools(tmp_path / "unused.db")
    await sync_schools(store, config)
    clock = FakeClock()
    chat = Chat(store, config, clock)
    await chat.say(
        'Fake "account" of Mr Ødegaard:\nhttps://www.tiktok.com/@fake/video/123?is_from_webapp=1',
        user="alex",
    )
    await chat.say("1", user="alex")  # the reporter is targeted
    await chat.say("1 7 9", user="alex")  # harassment, a threat, defamation: urgent
    await chat.say("done", user="alex")
    clock.advance(hours=1)
    await chat.say("https://www.instagram.com/p/AbC/ cruel comments", user="sam \"\\ o'neil")
    await chat.say("https://x.com/someone/status/42 threat 💥", user="zoë")
    clock.advance(hours=3)
    await chat.say("https://www.instagram.com/p/AbC/ me too", user="alex")
    await chat.command("cases", "assign 1 @alex", user="lena")
    await chat.command("cases", "status 1 reported", user="lena")
    clock.advance(days=2, hours=7, seconds=13)
    await chat.command("cases", "status 1 removed", user="lena")
    await chat.command("cases", "merge 3 2", user="lena")
    await chat.command("cases", "close 2 resolved", user="lena")
    await chat.say("https://youtu.be/dQw4w9WgXcQ", user="sol", school="Southgate")


async def _export(target: str, tmp_path: Path, anonymised: bool) -> str:
    store = await open_store(target)
    try:
        await _scenario(store, tmp_path)
        out = io.StringIO()
        writer = export.JsonWriter(out)
        async with store.reading() as unit:
            async for batch in export.documents(unit, anonymised=anonymised):
                writer.write(batch)
        writer.close()
        return out.getvalue()
    finally:
        await store.close()


@pytest.mark.parametrize("anonymised", [False, True])
async def test_sqlite_and_postgresql_export_the_same_bytes(
    postgres_url: str,
    tmp_path: Path,
    anonymised: bool,
) -> None:
    on_sqlite = await _export(str(tmp_path / "casebook.db"), tmp_path, anonymised)
    on_postgres = await _export(postgres_url, tmp_path, anonymised)
    # The scenario made its cases, and the export holds what needs care to write alike.
    assert on_sqlite.count('"school":') == 4
    assert '"urgent":true' in on_sqlite and '"days_to_removal":2.3' in on_sqlite
    assert anonymised or ('"sam \\"\\\\ o\'neil"' in on_sqlite and "zoë" in on_sqlite)
    assert len(RANDOM_IDS.findall(on_postgres)) == 2 * 4
    assert RANDOM_IDS.sub("", on_postgres) == RANDOM_IDS.sub("", on_sqlite)
