"""Handling and delivery in one process, without a network: CPU per report.

Run by hand: `python benchmarks/handling.py [--reports N] [--runs N]` (from the repository, with
the project installed; `--smoke`: 20 reports, one run, to check that it still runs). N reports from
N people, each with a link, are stored in the inbox of a fresh SQLite file, through the terminal
transport's demo school; then the worker handles them all (`Router.process_pending`) and delivery
sends every reply to a sender that does nothing. It prints the CPU time (every thread of the
process) per report for each step, and the statements each report ran.

Every figure of `benchmarks/replies.py` includes the fake Web API, the load generator and the
event loop's turns between them, and on a shared machine varies by half from run to run. This one
varies far less, so a change to handling or delivery shows here first; `replies.py` says what a
member of staff then waits.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bot.adapters.console import STAFF_ROOM
from bot.adapters.console_config import CONSOLE, DEMO_SCHOOL, demo_config
from bot.app import sync_schools
from bot.clock import SystemClock
from bot.delivery import Delivery
from bot.router import Router
from handlers.events import Incoming, IncomingKind, Outgoing, User
from storage.store import open_store


class NoSender:
    """Accepts every message at once: only Casebook's own work is measured."""

    async def send(self, outgoing: Outgoing) -> str | None:
        return None


async def run_once(folder: Path, reports: int) -> tuple[float, float, int, int]:
    """CPU seconds to handle and to deliver `reports` reports, rows sent, statements run."""
    config = demo_config(folder / "casebook.db")
    database = await open_store(config.storage.target)
    statements = 0
    try:
        await sync_schools(database, config)
        clock = SystemClock()
        router = Router(database, config, clock, frozenset({CONSOLE}))
        delivery = Delivery(database, clock, {CONSOLE: NoSender()})
        for n in range(reports):
            user = User(CONSOLE, f"staff{n}", f"Staff {n}")
            text = f"report {n} https://x.com/u/status/{n}"
            report = Incoming(IncomingKind.MESSAGE, STAFF_ROOM, user, text=text, school=DEMO_SCHOOL)
            await router.receive(report, "bench", f"e{n}")
        connection: sqlite3.Connection = database._connection._connection  # type: ignore[attr-defined]

        def count(statement: str) -> None:
            nonlocal statements
            statements += not statement.startswith("--")  # a trigger's step is not a statement

        gc.collect()
        connection.set_trace_callback(count)
        started = time.process_time()
        await router.process_pending()
        handled = time.process_time()
        sent = await delivery.flush()
        delivered = time.process_time()
        connection.set_trace_callback(None)
    finally:
        await database.close()
    return handled - started, delivered - handled, sent, statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 reports, one run: does it run?")
    args = parser.parse_args()
    if args.smoke:
        args.reports, args.runs = 20, 1
    handle, deliver = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="casebook-handling-") as folder:
            handling, delivery, sent, statements = asyncio.run(run_once(Path(folder), args.reports))
        handle.append(handling * 1000 / args.reports)
        deliver.append(delivery * 1000 / args.reports)
        print(
            f"handle {handle[-1]:.3f} ms CPU a report, deliver {deliver[-1]:.3f} ms "
            f"({sent} messages); {statements / args.reports:.1f} statements a report"
        )
    print(
        f"best of {args.runs}: handle {min(handle):.3f} ms, deliver {min(deliver):.3f} ms;"
        f" median: handle {statistics.median(handle):.3f} ms,"
        f" deliver {statistics.median(deliver):.3f} ms"
    )


if __name__ == "__main__":
    main()
