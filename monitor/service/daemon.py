"""The daemon: wiring of store, engine, sources, scheduler and delivery; signals, reload, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.clock import Clock, scheduler_time
from monitor.config import Config
from monitor.engine.core import Engine
from monitor.engine.poll import SourceHealth, poll_once
from monitor.errors import InvalidFiles
from monitor.loading import load_all
from monitor.rules import Rule
from monitor.rules.detectors import Failure
from monitor.sentiment import Scorer
from monitor.service.health import HealthServer, Metrics, Snapshot
from monitor.service.ingest_endpoint import IngestError, Item, ingest_app
from monitor.service.shard import Shard, for_shard
from monitor.service.systemd import Notifier
from monitor.service.watch import FileWatch
from monitor.service.wiring import Runtime, build_sources, ingest_items, make_delivery, vet_ingest
from monitor.slack.interactions import Interactions
from monitor.slack.outbox import Delivery, OutboxWorker
from monitor.slack.socketmode import SocketMode
from monitor.sources import SOURCES, SourceError
from monitor.sources.quota import budget_lines
from monitor.store import DaemonLock, Store

logger = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 10.0
WATCH_INTERVAL = 2.0
TICK_SOON = 0.5  # seconds from a poll that stored news to the rule tick that judges it
STORAGE_RETRY = 5.0  # seconds before the outbox tries the database again after a failed write


class Daemon:
    """Runs until stopped: polls, rule ticks and alert delivery, with reload on SIGHUP."""

    def __init__(
        self,
        config: Config,
        rules: list[Rule],
        config_path: Path | None = None,
        *,
        clock: Clock,
        delivery: Delivery | None = None,
    ) -> None:
        self.config_path = config_path
        self.shard: Shard | None = None  # set by run(): a reload cuts the new config to it again
        self.clock = clock
        # One daemon per database (a second one would post every alert twice): refused at once.
        self.lock = DaemonLock(config.database)
        if str(config.database) != ":memory:":
            self.lock.acquire()
        try:
            self.store = Store.open(config.database)
        except BaseException:
            self.lock.release()
            raise
        self.scorer = Scorer.of(config)
        self.stop = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.outbox_wake = asyncio.Event()
        self.delivery = delivery or make_delivery(config)
        self._remember_channel()
        self.outbox = OutboxWorker(self.store, self.delivery, clock)
        self.session = aiohttp.ClientSession()
        self.runtime = self._runtime(config, rules)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.started_at = clock()
        self.reloaded = asyncio.Event()
        self.watch = FileWatch(config_path, config.rules_dir) if config_path is not None else None
        self.notifier = Notifier()
        self.metrics = Metrics(self.snapshot)
        self.health_server = HealthServer(self.snapshot, self.metrics)
        self.socket_mode: SocketMode | None = None
        self.ingest_runner: web.AppRunner | None = None
        self.ingest_port: int | None = None
        self.storage_failing = False

    def snapshot(self) -> Snapshot:
        """The daemon's state now, for health and metrics."""
        runtime = self.runtime
        return Snapshot(
            now=self.clock(),
            started_at=self.started_at,
            sources=dict(runtime.health),
            intervals={n: runtime.config.sources[n].interval.total_seconds() for n in runtime.sources},
            incidents_open=self.store.count_open_incidents(),
            outbox_depth=self.store.outbox_size(),
            outbox_oldest=self.store.outbox_oldest(),
            alerts_sent=self.outbox.sent,
            delivery_failures=self.outbox.failures,
        )

    def status_line(self) -> str:
        """The one-line status systemd shows."""
        snap = self.snapshot()
        failing = [n for n, h in snap.sources.items() if h.failing_since is not None or h.paused]
        text = (f"polling {len(snap.sources)} source(s), {snap.incidents_open} incident(s) open,"
                f" {snap.outbox_depth} alert(s) waiting")  # fmt: skip
        return text + (f"; failing: {', '.join(failing)}" if failing else "")

    def _remember_channel(self) -> None:
        # After a restart, the channel's id (needed to look for posts whose answer was lost) is the
        # one the last delivered incident went to.
        if getattr(self.delivery, "channel_id", "") is None:
            self.delivery.channel_id = self.store.last_channel()  # type: ignore[attr-defined]

    def _runtime(self, config: Config, rules: list[Rule]) -> Runtime:
        engine = Engine(config, rules, self.store, self.scorer)
        engine.watching = True
        for exclusion in self.store.exclusions():  # added from Slack: on top of config's
            engine.pipeline.exclude_more(exclusion.brand, [exclusion.term])
        read = engine.load_history(self.clock())
        logger.debug("history loaded: %d mentions", read)
        sources = build_sources(config, self.session, self.clock)
        health = {name: SourceHealth(name) for name in sources}

        def failures() -> dict[str, Failure]:  # silence rules read the sources' health
            return {n: Failure(h.failing_since, h.last_error) for n, h in health.items() if h.failing_since is not None}

        engine.source_failures = failures
        return Runtime(config, rules, engine, sources, health)

    # jobs

    def _tracked(self, coro: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Coroutine[Any, Any, None]]:
        async def job(*args: Any) -> None:
            task = asyncio.current_task()
            if task is not None:
                self.in_flight.add(task)
            try:
                await coro(*args)
            except sqlite3.Error as exc:
                self.storage_failed(exc)
            finally:
                if task is not None:
                    self.in_flight.discard(task)

        return job

    def storage_failed(self, exc: sqlite3.Error) -> None:
        """A write failed (disk full, read-only file): its transaction rolled back whole, nothing half-written.

        Logged once until a poll stores again; polls fetch the same pages again (their cursors did not
        advance) and alerts wait in the outbox.
        """
        if not self.storage_failing:
            self.storage_failing = True
            logger.error("%s: cannot write to the database (%s): nothing was half-written; polls and alerts"
                         " wait and retry until it can be written again (free disk space, check permissions)",
                         self.runtime.config.database, exc)  # fmt: skip

    def storage_ok(self) -> None:
        """A write succeeded: log the recovery once."""
        if self.storage_failing:
            self.storage_failing = False
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
            self.tickscheduler_time()

    def tickscheduler_time(self) -> None:
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
            logger.info("retention: deleted %d mention(s) and %d incident(s) older than %d days, freed %d page(s)",
                        pruned.mentions, pruned.incidents, keep_days, pruned.pages_freed)  # fmt: skip

    async def digest(self, period: str) -> None:
        """Write each brand's digest for the period ending now to the outbox."""
        from monitor.alerts.digests import build_digest

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
        """(Re)create every job from the current runtime."""
        self.scheduler.remove_all_jobs()
        runtime = self.runtime
        poll = self._tracked(self.poll)
        stagger = 0.0
        for name, source in runtime.sources.items():
            interval = runtime.config.sources[name].interval.total_seconds()
            for brand in runtime.config.brands:
                for query in brand.queries:
                    self.scheduler.add_job(
                        poll, IntervalTrigger(seconds=interval), args=(name, brand.id, query),
                        id=f"poll:{name}:{brand.id}:{query}", max_instances=1, coalesce=True,
                        next_run_time=scheduler_time(stagger), misfire_grace_time=None,
                    )  # fmt: skip
                    stagger += 0.2
            del source
        self.scheduler.add_job(
            self._tracked(self.tick), IntervalTrigger(seconds=runtime.config.tick.total_seconds()),
            id="tick", max_instances=1, coalesce=True, next_run_time=scheduler_time(stagger + 0.5),
            misfire_grace_time=None,
        )  # fmt: skip
        digests = runtime.config.digests
        for period, when in (("daily", digests.daily), ("weekly", digests.weekly)):
            if when is None:
                continue
            day, hour, minute = ("*", *when) if period == "daily" else when
            trigger = CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=runtime.config.zone)
            self.scheduler.add_job(self._tracked(self.digest), trigger, args=(period,), id=f"digest:{period}",
                                   max_instances=1, coalesce=True, misfire_grace_time=3600)  # fmt: skip
        self.scheduler.add_job(
            self._tracked(self.retention), IntervalTrigger(days=1), id="retention", max_instances=1,
            coalesce=True, next_run_time=scheduler_time(60.0), misfire_grace_time=None,
        )  # fmt: skip

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

    # ingest endpoint

    async def accept(self, items: list[Item]) -> int:
        """Store the mentions POST /ingest accepted, for their brands; how many were new."""
        stored = ingest_items(self.runtime.engine, items, self.clock())
        for scored in stored:
            self.metrics.mentions.labels(scored.brand, scored.mention.platform).inc()
        if stored:
            self.tickscheduler_time()
        return len(stored)

    async def start_ingest(self) -> bool:
        """Serve POST /ingest when [ingest] is configured; False (logged) when it cannot be."""
        settings = self.runtime.config.ingest
        if not settings.enabled:
            return True
        config = self.runtime.config
        try:
            app = ingest_app(self.accept, settings.token_env, settings.max_body,
                             vet=lambda item: vet_ingest(self.runtime.config, item))  # fmt: skip
        except IngestError as exc:
            logger.error("%s: ingest.token_env: %s", config.path, exc)
            return False
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as exc:
            logger.error("ingest.listen: cannot listen on %s:%d: %s", settings.host, settings.port, exc.strerror)
            await runner.cleanup()
            return False
        self.ingest_runner = runner
        self.ingest_port = int(runner.addresses[0][1])
        logger.info("ingest endpoint on http://%s:%d/ingest", settings.host, self.ingest_port)
        return True

    async def stop_ingest(self) -> None:
        """Stop serving POST /ingest (requests under way finish first)."""
        runner, self.ingest_runner, self.ingest_port = self.ingest_runner, None, None
        if runner is not None:
            await runner.cleanup()

    # buttons

    async def start_socket_mode(self) -> None:
        """Carry button presses over Socket Mode when the app-level token is set (Slack delivery only)."""
        from monitor.slack.delivery import SlackDelivery

        config = self.runtime.config
        app_token = os.environ.get(config.slack.app_token_env, "")
        if not isinstance(self.delivery, SlackDelivery):
            return
        if not app_token:
            logger.warning("%s is not set: the alerts' buttons will not work (no Socket Mode)",
                           config.slack.app_token_env)  # fmt: skip
            return
        interactions = Interactions(
            self.store, self.delivery.client, config.zone, self.clock, excluded=self._excluded,
            config_exclusions=lambda brand: b.exclude if (b := self.runtime.config.brand(brand)) else (),
        )  # fmt: skip
        socket_mode = SocketMode(app_token, config.slack.base_url, interactions)
        if await socket_mode.start():
            self.socket_mode = socket_mode

    def _excluded(self, brand: str, term: str) -> None:
        self.runtime.engine.pipeline.exclude_more(brand, [term])

    async def stop_socket_mode(self) -> None:
        """Close the Socket Mode connection (presses being carried out finish first)."""
        socket_mode, self.socket_mode = self.socket_mode, None
        if socket_mode is not None:
            await socket_mode.close()

    # lifecycle

    async def reload(self) -> bool:
        """Re-read config and rules; swap them in only if all are valid."""

        if self.config_path is None:
            return False
        try:
            config, rules = load_all(str(self.config_path))
            if self.shard is not None:
                config = for_shard(config, self.shard)
        except ValueError as exc:  # the reloaded config leaves this shard no brand
            logger.error("reload refused, keeping the running config and rules: %s", exc)
            return False
        except InvalidFiles as exc:
            for problem in exc.problems:
                logger.error("reload refused, keeping the running config and rules: %s", problem)
            return False
        # Let polls in flight land first: the new engine's counts are rebuilt from the store.
        self.notifier.reloading()
        self.scheduler.pause()
        busy = {t for t in self.in_flight if not t.done()}
        if busy:
            await asyncio.wait(busy, timeout=SHUTDOWN_TIMEOUT)
        slack_changed = config.slack != self.runtime.config.slack
        if slack_changed:
            await self.stop_socket_mode()
            await self._close_delivery()
            self.delivery = make_delivery(config)
            self._remember_channel()
            self.outbox.delivery = self.delivery
            # Slack settings were fixed (a channel, a base URL): waiting alerts go now, not at their backoff.
            self.store.retry_outbox_now(self.clock())
            self.outbox_wake.set()
        if (config.sentiment, config.brand_lexicons) != (
            self.runtime.config.sentiment,
            self.runtime.config.brand_lexicons,
        ):
            self.scorer.close()  # its scoring workers, if a bulk ingest started them
            self.scorer = Scorer.of(config)
        old_ingest = self.runtime.config.ingest
        self.runtime = self._runtime(config, rules)
        if config.ingest != old_ingest:
            await self.stop_ingest()
            await self.start_ingest()
        if slack_changed:
            await self.start_socket_mode()
        if self.runtime.engine.close_orphans(self.clock()):
            self.outbox_wake.set()
        self.watch = FileWatch(self.config_path, config.rules_dir)
        self.schedule()
        self.scheduler.resume()
        self.notifier.ready(self.status_line())
        logger.warning("reloaded: %d brand(s), %d source(s), %d rule(s)",
                       len(config.brands), len(self.runtime.sources), len(rules))  # fmt: skip
        self.reloaded.set()
        return True

    async def watch_loop(self) -> None:
        """Reload when config or a rule file was edited (checked every WATCH_INTERVAL seconds)."""
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), WATCH_INTERVAL)
            if self.watch is not None and self.watch.changed():
                logger.info("config or rule files changed: reloading")
                self.reload_requested.set()

    async def run(self) -> int:
        """Run until stop is set; then shut down within a bounded time."""
        health = self.runtime.config.health
        if health.enabled:
            try:
                await self.health_server.start(health.host, health.port)
            except OSError as exc:
                logger.error("health.listen: cannot listen on %s:%d: %s", health.host, health.port, exc.strerror)
                await self.close()
                return 2
        if not await self.start_ingest():
            await self.close()
            return 2
        await self.start_socket_mode()
        loop = asyncio.get_running_loop()
        for sig, event in (
            (signal.SIGTERM, self.stop),
            (signal.SIGINT, self.stop),
            (signal.SIGHUP, self.reload_requested),
        ):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, event.set)
        self.schedule()
        self.scheduler.start()
        outbox = asyncio.create_task(self.outbox_loop())
        watcher = asyncio.create_task(self.watch_loop())
        watchdog = asyncio.create_task(self.watchdog_loop()) if self.notifier.watchdog_interval else None
        self.notifier.ready(self.status_line())
        runtime = self.runtime
        logger.info("running: %d brand(s), %d source(s), %d rule(s)",
                    len(runtime.config.brands), len(runtime.sources), len(runtime.rules))  # fmt: skip
        for line in budget_lines(runtime.config, SOURCES):
            logger.info("%s", line)
        try:
            while not self.stop.is_set():
                reload = asyncio.create_task(self.reload_requested.wait())
                stop = asyncio.create_task(self.stop.wait())
                await asyncio.wait({reload, stop}, return_when=asyncio.FIRST_COMPLETED)
                reload.cancel()
                stop.cancel()
                if self.reload_requested.is_set() and not self.stop.is_set():
                    self.reload_requested.clear()
                    await self.reload()
        finally:
            watcher.cancel()
            if watchdog is not None:
                watchdog.cancel()
            await self.shutdown(outbox)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        return 0

    async def shutdown(self, outbox: asyncio.Task[None]) -> None:
        """Stop scheduling, let in-flight work finish up to a timeout, then cancel and close."""
        self.notifier.stopping()
        self.stop.set()
        self.outbox_wake.set()
        # Paused, not shut down, while in-flight jobs finish: APScheduler's shutdown cancels the jobs
        # it runs at once, which cut off every poll under way (and logged each as a traceback).
        self.scheduler.pause()
        pending = {t for t in self.in_flight if not t.done()} | {outbox}
        _, cut = await asyncio.wait(pending, timeout=SHUTDOWN_TIMEOUT)
        for task in cut:
            task.cancel()
        self.scheduler.shutdown(wait=False)
        if cut:
            logger.warning("shutdown: cancelled %d task(s) still running after %.0fs", len(cut), SHUTDOWN_TIMEOUT)
            await asyncio.wait(cut, timeout=1.0)
        await self.close()
        logger.info("stopped")

    async def watchdog_loop(self) -> None:
        """Tell systemd we are alive, at half its watchdog timeout, while the event loop turns."""
        assert self.notifier.watchdog_interval is not None
        while not self.stop.is_set():
            self.notifier.watchdog()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.notifier.watchdog_interval)

    async def _close_delivery(self) -> None:
        close = getattr(self.delivery, "aclose", None)
        if close is not None:
            await close()

    async def close(self) -> None:
        """Close the servers, delivery, the HTTP session and the store, in reverse order of opening."""
        await self.stop_ingest()
        await self.stop_socket_mode()
        await self.health_server.stop()
        await self._close_delivery()
        await self.session.close()
        self.scorer.close()
        self.store.close()
        self.lock.release()


async def run(
    config: Config,
    rules: list[Rule],
    config_path: Path | None = None,
    *,
    clock: Clock,
    delivery: Delivery | None = None,
    shard: Shard | None = None,
) -> int:
    """Run the daemon until SIGTERM or SIGINT (as one shard: config already cut with for_shard)."""
    daemon = Daemon(config, rules, config_path, clock=clock, delivery=delivery)
    daemon.shard = shard
    return await daemon.run()
