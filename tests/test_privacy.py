"""Retention, legal hold, a person's export and erasure, and online backup."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.slack_config import SLACK
from bot.app import sync_schools
from handlers import messages, privacy
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config
from handlers.stats import platform_stats
from storage.backup import backup_database
from storage.db import Database
from storage.models import Status
from tests.chat import Chat, FakeClock, texts
from tests.running import until

ROOT = Path(__file__).resolve().parent.parent
LONDON = ZoneInfo("Europe/London")


def casebook(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


async def _closed_case(chat: Chat, n: int, closed_local: datetime, user: str = "alex") -> None:
    """Report a post and close it at the given local time."""
    chat.clock.moment = closed_local.astimezone(UTC)
    await chat.say(f"https://x.com/u/status/{n} about Mr Khan", user=user)
    await chat.command("cases", f"status {await _number(chat, n)} removed", user="lena")
    await chat.command("cases", f"close {await _number(chat, n)} resolved", user="lena")


async def _number(chat: Chat, n: int) -> int:
    async with chat.database.transaction() as unit:
        cases = await unit.cases.listing()
    return next(c.number for c in cases if c.url == f"https://x.com/u/status/{n}")


async def test_retention_counts_days_in_the_schools_zone(chat: Chat, config: Config) -> None:
    # 00:30 BST on 2 July 2025 is still 1 July in UTC: only the local date gives 365 days.
    await _closed_case(chat, 1, datetime(2025, 7, 2, 0, 30, tzinfo=LONDON))  # 365 days: kept
    await _closed_case(chat, 2, datetime(2025, 7, 3, 12, 0, tzinfo=LONDON))  # 364 days: kept
    await _closed_case(chat, 3, datetime(2025, 7, 1, 12, 0, tzinfo=LONDON))  # 366 days: purged
    now = datetime(2026, 7, 2, 12, 0, tzinfo=LONDON).astimezone(UTC)
    async with chat.database.transaction() as unit:
        plan = await privacy.purge_plan(unit, config, now)
    assert [(item.number, item.closed_days_ago) for item in plan] == [(3, 366)]


@pytest.mark.sqlite_only
async def test_purge_anonymises_but_keeps_the_statistics(chat: Chat, config: Config) -> None:
    await _closed_case(chat, 1, datetime(2025, 1, 10, 12, 0, tzinfo=LONDON))
    await chat.command("cases", "note 1 spoke to Jo Bloggs", user="lena")
    await chat.command("cases", "assign 1 @alex", user="lena")  # refused: closed, stays unassigned
    await _closed_case(chat, 2, datetime(2025, 1, 11, 12, 0, tzinfo=LONDON), user="sam")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with chat.database.transaction() as unit:
        before = platform_stats(await unit.cases.listing(), now)
        plan = await privacy.purge_plan(unit, config, now)
        await privacy.purge(unit, plan, now)
        after = platform_stats(await unit.cases.listing(), now)
        case = await unit.cases.by_number(1, 1)
        assert case is not None
        assert await unit.cases.links(case.id) == [] and await unit.cases.reporters(case.id) == []
        assert await unit.notes.for_cases([case.id]) == []
        assert [e.actor_id for e in await unit.audit.for_cases([case.id])] == [None] * 4
    assert before == after and len(plan) == 2
    assert case.purged_at == now and case.reporter_count == 1 and case.status is Status.CLOSED
    await chat.database.compact()
    raw = chat.database.path.read_bytes()
    assert b"Jo Bloggs" not in raw and b"x.com/u/status/1" not in raw and b"Mr Khan" not in raw


async def test_a_legal_hold_blocks_purge_until_lifted(chat: Chat, config: Config) -> None:
    await _closed_case(chat, 1, datetime(2024, 1, 10, 12, 0, tzinfo=LONDON))
    assert texts(await chat.command("cases", "hold 1", user="lena")) == messages.HOLD_NEEDS_REASON
    assert texts(
        await chat.command("cases", "hold 1 police investigation", user="lena")
    ) == messages.held(1)
    assert texts(await chat.command("cases", "hold 1 x", user="alex")) == messages.NOT_A_LEAD
    now = datetime(2026, 6, 1, tzinfo=UTC)
    async with chat.database.transaction() as unit:
        assert await privacy.purge_plan(unit, config, now) == []
    assert "Legal hold: police investigation" in texts(
        await chat.command("cases", "show 1", user="lena")
    )
    assert texts(await chat.command("cases", "unhold 1", user="lena")) == messages.unheld(1)
    assert texts(await chat.command("cases", "unhold 1", user="lena")) == messages.not_held(1)
    async with chat.database.transaction() as unit:
        assert [i.number for i in await privacy.purge_plan(unit, config, now)] == [1]


async def test_purge_dry_run_lists_exactly_what_purge_then_does(
    config: Config, clock: FakeClock
) -> None:
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    chat = Chat(database, config, clock)
    await _closed_case(chat, 1, datetime(2024, 1, 10, 12, 0, tzinfo=LONDON))
    await _closed_case(chat, 2, datetime(2024, 2, 10, 12, 0, tzinfo=LONDON))
    clock.moment = datetime(2026, 1, 1, tzinfo=UTC)
    await chat.say("https://x.com/u/status/3 still open")
    await database.close()
    db = str(config.storage.database)
    dry = casebook("purge", "--dry-run", "--db", db)
    real = casebook("purge", "--db", db)
    again = casebook("purge", "--dry-run", "--db", db)
    assert dry.returncode == real.returncode == 0, dry.stderr + real.stderr
    assert dry.stdout.replace("would anonymise", "anonymised") == real.stdout
    assert dry.stdout.count("would anonymise") == 2
    assert again.stdout == ""
    with sqlite3.connect(db) as raw:
        assert (
            raw.execute("SELECT count(*) FROM cases WHERE purged_at IS NOT NULL").fetchone()[0] == 2
        )


def _slack(user: str, text: str, event: str) -> Incoming:
    return Incoming(
        IncomingKind.MESSAGE,
        Place(SLACK, user, PlaceKind.DIRECT),
        User(SLACK, user, "Uma Patel"),
        text=text,
        school="Northfield",
        event_id=f"slack-{event}",
    )


async def test_person_export_holds_their_data_and_no_one_elses(chat: Chat) -> None:
    await chat.send(_slack("U123", "https://tiktok.com/@a/video/1 this is about me", "e1"))
    await chat.say("https://tiktok.com/@a/video/1 saw it too, awful", user="sam")
    await chat.say("https://x.com/u/status/9 another one", user="sam")
    async with chat.database.transaction() as unit:
        data = await privacy.person_export(unit, "slack:U123")
    flat = json.dumps(data)
    assert data["person"] == {"id": "slack:U123", "name": "Uma Patel"}
    assert [c["your_words"] for c in data["cases_reported"]] == [
        "https://tiktok.com/@a/video/1 this is about me"
    ]
    assert data["schools"] == ["Northfield"]
    assert "saw it too" not in flat and "another one" not in flat and "sam" not in flat
    assert [a["action"] for a in data["audit"]] == ["created"]


async def test_erasing_a_person_leaves_no_trace_of_their_id(
    config: Config, clock: FakeClock
) -> None:
    database = await Database.open(config.storage.database)
    await sync_schools(database, config)
    chat = Chat(database, config, clock)
    await chat.send(_slack("U123", "https://tiktok.com/@a/video/1 <@U123> is me", "e1"))
    await chat.command(
        "cases", "assign 1 @U123", user="lena"
    )  # console lead: refused, other transport
    await chat.command("cases", "note 1 U123 called back", user="lena")
    await chat.say("https://x.com/u/status/5", user="sam")
    await database.close()
    db = str(config.storage.database)
    assert b"U123" in Path(db).read_bytes()

    refused = casebook("person", "erase", "--slack", "U123", "--db", db)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    erased = casebook("person", "erase", "--slack", "U123", "--yes", "--db", db)
    assert erased.returncode == 0, erased.stderr
    for path in (Path(db), Path(db + "-wal")):
        if path.exists():
            assert b"U123" not in path.read_bytes()
    exported = json.loads(casebook("export", "--db", db).stdout)
    assert [c["reporters"] for c in exported] == [["Former staff member 1"], ["sam"]]
    assert casebook("person", "export", "--slack", "U123", "--db", db).returncode == 2
    database = await Database.open(config.storage.database)
    chat = Chat(database, config, clock)
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    await database.close()
    assert "Former staff member 1" in shown and "U123" not in shown


@pytest.mark.sqlite_only
async def test_backup_during_writes_is_consistent_and_restores(chat: Chat, tmp_path: Path) -> None:
    written = 0

    async def keep_writing() -> None:
        nonlocal written
        for n in range(60):
            await chat.say(f"https://x.com/u/status/{n}", user=f"user{n}")
            written += 1

    copies = [tmp_path / f"backup{n}.db" for n in range(3)]
    writer = asyncio.create_task(keep_writing())
    results = []
    for n, copy in enumerate(copies):
        await until(lambda n=n: written >= 10 * (n + 1))  # each copy mid-way through the writes
        results.append(await asyncio.to_thread(backup_database, chat.database.path, copy))
    await writer
    assert results == ["ok", "ok", "ok"]
    counts = []
    for copy in copies:
        with sqlite3.connect(copy) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts.append(raw.execute("SELECT count(*) FROM cases").fetchone()[0])
            reporters = raw.execute(
                "SELECT count(DISTINCT case_id) FROM case_reporters"
            ).fetchone()[0]
            assert reporters == counts[-1]  # no half-written case
    assert counts == sorted(counts)
    # Restore (stop, copy, start): the copy opens as a working database.
    restored = tmp_path / "restored.db"
    shutil.copyfile(copies[-1], restored)
    database = await Database.open(restored)
    async with database.transaction() as unit:
        assert len(await unit.cases.listing()) == counts[-1]
    await database.close()


def test_backup_command_refuses_to_overwrite(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    casebook("run", "--db", str(db))
    target = tmp_path / "copy.db"
    first = casebook("backup", str(target), "--db", str(db))
    assert first.returncode == 0 and "integrity: ok" in first.stderr
    second = casebook("backup", str(target), "--db", str(db))
    assert second.returncode == 2 and "exists already" in second.stderr
    missing = casebook("backup", str(tmp_path / "c2.db"), "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2


@pytest.mark.sqlite_only
async def test_processed_events_and_sent_messages_keep_no_report_text(chat: Chat) -> None:
    await chat.say("https://x.com/u/status/1 Mr Khan is a liar")
    with sqlite3.connect(chat.database.path) as raw:
        payloads = [
            r[0]
            for r in raw.execute("SELECT payload FROM inbox UNION ALL SELECT payload FROM outbox")
        ]
    assert payloads and all(p == "" for p in payloads)
