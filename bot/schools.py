"""The schools a running Casebook serves: the config file's and the database's, as one Config.

Handlers, adapters and the scheduler read `Config.schools`; this keeps that list current. The
database's schools are reloaded only when its change counter has moved (one small read per
batch of events, or per scheduler round), so a place claimed from the chat, in this process or
another sharing the database, is in use from the next batch on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.adapters.teams.config import TEAMS
from handlers import hosting
from handlers.settings import Config, ConfigError, FollowUp
from storage.store import Store
from storage.unit import Unit

log = logging.getLogger(__name__)

# A Teams school's reports are followed up in their thread, as the config file's default is:
# a chat with the bot needs the app installed for each member of staff too.
HOSTED_FOLLOW_UPS = {TEAMS: FollowUp.THREAD}
RELOAD_SECONDS = 5.0  # how often a running process looks for other processes' changes
MISS_SECONDS = 1.0  # how often a message from a chat of no school may make it look at once


class LiveSchools:
    def __init__(self, config: Config) -> None:
        self._file = config
        self._config = config
        self._version: int | None = None
        self._hosted = 0
        self._looked = 0.0  # time.monotonic() of the last look prompted by an unknown chat

    @property
    def config(self) -> Config:
        """The config with the database's schools as they were last loaded."""
        return self._config

    @property
    def hosting(self) -> bool:
        """Schools join from the chat here: the file lists none, or the database holds some."""
        return not self._file.schools or self._hosted > 0

    async def refresh(self, unit: Unit) -> Config:
        """Reload the database's schools if they changed since last time."""
        version = await unit.hosted.version()
        if version != self._version:
            hosted = await hosting.hosted_schools(unit, HOSTED_FOLLOW_UPS)
            clashes = hosting.clashes(self._file, [school.name for school in hosted])
            if clashes:
                log.error("schools both in the config file and the database: %s", clashes)
            self._config = hosting.with_hosted(self._file, hosted)
            self._hosted = len(hosted)
            self._version = version
        return self._config

    async def load(self, database: Store) -> Config:
        async with database.reading() as unit:
            return await self.refresh(unit)

    async def load_on_miss(self, database: Store) -> bool:
        """A message came from a chat of no school: look again at once (at most once a
        MISS_SECONDS), in case another process has just seen the chat claimed. True if the
        schools changed."""
        now = time.monotonic()
        if now - self._looked < MISS_SECONDS:
            return False
        self._looked = now
        before = self._config
        return await self.load(database) is not before

    async def keep_loading(self, database: Store, stop: asyncio.Event) -> None:
        """Look for other processes' changes every RELOAD_SECONDS until `stop`."""
        while not stop.is_set():
            try:
                await self.load(database)
            except Exception as error:  # the database's trouble shows in /healthz, not here
                log.warning("cannot reload the schools: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RELOAD_SECONDS)


async def refuse_clashes(unit: Unit, config: Config) -> None:
    """A school lives in the file or in the database, never both."""
    names = [school.name for school in await unit.hosted.schools()]
    clashes = hosting.clashes(config, names)
    if clashes:
        raise ConfigError(
            f"{', '.join(repr(n) for n in clashes)}: in the config file's [[schools]] and also "
            "added with `casebook school add`; a school lives in one of them. Remove it from "
            "the file, or remove it from the database with `casebook school remove`."
        )
