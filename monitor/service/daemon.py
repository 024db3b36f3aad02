"""The daemon: wiring of store, engine, sources, scheduler and delivery; signals, reload, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.clock import Clock
from monitor.config import Config
from monitor.config.exposure import exposure_warnings
from monitor.engine.core import Engine
from monitor.engine.poll import SourceHealth
from monitor.engine.rescoring import history_check
from monitor.errors import Refused
from monitor.rules import Rule
from monitor.rules.detectors import Failure
from monitor.sentiment import Scorer
from monitor.service.health import HealthServer, Snapshot
from monitor.service.jobs import Jobs
from monitor.service.listen import Listener, cannot_bind
from monitor.service.listeners import Listeners
from monitor.service.metrics import Metrics
from monitor.service.reload import Reload
from monitor.service.shard import Shard
from monitor.service.systemd import Notifier
from monitor.service.watch import FileWatch
from monitor.service.wiring import Runtime, build_sources, make_delivery
from monitor.slack.outbox import Delivery, OutboxWorker
from monitor.slack.socketmode import SocketMode
from monitor.sources import SOURCES
from monitor.sources.quota import budget_lines
from monitor.store import DaemonLock, Store

logger = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT = 10.0
WATCH_INTERVAL = 2.0


class Daemon(Jobs, Listeners, Reload):
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
        self.stop = asyncio.Event()
        self.reload_requested = asyncio.Event()
        self.outbox_wake = asyncio.Event()
        self.reloaded = asyncio.Event()
        self.started = asyncio.Event()  # set once run() serves, polls and delivers
        # What is taken is given back, in reverse order, when a later step fails.
        with contextlib.ExitStack() as undo:
            # One daemon per database (a second one would post every alert twice): refused at once.
            self.lock = DaemonLock(config.database)
            if str(config.database) != ":memory:":
                self.lock.acquire()
                undo.callback(self.lock.release)
            self.store = Store.open(config.database, check=True)  # PRAGMA quick_check: damage stops us here
            undo.callback(self.store.close)
            self.scorer = Scorer.of(config)
            undo.callback(self.scorer.close)
            if delivery is None:
                self._refuse_another_destination(config)
            self.delivery = delivery or make_delivery(config)
            self._remember_channel()
            self.outbox = OutboxWorker(self.store, self.delivery, clock)
            engine = self._engine(config, rules)
            # Made last, and dropped unused if building the sources fails: no connection to close.
            self.session = aiohttp.ClientSession()
            undo.callback(self.session.detach)
            self.runtime = self._runtime(config, rules, engine)
            undo.pop_all()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.started_at = clock()
        self.watch = FileWatch(config_path, config.rules_dir) if config_path is not None else None
        self.notifier = Notifier()
        self.metrics = Metrics(self.snapshot)
        self.health_server = HealthServer(self.snapshot, self.metrics.render)
        self.socket_mode: SocketMode | None = None
        self.buttons: str | None = None
        self.buttons_retry: asyncio.Task[None] | None = None
        self.ingest: Listener | None = None
        self.storage_error: str | None = None

    def _refuse_another_destination(self, config: Config) -> None:
        """Alerts waiting in the outbox were written for Slack: without its token they are never printed
        to the console in its place (and deleted as delivered). A start without it is refused."""
        slack = config.slack
        console = not os.environ.get(slack.token_env) and not os.environ.get(slack.webhook_env)
        waiting = self.store.outbox_size() if console else 0
        if waiting:
            raise Refused(
                f"{slack.token_env} is not set (nor {slack.webhook_env}), and {waiting} alert(s) wait in the outbox"
                f" of {config.database} for Slack: set {slack.token_env} in the daemon's environment (under systemd,"
                " its EnvironmentFile) and start again; waiting alerts are never printed to the console instead"
            )

    def snapshot(self) -> Snapshot:
        """The daemon's state now, for health and metrics."""
        runtime = self.runtime
        listeners = {"health": self.health_server.listener, "ingest": self.ingest}
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
            storage_error=self.storage_error,
            buttons=self.buttons,
            listeners={name: listener.guard.counts for name, listener in listeners.items() if listener is not None},
        )

    def status_line(self) -> str:
        """The one-line status systemd shows."""
        snap = self.snapshot()
        failing = [n for n, h in snap.sources.items() if h.failing_since is not None or h.paused]
        text = (
            f"polling {len(snap.sources)} source(s), {snap.incidents_open} incident(s) open,"
            f" {snap.outbox_depth} alert(s) waiting"
        )
        return text + (f"; failing: {', '.join(failing)}" if failing else "")

    def _remember_channel(self) -> None:
        # After a restart, the channel's id (needed to look for posts whose answer was lost) is the
        # one the last delivered incident went to.
        if getattr(self.delivery, "channel_id", "") is None:
            self.delivery.channel_id = self.store.last_channel()  # type: ignore[attr-defined]

    def _engine(self, config: Config, rules: list[Rule], built: Engine | None = None) -> Engine:
        """The engine for config and rules (built: made already, off the event loop), primed from the store."""
        engine = built or Engine(config, rules, self.store, self.scorer)
        engine.watching = True
        for exclusion in self.store.exclusions():  # added from Slack: on top of config's
            engine.pipeline.exclude_more(exclusion.brand, [exclusion.term])
        read = engine.load_history(self.clock())
        logger.debug("history loaded: %d mentions", read)
        return engine

    async def watch_loop(self) -> None:
        """Reload when config or a rule file was edited (checked every WATCH_INTERVAL seconds)."""
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), WATCH_INTERVAL)
            if self.watch is not None and self.watch.changed():
                logger.info("config or rule files changed: reloading")
                self.reload_requested.set()

    def _runtime(self, config: Config, rules: list[Rule], engine: Engine, previous: Runtime | None = None) -> Runtime:
        """The runtime for config; after a reload (previous), each source whose settings are unchanged
        is the same object (its rate limits, sweeps and session), and every source keeps its health:
        failing_since, last_success and the poll counters carry on (silence rules read failing_since)."""
        sources = build_sources(config, self.session, self.clock)
        health = {name: SourceHealth(name) for name in sources}
        if previous is not None:
            for name in sources:
                same = previous.config.sources.get(name) == config.sources[name]
                if same and name in previous.sources and previous.config.user_agent == config.user_agent:
                    sources[name] = previous.sources[name]
                if name in previous.health:
                    health[name] = previous.health[name]
                    health[name].paused = False  # paused until the config is reloaded
                    if not same:
                        health[name].not_before = 0.0  # new settings: no backoff earned by the old ones

        def failures() -> dict[str, Failure]:  # silence rules read the sources' health
            return {n: Failure(h.failing_since, h.last_error) for n, h in health.items() if h.failing_since is not None}

        engine.source_failures = failures
        return Runtime(config, rules, engine, sources, health)

    async def run(self) -> int:
        """Run until stop is set; then shut down within a bounded time."""
        for key, warning in exposure_warnings(self.runtime.config):
            logger.warning("%s: %s", key, warning)
        health = self.runtime.config.health
        if health.enabled:
            try:
                await self.health_server.start(health.host, health.port)
            except OSError as exc:
                logger.error("health.listen: cannot listen on %s:%d: %s", health.host, health.port, cannot_bind(exc))
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
        self.started.set()
        self.log_running()
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

    def log_running(self) -> None:
        """Say what runs, what each source's quota allows, and whether stored scores predate the scorer."""
        runtime = self.runtime
        logger.info(
            "running: %d brand(s), %d source(s), %d rule(s)",
            len(runtime.config.brands),
            len(runtime.sources),
            len(runtime.rules),
        )
        for line in budget_lines(runtime.config, SOURCES):
            logger.info("%s", line)
        horizon = max((r.horizon.total_seconds() for r in runtime.rules), default=0.0)
        brands = [b.id for b in runtime.config.brands]
        for line in history_check(self.store, self.scorer, brands, horizon, self.clock()):
            logger.warning("%s", line)

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
