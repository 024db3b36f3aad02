"""The daemon's listeners besides health: the ingest endpoint, and Slack's buttons over Socket Mode.

A mixin of Daemon (service/daemon.py), which owns the attributes declared here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from aiohttp import web

from monitor.clock import Clock
from monitor.service.health import Metrics
from monitor.service.ingest_endpoint import IngestError, Item, ingest_app
from monitor.service.wiring import Runtime, ingest_items, vet_ingest
from monitor.slack.delivery import SlackDelivery
from monitor.slack.interactions import Interactions
from monitor.slack.outbox import Delivery
from monitor.slack.socketmode import SocketMode
from monitor.store import Store

logger = logging.getLogger("monitor.service.daemon")


class Listeners:
    """POST /ingest and Socket Mode: started with the daemon, restarted on a reload that changes them."""

    clock: Clock
    runtime: Runtime
    store: Store
    metrics: Metrics
    delivery: Delivery
    socket_mode: SocketMode | None
    ingest_runner: web.AppRunner | None
    ingest_port: int | None
    tick_soon: Callable[[], None]

    async def accept(self, items: list[Item]) -> int:
        """Store the mentions POST /ingest accepted, for their brands; how many were new."""
        stored = ingest_items(self.runtime.engine, items, self.clock())
        for scored in stored:
            self.metrics.mentions.labels(scored.brand, scored.mention.platform).inc()
        if stored:
            self.tick_soon()
        return len(stored)

    async def start_ingest(self) -> bool:
        """Serve POST /ingest when [ingest] is configured; False (logged) when it cannot be."""
        settings = self.runtime.config.ingest
        if not settings.enabled:
            return True
        config = self.runtime.config
        try:
            app = ingest_app(self.accept, settings.token_env, settings.max_body,
                             vet=lambda item: vet_ingest(self.runtime.config, item, self.clock()))  # fmt: skip
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

    async def start_socket_mode(self) -> None:
        """Carry button presses over Socket Mode when the app-level token is set (Slack delivery only)."""
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
