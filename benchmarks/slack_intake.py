"""Slack intake in one process, without a network: CPU per message event.

Run by hand: `python benchmarks/slack_intake.py [--events N] [--runs N]` (from the repository, with
the project installed; `--smoke`: 50 events, one run, to check that it still runs). N signed
message events, as Slack sends them into a report channel, go to the Slack adapter's request
handler (`SlackTransport.handle_http`) 50 at a time, as aiohttp hands it concurrent requests: each
is checked, translated and committed to the inbox of a fresh SQLite file before its 200. It prints
the CPU time per event two ways:
  - `direct`: the way the adapter takes message events (`_message_event`);
  - `bolt`: the same requests through bolt's `async_dispatch`, the way everything else goes.
Nothing is handled or sent: `replies.py` measures the whole bot, and `handling.py` handling.
Parsing HTTP and writing the response (aiohttp's part) are the same both ways and left out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from unittest import mock

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from intake import SECRET, signed
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.adapters.slack import SlackTransport
from bot.adapters.slack_config import SLACK, SlackConfig, SlackMode
from bot.app import sync_schools
from bot.clock import SystemClock
from bot.router import Router
from handlers.settings import (
    Config,
    FollowUp,
    SchoolConfig,
    SchoolPlaces,
    Secret,
    ServerConfig,
    StorageConfig,
)
from storage.store import open_store

CHANNEL = "CBENCH"  # where `intake.signed` posts
AT_ONCE = 50


def config(database: Path) -> Config:
    """One school with one report channel, Slack in HTTP mode. The Web API address is a closed
    port: the adapter asks it only for display names, once a person, after the 200."""
    return Config(
        schools=(
            SchoolConfig(
                name="Bench School",
                places={
                    SLACK: SchoolPlaces(
                        report_places=(CHANNEL,),
                        leads=("ULEAD",),
                        digest_place="CLEADS",
                        follow_up=FollowUp.THREAD,
                    )
                },
            ),
        ),
        storage=StorageConfig(database=database),
        server=ServerConfig(host="127.0.0.1", port=0),
        transports={
            SLACK: SlackConfig(
                mode=SlackMode.HTTP,
                api_url="http://127.0.0.1:9/api/",
                bot_token=Secret("xoxb-bench-token"),
                signing_secret=Secret(SECRET),
            )
        },
    )


def request(n: int, way: str) -> web.Request:
    """The n-th signed message event, exactly as `intake.py` sends it, as aiohttp hands it over."""
    body, headers = signed(n, way)
    payload = StreamReader(mock.Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    payload.feed_data(body)
    payload.feed_eof()
    return make_mocked_request("POST", "/slack/events", headers=headers, payload=payload)


async def run_once(folder: Path, events: int, way: str) -> float:
    """CPU seconds per event taken `way` in, on a fresh database."""
    settings = config(folder / "casebook.db")
    database = await open_store(settings.storage.target)
    try:
        await sync_schools(database, settings)
        router = Router(database, settings, SystemClock(), frozenset({SLACK}))
        transport = SlackTransport(settings, router, lambda: None)

        async def through_bolt(incoming: web.Request) -> web.Response:
            return await to_aiohttp_response(
                await transport.app.async_dispatch(await to_bolt_request(incoming))
            )

        ways: dict[str, Callable[[web.Request], Awaitable[web.Response]]] = {
            "direct": transport.handle_http,
            "bolt": through_bolt,
        }
        requests = [request(n, way) for n in range(events)]
        gc.collect()
        started = time.process_time()
        for first in range(0, events, AT_ONCE):
            answers = await asyncio.gather(*map(ways[way], requests[first : first + AT_ONCE]))
            if any(answer.status != 200 for answer in answers):
                raise RuntimeError(f"{way}: not every event was acknowledged")
        return (time.process_time() - started) / events
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="50 events, one run: does it run?")
    args = parser.parse_args()
    if args.smoke:
        args.events, args.runs = 50, 1
    spent: dict[str, list[float]] = {"direct": [], "bolt": []}
    for _ in range(args.runs):
        for name, ms in spent.items():
            with tempfile.TemporaryDirectory(prefix="casebook-slack-intake-") as folder:
                ms.append(asyncio.run(run_once(Path(folder), args.events, name)) * 1000)
        print("  ".join(f"{name} {ms[-1]:.3f} ms CPU an event" for name, ms in spent.items()))
    print(
        f"median of {args.runs}: "
        + ", ".join(f"{name} {statistics.median(ms):.3f} ms" for name, ms in spent.items())
    )


if __name__ == "__main__":
    main()
