"""Timed work: reminder rounds every minute, and each school's weekly digest on APScheduler.

The reminder round is a loop of its own that waits on the event loop's monotonic clock and asks
the wall clock (the injected Clock) only what is due. APScheduler 3 arms its asyncio timer on the
monotonic clock with a wall-clock difference, so a wall clock moved back an hour put the next
round an hour of real time away, and moving the clock forward again did not wake it. A digest
missed that way is still caught up by the next reminder round (`tick`).

APScheduler only decides *when* to look; *what* is due lives in the database (reminder rows with
due and sent times, digest rows keyed by school and ISO week). So a restart loses nothing, a job
that runs twice sends nothing twice, and after downtime every overdue reminder goes out once.
Where several processes share one database, only the leader (storage/leadership.py) runs jobs;
the others keep their timers but skip each job, and the first to take over runs a round at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.metrics import Metrics
from bot.schools import LiveSchools
from handlers import digest, privacy, reminders, report_folds
from handlers.events import Transport
from handlers.settings import WEEKDAYS, Config, SchoolConfig
from storage.leadership import Leadership, SoleLeadership
from storage.store import Store

log = logging.getLogger(__name__)

DIGEST_CATCH_UP = timedelta(days=2)  # a digest missed by downtime is still sent this long after
SHUTDOWN_GRACE = 10.0  # seconds a running job may take to finish when the bot stops


async def send_due_reminders(
    database: Store, config: Config, now: datetime, transports: frozenset[Transport]
) -> int:
    """Queue every due reminder's messages, and every due fold of a flood of reports, in the
    outbox; returns how many messages."""
    async with database.transaction() as unit:
        messages = await reminders.send_due(unit, now, config, transports)
        messages += await report_folds.send_due(unit, now, transports)
        await unit.outbox.add_many([message.outbox_row() for message in messages], now)
    return len(messages)


async def send_weekly_digest(
    database: Store,
    config: Config,
    school: SchoolConfig,
    now: datetime,
    transports: frozenset[Transport],
    end: datetime | None = None,
) -> bool:
    """Queue a school's digest (by default the one scheduled last) unless its ISO week's digest
    was sent already; True if queued."""
    if end is None:
        end = digest.digest_time(now, school, config)
        if end > now:
            end -= timedelta(days=7)  # before this week's digest time: last week's is due
    year, week = digest.week_key(end, school)
    async with database.transaction() as unit:
        row = await unit.schools.by_name(school.name)
        if row is None:
            return False
        built = await digest.build(unit, row, school, end)
    chart = None
    if config.digest.chart:
        chart = await asyncio.to_thread(digest.chart_png, built)
    async with database.transaction() as unit:
        if not await unit.reminders.claim_digest(row.id, year, week, now):
            return False
        messages = digest.outgoing(built, school, transports, chart)
        await unit.outbox.add_many([message.outbox_row() for message in messages], now)
    log.info("weekly digest queued for school %s (week %s-%s)", row.id, year, week)
    return True


class Scheduler:
    def __init__(
        self,
        database: Store,
        config: Config,
        clock: Clock,
        transports: frozenset[Transport],
        wake: Callable[[], None],
        interval: float = 60.0,
        metrics: Metrics | None = None,
        leadership: Leadership | None = None,
        schools: LiveSchools | None = None,
    ) -> None:
        self._schools = schools or LiveSchools(config)
        self._metrics = metrics or Metrics()
        self._leadership = leadership or SoleLeadership()
        self._database = database
        self._clock = clock
        self._transports = transports
        self._wake = wake
        self._interval = interval
        self._scheduler: AsyncIOScheduler | None = None
        self._rounds: asyncio.Task[None] | None = None
        self._round_now = asyncio.Event()  # a round at once, not at the next interval
        self._stopping = False
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        for school in self._config.schools:
            scheduler.add_job(
                self._run,
                CronTrigger(
                    day_of_week=WEEKDAYS[self._config.digest.day],
                    hour=self._config.digest.time.hour,
                    minute=self._config.digest.time.minute,
                    timezone=school.zone,
                ),
                args=[self.digest, school.name],
                id=f"digest:{school.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(DIGEST_CATCH_UP.total_seconds()),
            )
        scheduler.add_job(
            self._run,
            CronTrigger(hour=3, minute=15, timezone=UTC),
            args=[self.purge],
            id="retention",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(DIGEST_CATCH_UP.total_seconds()),
        )
        scheduler.start()
        self._scheduler = scheduler
        self._rounds = asyncio.create_task(self._reminder_rounds())
        self._leadership.start(self._run_round_now)

    def _run_round_now(self) -> None:
        """A process that has just become leader catches up at once, not at its next tick."""
        self._round_now.set()

    async def _reminder_rounds(self) -> None:
        """A round now, then one every `interval` seconds of the monotonic clock (or at once
        when asked), until shutdown. However the wall clock moves, the next round is never
        more than `interval` away; the wall clock only says what is due in it."""
        while not self._stopping:
            self._round_now.clear()
            try:
                await self._run(self.tick)
            except Exception as error:  # leadership's check failed: the next round asks again
                log.error("reminder round failed: %s", type(error).__name__)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._round_now.wait()

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Start no more jobs, let a running one finish (up to `grace` seconds), then stop.

        APScheduler's own shutdown cancels a running job halfway: its transaction would roll
        back and be logged as a failure, to be done again at the next start.
        """
        self._stopping = True
        self._round_now.set()  # a round loop waiting for its next round ends now
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._idle.wait()
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._rounds is not None:
            self._rounds.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rounds
        await self._leadership.close()  # after the last job: another process may lead now

    async def _run(self, job: Callable[..., Awaitable[object]], *args: str) -> None:
        """Every job runs through here, so shutdown knows when none is running, and only the
        leader runs any."""
        self._running += 1
        self._idle.clear()
        try:
            if await self._leadership.confirm():
                await job(*args)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    @property
    def _config(self) -> Config:
        """The schools as last loaded: those that joined from the chat since start-up too (their
        digests go out from `tick`, which catches up on any digest due in the last two days)."""
        return self._schools.config

    @property
    def running(self) -> bool:
        rounds = self._rounds is not None and not self._rounds.done()
        return rounds and self._scheduler is not None and bool(self._scheduler.running)

    @property
    def leading(self) -> bool:
        return self._leadership.leading

    async def tick(self) -> int:
        """Due reminders, and any digest missed while the bot was down."""
        now = self._clock.now()
        try:
            await self._schools.load(self._database)
            queued = await send_due_reminders(self._database, self._config, now, self._transports)
            self._metrics.count("reminders_sent", queued)
            for school in self._config.schools:
                moment = digest.digest_time(now, school, self._config)
                if moment <= now < moment + DIGEST_CATCH_UP:
                    queued += await send_weekly_digest(
                        self._database, self._config, school, now, self._transports
                    )
        except Exception as error:
            log.error("reminder round failed: %s", type(error).__name__)
            return 0
        if queued:
            self._wake()
        return queued

    async def purge(self) -> int:
        """The daily retention run: anonymise closed cases past `closed_case_days`."""
        now = self._clock.now()
        try:
            async with self._database.transaction() as unit:
                plan = await privacy.purge_plan(unit, self._config, now)
                await privacy.purge(unit, plan, now)
            if plan:
                await self._database.compact()
                log.info("retention: anonymised %s cases", len(plan))
        except Exception as error:
            log.error("retention run failed: %s", type(error).__name__)
            return 0
        return len(plan)

    async def digest(self, school_name: str) -> None:
        school = self._config.school(school_name)
        if school is None:
            return
        try:
            sent = await send_weekly_digest(
                self._database, self._config, school, self._clock.now(), self._transports
            )
        except Exception as error:
            log.error("digest failed: %s", type(error).__name__)
            return
        if sent:
            self._wake()
