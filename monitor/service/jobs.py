"""The daemon's scheduled work: polls, the rule tick, retention, digests, and the outbox loop.

A mixin of Daemon (service/daemon.py), which owns the attributes declared here; split out so that the
lifecycle and the jobs read apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.alerts.digests import build_digest
from monitor.clock import Clock, scheduler_time
from monitor.engine.poll import poll_once
from monitor.service.metrics import Metrics
from monitor.service.systemd import Notifier
from monitor.service.wiring import Runtime
from monitor.slack.outbox import OutboxWorker
from monitor.sources import SourceError
from monitor.store import Store

logger = logging.getLogger("monitor.service.daemon")
TICK_SOON = 0.5  # seconds from a poll that stored news to the rule tick that judges it
STORAGE_RETRY = 5.0  # seconds before the outbox tries the database again after a failed write
Job = Callable[..., Coroutine[Any, Any, None]]
JobSpec = tuple[Job, Any, tuple[Any, ...], float | None, int | None]


class Jobs:
    """Polls, ticks, retention, digests and outbox delivery, as the scheduler runs them."""

    clock: Clock
    runtime: Runtime
    store: Store
    scheduler: AsyncIOScheduler
    metrics: Metrics
    notifier: Notifier
    outbox: OutboxWorker
    stop: asyncio.Event
    outbox_wake: asyncio.Event
    in_flight: set[asyncio.Task[Any]]
    storage_error: str | None  # why the database cannot be written, while it cannot
    status_line: Callable[[], str]  # the one-line status systemd shows

    def _tracked(self, coro: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Coroutine[Any, Any, None]]:
        async def job(*args: Any) -> None:
            task = asyncio.current_task()
            if task is not None:
                self.in_flight.add(task)
            try:
                await coro(*args)
            except sqlite3.Error as exc:
                self.storage_failed(exc)
            except asyncio.CancelledError:
                if not self.stop.is_set():
                    raise
                # Cut off by a shutdown that waited SHUTDOWN_TIMEOUT for it: said here in one line, not
                # by APScheduler as a traceback per job. Its cursor did not move: nothing is lost.
                logger.info("shutdown: %s%s cut off", coro.__name__, f" {args}" if args else "")
            finally:
                if task is not None:
                    self.in_flight.discard(task)

        return job

    def storage_failed(self, exc: sqlite3.Error) -> None:
        """A write failed (disk full, read-only file): its transaction rolled back whole, nothing half-written.

        Logged once until a poll stores again; polls fetch the same pages again (their cursors did not
        advance) and alerts wait in the outbox.
        """
        if self.storage_error is None:
            logger.error(
                "%s: cannot write to the database (%s): nothing was half-written; polls and alerts"
                " wait and retry until it can be written again (free disk space, check permissions)",
                self.runtime.config.database,
                exc,
            )
        self.storage_error = str(exc)  # /healthz is degraded until a write succeeds

    def storage_ok(self) -> None:
        """A write succeeded: log the recovery once."""
        if self.storage_error is not None:
            self.storage_error = None
            logger.warning("%s: the database can be written again", self.runtime.config.database)

    async def poll(self, source_name: str, brand_id: str, query: str) -> None:
        """One scheduled poll; errors are recorded in the source's health, never raised."""
        runtime = self.runtime
        source, health, brand = (
            runtime.sources[source_name],
            runtime.health[source_name],
            runtime.config.brand(brand_id),
        )
        now = self.clock()
        if brand is None or not health.ready(now) or self.stop.is_set():
            return
        started = time.perf_counter()
        try:
            result = await poll_once(source, brand, query, runtime.engine, now)
        except SourceError as exc:
            health.failed(exc, self.clock())
            return
        except sqlite3.Error:
            raise  # the database's fault, not the source's (see storage_failed)
        except Exception as exc:  # a source's bug, or an answer no parser foresaw
            # Handled as a bad answer: the source backs off and the others carry on. The traceback
            # is logged once, when the source starts failing, not on every poll.
            if health.failing_since is None:
                logger.exception("%s: unexpected error in a poll (a bug: please report it)", source_name)
            health.failed(SourceError(f"unexpected {type(exc).__name__} in a poll"), self.clock())
            return
        finally:
            self.metrics.poll_seconds.labels(source_name).observe(time.perf_counter() - started)
        self.storage_ok()
        health.succeeded(self.clock())
        runtime.engine.mark_watched(brand_id, result.covered_from, now)
        self.metrics.mentions.labels(brand_id, source_name).inc(result.stored)
        health.polls += 1
        health.fetched += result.fetched
        if result.stored:
            logger.debug("%s %r: %d new mention(s) for %s", source_name, query, result.stored, brand_id)
            self.tick_soon()

    def tick_soon(self) -> None:
        """Bring the rule tick forward to TICK_SOON from now: new mentions are judged within a second,
        not up to a tick later (the latency a user sees is poll to Slack). Polls that land together
        are judged together (one alert, not an opening and an update a moment later); the tick is
        only ever brought forward, so a steady stream of news cannot put it off. Ticks never overlap."""
        if not self.scheduler.running or self.stop.is_set():
            return
        job = self.scheduler.get_job("tick")
        when = scheduler_time(TICK_SOON)
        if job is not None and (job.next_run_time is None or job.next_run_time > when):
            with contextlib.suppress(JobLookupError):
                job.modify(next_run_time=when)

    async def retention(self) -> None:
        """Delete what is older than keep_days, once a day."""
        keep_days = self.runtime.config.keep_days
        pruned = self.store.prune(self.clock() - keep_days * 86400)
        if pruned.mentions or pruned.incidents:
            logger.info(
                "retention: deleted %d mention(s) and %d incident(s) older than %d days, freed %d page(s)",
                pruned.mentions,
                pruned.incidents,
                keep_days,
                pruned.pages_freed,
            )

    async def digest(self, period: str) -> None:
        """Write each brand's digest for the period ending now to the outbox."""
        config, now = self.runtime.config, self.clock()
        for brand in config.brands:
            event = build_digest(self.store, brand, period, now, config.zone)
            with self.store.transaction():
                self.store.enqueue(event["incident"], event, now)
        self.outbox_wake.set()

    async def tick(self) -> None:
        """One rule tick; wakes the outbox worker when it produced alerts."""
        if self.stop.is_set():
            return
        with self.metrics.tick_seconds.time():
            events = self.runtime.engine.tick(self.clock())
        if events:
            self.outbox_wake.set()
        self.notifier.status(self.status_line())

    def schedule(self) -> None:
        """Create the jobs the runtime needs. A job that exists already keeps its next run (a reload polls
        nothing early); one whose interval changed runs next at its last run plus the new interval (or
        now, if that is past). New polls are staggered from now, 0.2 s apart; jobs no longer needed go."""
        wanted = self._wanted_jobs()
        existing = {job.id: job for job in self.scheduler.get_jobs()}
        for job_id in existing.keys() - wanted.keys():
            self.scheduler.remove_job(job_id)
        stagger = 0.0
        for job_id, (func, trigger, args, first, grace) in wanted.items():
            job = existing.get(job_id)
            if job is None:
                if first is None:
                    first, stagger = stagger, stagger + 0.2
                kwargs = {} if first < 0 else {"next_run_time": scheduler_time(first)}
                self.scheduler.add_job(
                    func,
                    trigger,
                    args=args,
                    id=job_id,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=grace,
                    **kwargs,
                )
            elif str(job.trigger) != str(trigger):
                job.modify(trigger=trigger, next_run_time=_next_run(job, trigger))

    def _wanted_jobs(self) -> dict[str, JobSpec]:
        """id -> (function, trigger, args, first run in seconds from now (None: staggered; -1: the
        trigger's own), misfire grace) for every job the runtime needs."""
        runtime, wanted = self.runtime, dict[str, JobSpec]()
        poll = self._tracked(self.poll)
        for name in runtime.sources:
            trigger = IntervalTrigger(seconds=runtime.config.sources[name].interval.total_seconds())
            for brand in runtime.config.brands:
                for query in brand.queries:
                    wanted[f"poll:{name}:{brand.id}:{query}"] = (poll, trigger, (name, brand.id, query), None, None)
        polls = len(wanted)
        tick = IntervalTrigger(seconds=runtime.config.tick.total_seconds())
        wanted["tick"] = (self._tracked(self.tick), tick, (), polls * 0.2 + 0.5, None)
        digests = runtime.config.digests
        for period, when in (("daily", digests.daily), ("weekly", digests.weekly)):
            if when is None:
                continue
            day, hour, minute = ("*", *when) if period == "daily" else when
            trigger = CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=runtime.config.zone)
            wanted[f"digest:{period}"] = (self._tracked(self.digest), trigger, (period,), -1.0, 3600)
        wanted["retention"] = (self._tracked(self.retention), IntervalTrigger(days=1), (), 60.0, None)
        return wanted

    async def outbox_loop(self) -> None:
        """Deliver alerts as they are written, and retry waiting ones when their time comes."""
        while not self.stop.is_set():
            try:
                await self.outbox.drain()
                due = self.outbox.next_due()
            except sqlite3.Error as exc:
                self.storage_failed(exc)
                due = self.clock() + STORAGE_RETRY
            timeout = 60.0 if due is None else max(0.05, min(60.0, due - self.clock()))
            self.outbox_wake.clear()
            if self.stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox_wake.wait(), timeout)


def _next_run(job: Any, trigger: Any) -> datetime | None:
    """For a job whose trigger changed: an interval job runs at its last run plus the new interval (now
    at the earliest), so a shorter interval is not a poll before its time; a cron job at its next time."""
    if job.next_run_time is None:
        return None
    if isinstance(trigger, IntervalTrigger) and isinstance(job.trigger, IntervalTrigger):
        last: datetime = job.next_run_time - job.trigger.interval
        interval: timedelta = trigger.interval
        return max(last + interval, scheduler_time(0.0))
    result: datetime | None = trigger.get_next_fire_time(None, scheduler_time(0.0))
    return result
