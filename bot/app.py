"""The composition root: builds storage, router, worker and transports from config; runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, TextIO

from bot import join_page
from bot import web as web_server
from bot.adapters.chat import ChatTransport
from bot.adapters.console import ConsoleTransport
from bot.adapters.console_config import CONSOLE
from bot.adapters.slack import SlackTransport
from bot.adapters.slack_config import SLACK
from bot.adapters.teams.config import TEAMS
from bot.adapters.teams.transport import TeamsTransport
from bot.adapters.telegram import TelegramTransport
from bot.adapters.telegram_config import TELEGRAM
from bot.clock import Clock, SystemClock
from bot.delivery import Delivery, Sender
from bot.guarded_server import AcceptReports, GuardedServer, serve_guarded
from bot.health import Health
from bot.invitations import InvitingSender
from bot.metrics import Metrics
from bot.pump import Pump
from bot.router import Router
from bot.scheduler import Scheduler
from bot.schools import LiveSchools, refuse_clashes
from bot.tasks import Background
from handlers.events import Transport
from handlers.settings import Config
from storage.store import Store, open_store

log = logging.getLogger(__name__)

SCHEDULER_INTERVAL = 60.0  # seconds between reminder rounds; tests with a fake clock go faster


# Each chat transport's adapter, by the transport its config section reads.
ADAPTERS: Mapping[Transport, Callable[[Config, Router, Callable[[], None]], ChatTransport]] = {
    SLACK: SlackTransport,
    TELEGRAM: TelegramTransport,
    TEAMS: TeamsTransport,
}


async def sync_schools(database: Store, config: Config) -> None:
    """Every configured school has a row, so cases can refer to it; none is also in the
    database's own list."""
    async with database.transaction() as unit:
        await refuse_clashes(unit, config)
        for school in config.schools:
            await unit.schools.ensure(school.name, school.timezone)


def transports_of(config: Config) -> frozenset[Transport]:
    """The chat transports the config has a section for, or else the terminal."""
    return frozenset(config.transports) or frozenset({CONSOLE})


async def run_console(
    config: Config, stdin: BinaryIO, stdout: TextIO, clock: Clock | None = None
) -> None:
    """The terminal transport on the configured database until EOF."""
    clock = clock or SystemClock()
    database = await open_store(config.storage.target)
    try:
        await sync_schools(database, config)
        console = ConsoleTransport(config.schools[0], stdout, Path.cwd())
        senders: dict[Transport, Sender] = {CONSOLE: InvitingSender(console, database, clock)}
        router = Router(database, config, clock, frozenset(senders))
        delivery = Delivery(database, clock, senders)
        await delivery.take_back_claims()
        # Finish whatever a previous run stored but did not get to, before reading anything new.
        handled = await router.process_pending()
        await delivery.flush()
        flushes = Background()
        scheduler = Scheduler(
            database,
            config,
            clock,
            frozenset(senders),
            lambda: flushes.start(delivery.flush()),
            leadership=database.leadership(),
        )
        scheduler.start()
        try:
            # A report handled just now has asked its question; otherwise ask the waiting one.
            await console.run(stdin, router, delivery, resume=handled == 0)
        finally:
            await scheduler.shutdown()
            await flushes.close(cancel=False)
    finally:
        await database.close()


async def run_chat(
    config: Config,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[int], None] | None = None,
    scheduler_interval: float = SCHEDULER_INTERVAL,
) -> None:
    """The configured chat transports, the HTTP server (health, metrics and any webhooks) and
    the worker, until stopped. Nothing here waits on a platform: transports connect in the
    background, and SIGTERM stops everything within seconds whatever the network does."""
    clock = clock or SystemClock()
    stop = stop or _stop_on_signals()
    database = await open_store(config.storage.target)
    runner: GuardedServer | None = None
    chats: list[ChatTransport] = []
    worker: asyncio.Task[None] | None = None
    reloading: asyncio.Task[None] | None = None
    scheduler: Scheduler | None = None
    try:
        await sync_schools(database, config)
        metrics = Metrics()
        schools = LiveSchools(config)
        await schools.load(database)
        router = Router(database, config, clock, transports_of(config), metrics, schools)
        senders: dict[Transport, Sender] = {}
        delivery = Delivery(database, clock, senders, metrics)
        pump = Pump(router, delivery)
        chats = _chat_transports(config, router, pump.wake)
        routes: dict[str, web_server.Handler] = {}
        for chat in chats:
            senders[chat.transport] = InvitingSender(chat.sender, database, clock)
            routes.update(chat.routes)
        state = Health(database, delivery, chats, clock)

        async def health() -> tuple[bool, dict[str, object]]:
            running = worker is not None and not worker.done()
            ticking = scheduler is not None and scheduler.running
            return await state.check(worker=running, scheduler=ticking)

        # Always served, whatever the transports: /healthz and /metrics are for the IT person.
        asyncio.get_running_loop().set_exception_handler(AcceptReports())
        pages: dict[str, web_server.Handler] = {
            join_page.JOIN: join_page.handler(lambda: _join_page(chats))
        }
        for chat in chats:
            if isinstance(chat, SlackTransport):  # the OAuth install's GET pages
                pages.update(chat.pages)
        runner = await serve_guarded(
            web_server.build(routes, health, metrics, pages), config.server.host, config.server.port
        )
        port = runner.port
        log.info("listening on %s:%s", config.server.host, port)
        for chat in chats:
            await chat.start()
        await delivery.take_back_claims()
        worker = asyncio.create_task(pump.run(stop))
        reloading = asyncio.create_task(schools.keep_loading(database, stop))
        scheduler = Scheduler(
            database,
            config,
            clock,
            transports_of(config),
            pump.wake,
            interval=scheduler_interval,
            metrics=metrics,
            leadership=database.leadership(),
            schools=schools,
        )
        scheduler.start()
        if on_ready is not None:
            on_ready(port)
        await stop.wait()
    finally:
        stop.set()
        if scheduler is not None:
            await scheduler.shutdown()
        if runner is not None:
            await runner.cleanup()
        for chat in chats:
            await chat.stop()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if reloading is not None:
            await reloading
        await database.close()


def _chat_transports(
    config: Config, router: Router, wake: Callable[[], None]
) -> list[ChatTransport]:
    return [ADAPTERS[transport](config, router, wake) for transport in config.transports]


def _join_page(chats: list[ChatTransport]) -> join_page.JoinPage:
    """What /join offers: Slack's install button when `[slack] install = true`, Telegram's
    link once the bot's name is known, and where the Teams app comes from."""
    names = [chat.username for chat in chats if isinstance(chat, TelegramTransport)]
    slack = [chat for chat in chats if isinstance(chat, SlackTransport)]
    installable = any(chat.oauth for chat in slack)
    return join_page.JoinPage(
        slack_install=installable,
        telegram_bot=next((n for n in names if n), ""),
        teams=any(isinstance(chat, TeamsTransport) for chat in chats),
        slack=bool(slack) and not installable,
        telegram=any(isinstance(chat, TelegramTransport) for chat in chats),
    )


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
