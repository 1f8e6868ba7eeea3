"""The composition root: builds storage, router, delivery and transports from config; runs them."""

from __future__ import annotations

import logging
from typing import BinaryIO, TextIO

from bot.adapters.console import ConsoleTransport
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.delivery import Delivery, Sender
from bot.events import Transport
from bot.router import Router
from storage.db import Database

log = logging.getLogger(__name__)


async def sync_schools(database: Database, config: Config) -> None:
    """Every configured school has a row, so cases can refer to it."""
    async with database.transaction() as unit:
        for school in config.schools:
            await unit.schools.ensure(school.name, school.timezone)


async def run_console(
    config: Config, stdin: BinaryIO, stdout: TextIO, clock: Clock | None = None
) -> None:
    """The terminal transport on the configured database until EOF."""
    clock = clock or SystemClock()
    database = await Database.open(config.storage.database)
    try:
        await sync_schools(database, config)
        console = ConsoleTransport(config.schools[0], stdout)
        senders: dict[Transport, Sender] = {Transport.CONSOLE: console}
        router = Router(database, config, clock, frozenset(senders))
        delivery = Delivery(database, clock, senders)
        # Finish whatever a previous run stored but did not get to, before reading anything new.
        await router.process_pending()
        await delivery.flush()
        await console.run(stdin, router, delivery)
    finally:
        await database.close()
