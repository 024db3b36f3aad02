"""Reload on SIGHUP or a saved file: all or nothing, listeners included; sources and schedules carry on.

A mixin of Daemon (service/daemon.py), which owns the attributes declared here. The new config and
rules must load; a changed `[health]` or `[ingest]` must get its new listener (the new address bound,
the ingest token set) before anything running is touched. Any failure leaves the running config,
rules, listeners and schedules as they were, and is logged as "reload refused". On success, sources
whose settings did not change are kept as they are (see Daemon._runtime), every source keeps its
health and counters, and every job keeps its next run time (Jobs.schedule): a reload polls nothing early.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.clock import Clock
from monitor.config import Config
from monitor.engine.core import Engine
from monitor.errors import InvalidFiles
from monitor.loading import load_all
from monitor.rules import Rule
from monitor.sentiment import Scorer
from monitor.service.health import HealthServer
from monitor.service.ingest_endpoint import IngestError, read_token, reconfigure
from monitor.service.listen import Listener, cannot_bind
from monitor.service.shard import Shard, for_shard
from monitor.service.systemd import Notifier
from monitor.service.watch import FileWatch
from monitor.service.wiring import Runtime, make_delivery
from monitor.slack.outbox import Delivery, OutboxWorker
from monitor.store import Store

logger = logging.getLogger("monitor.service.daemon")
REFUSED = "reload refused, keeping the running config and rules (and listeners): %s"
IN_FLIGHT_TIMEOUT = 10.0


@dataclass
class _Listeners:
    """The listener changes a reload makes, prepared (bound) before anything running is touched."""

    health: Listener | None = None  # a new health listener, to serve from once the reload commits
    ingest: Listener | None = None  # a new ingest listener, likewise
    stop: list[Listener] = field(default_factory=list)  # running ones to stop once it commits
    reconfigure: Config | None = None  # same ingest address: take the new token and size cap in place

    async def abandon(self) -> None:
        """The reload is refused: close what was bound for it."""
        for listener in (self.health, self.ingest):
            if listener is not None:
                await listener.stop()


class Reload:
    """Daemon.reload and what it needs."""

    config_path: Path | None
    shard: Shard | None
    clock: Clock
    runtime: Runtime
    store: Store
    scorer: Scorer
    delivery: Delivery
    outbox: OutboxWorker
    outbox_wake: asyncio.Event
    reloaded: asyncio.Event
    notifier: Notifier
    scheduler: AsyncIOScheduler
    in_flight: set[asyncio.Task[Any]]
    watch: FileWatch | None
    health_server: HealthServer
    ingest: Listener | None
    stop_socket_mode: Callable[[], Awaitable[None]]
    start_socket_mode: Callable[[], Awaitable[None]]
    bind_ingest: Callable[[Config], Awaitable[Listener | str]]
    use_ingest: Callable[[Listener], None]
    schedule: Callable[[], None]
    status_line: Callable[[], str]
    _close_delivery: Callable[[], Awaitable[None]]
    _remember_channel: Callable[[], None]
    _engine: Callable[[Config, list[Rule], Engine], Engine]
    _runtime: Callable[..., Runtime]

    def _load(self) -> tuple[Config, list[Rule]] | None:
        """The new config (cut to this shard) and rules, or None with each problem logged."""
        assert self.config_path is not None
        try:
            config, rules = load_all(str(self.config_path))
            if self.shard is not None:
                config = for_shard(config, self.shard)
        except ValueError as exc:  # the reloaded config leaves this shard no brand
            logger.error(REFUSED, exc)
            return None
        except InvalidFiles as exc:
            for problem in exc.problems:
                logger.error(REFUSED, problem)
            return None
        return config, rules

    async def _prepare_listeners(self, config: Config) -> _Listeners | None:
        """Bind what the new config's [health] and [ingest] need; None (logged, nothing left open) when
        an address cannot be taken or the ingest token is unset."""
        old, plan = self.runtime.config, _Listeners()
        if config.health != old.health:
            if self.health_server.listener is not None:
                plan.stop.append(self.health_server.listener)
            if config.health.enabled:
                try:
                    plan.health = await self.health_server.bind(config.health.host, config.health.port)
                except OSError as exc:
                    where = f"{config.health.host}:{config.health.port}"
                    logger.error(REFUSED, f"health.listen: cannot listen on {where}: {cannot_bind(exc)}")
                    return None
        if config.ingest != old.ingest:
            same_address = (config.ingest.host, config.ingest.port) == (old.ingest.host, old.ingest.port)
            if config.ingest.enabled and same_address and self.ingest is not None:
                try:
                    read_token(config.ingest.token_env)
                except IngestError as exc:
                    await plan.abandon()
                    logger.error(REFUSED, f"{config.path}: ingest.token_env: {exc}")
                    return None
                plan.reconfigure = config
                return plan
            if self.ingest is not None:
                plan.stop.append(self.ingest)
            if config.ingest.enabled:
                bound = await self.bind_ingest(config)
                if isinstance(bound, str):
                    await plan.abandon()
                    logger.error(REFUSED, bound)
                    return None
                plan.ingest = bound
        return plan

    async def reload(self) -> bool:
        """Re-read config and rules; swap them in, with the listeners they need, only if all are ready."""
        if self.config_path is None:
            return False
        # Reading and validating the files, and compiling the rules' terms (a rule may have thousands),
        # touch nothing the running daemon uses: done in a worker thread, off the event loop.
        loaded = await asyncio.to_thread(self._load)
        if loaded is None:
            return False
        config, rules = loaded
        plan = await self._prepare_listeners(config)
        if plan is None:
            return False
        # Let polls in flight land first: the new engine's counts are rebuilt from the store.
        self.notifier.reloading()
        self.scheduler.pause()
        busy = {t for t in self.in_flight if not t.done()}
        if busy:
            await asyncio.wait(busy, timeout=IN_FLIGHT_TIMEOUT)
        slack_changed = config.slack != self.runtime.config.slack
        if slack_changed:
            await self._new_delivery(config)
        if (config.sentiment, config.brand_lexicons) != (
            self.runtime.config.sentiment,
            self.runtime.config.brand_lexicons,
        ):
            self.scorer.close()  # its scoring workers, if a bulk ingest started them
            self.scorer = Scorer.of(config)
        built = await asyncio.to_thread(Engine, config, rules, self.store, self.scorer)  # compiles, no I/O
        self.runtime = self._runtime(config, rules, self._engine(config, rules, built), previous=self.runtime)
        await self._commit_listeners(plan)
        if slack_changed:
            await self.start_socket_mode()
        if self.runtime.engine.close_orphans(self.clock()):
            self.outbox_wake.set()
        self.watch = FileWatch(self.config_path, config.rules_dir)
        self.schedule()
        self.scheduler.resume()
        self.notifier.ready(self.status_line())
        logger.warning(
            "reloaded: %d brand(s), %d source(s), %d rule(s)", len(config.brands), len(self.runtime.sources), len(rules)
        )
        self.reloaded.set()
        return True

    async def _new_delivery(self, config: Config) -> None:
        await self.stop_socket_mode()
        await self._close_delivery()
        self.delivery = make_delivery(config)
        self._remember_channel()
        self.outbox.delivery = self.delivery
        # Slack settings were fixed (a channel, a base URL): waiting alerts go now, not at their backoff.
        self.store.retry_outbox_now(self.clock())
        self.outbox_wake.set()

    async def _commit_listeners(self, plan: _Listeners) -> None:
        if plan.reconfigure is not None and self.ingest is not None:
            settings = plan.reconfigure.ingest
            reconfigure(self.ingest.app, settings.token_env, settings.max_body)  # its token was read above
            logger.info("ingest endpoint on http://%s:%d/ingest: new settings", self.ingest.host, self.ingest.port)
        for listener in plan.stop:
            if listener is self.health_server.listener:
                self.health_server.listener = None
            if listener is self.ingest:
                self.ingest = None
            await listener.stop()
        if plan.health is not None:
            self.health_server.use(plan.health)
        if plan.ingest is not None:
            self.use_ingest(plan.ingest)
