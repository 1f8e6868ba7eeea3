"""Faults seen from outside the process: `casebook run` with its platforms unreachable, and
database files that are damaged or belong to another program."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.faults import Fault
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegramApi
from tests.test_console import ROOT, casebook

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_keeps_going_while_slack_and_telegram_are_unreachable_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    slack = await FakeSlackApi().start()
    telegram = await FakeTelegramApi().start()
    await slack.faults.set(Fault.HANG)  # Socket Mode's apps.connections.open never answers
    await telegram.faults.set(Fault.REFUSE)  # nothing listening
    port = _free_port()
    config = tmp_path / "casebook.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "down.db"}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[slack]\nmode = "socket"\napi_url = "{slack.url}/api/"\n'
        f'[telegram]\nmode = "polling"\napi_url = "{telegram.url}"\n'
        '[[schools]]\nname = "Northfield"\nslack_report_channels = ["CREPORT"]\n'
        "telegram_report_chats = [-100111]\n",
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "TELEGRAM_BOT_TOKEN": telegram.token,
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        body = await _health(port, 503, lambda b: b["worker"] is True and bool(b["problems"]))
        assert body["slack"] is False and body["telegram"] is False
        assert body["database"] is True and body["worker"] is True
        await asyncio.sleep(2)  # it keeps running (and failing) while the platforms are down
        assert process.returncode is None
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.wait_for(process.wait(), 15)
        assert code == 0 and time.monotonic() - started < 10
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()
        assert "Traceback" not in log
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await slack.stop()
        await telegram.stop()


async def _health(
    port: int, status: int, where: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    body: dict[str, Any] = await response.json()
                    if response.status == status and where(body):
                        return body
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"/healthz never answered {status}")


def test_other_programs_databases_are_refused_in_one_line(tmp_path: Path) -> None:
    texts = tmp_path / "texts.db"
    with sqlite3.connect(texts) as raw:
        raw.execute("CREATE TABLE schema_version (version TEXT)")
        raw.execute("INSERT INTO schema_version VALUES ('one')")
    people = tmp_path / "people.db"
    with sqlite3.connect(people) as raw:
        raw.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
    for path in (texts, people):
        before = path.read_bytes()
        for command in (("export",), ("run",)):
            result = casebook(*command, "--db", str(path))
            assert result.returncode == 2, result.stderr
            [line] = result.stderr.decode().splitlines()
            assert "not a Casebook database" in line
        assert path.read_bytes() == before  # nothing was written to it


def test_a_database_with_damaged_pages_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    made = casebook("run", "--db", str(path), stdin=b"https://x.com/u/status/1\n")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = raw.execute("PRAGMA page_size").fetchone()[0]
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    data = bytearray(path.read_bytes())
    for number in range(2, pages):  # every page but the first (the header)
        data[number * page + 8 : number * page + 40] = b"\xa5" * 32
    path.write_bytes(bytes(data))
    result = casebook("run", "--db", str(path), stdin=b"")
    assert result.returncode == 2
    [line] = result.stderr.decode().splitlines()
    assert "damaged" in line or "not a Casebook database" in line


def test_inbox_list_and_retry_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    assert casebook("run", "--db", str(path), stdin=b"").returncode == 0
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO inbox (source, event_id, payload, received_at, set_aside_at, attempts,"
            " last_error) VALUES ('slack', 'Ev9', ?, '2026-11-26T10:00:00Z',"
            " '2026-11-26T10:00:05Z', 3, 'TypeError')",
            (json.dumps({"kind": "message"}),),
        )
    listed = casebook("inbox", "list", "--db", str(path))
    assert listed.returncode == 0
    [line] = listed.stdout.decode().splitlines()
    assert "slack Ev9" in line and "TypeError" in line and "3 attempt(s)" in line
    assert "message" not in line  # never the event's text
    missing = casebook("inbox", "retry", "99", "--db", str(path))
    assert missing.returncode == 2 and "no set-aside event 99" in missing.stderr.decode()
    retried = casebook("inbox", "retry", "--db", str(path))
    assert retried.returncode == 0 and "1 event(s)" in retried.stderr.decode()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM inbox WHERE set_aside_at IS NULL").fetchone()[0]
