"""The daemon's listeners besides health: the ingest endpoint, and Slack's buttons over Socket Mode.

A mixin of Daemon (service/daemon.py), which owns the attributes declared here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable

from aiohttp import web

from monitor.clock import Clock
from monitor.config import Config
from monitor.mention import ScoredMention
from monitor.service.ingest_endpoint import IngestError, Item, StorageUnavailable, ingest_app
from monitor.service.listen import Listener, cannot_bind
from monitor.service.metrics import Metrics
from monitor.service.wiring import Runtime, ingest_items, vet_ingest
from monitor.slack.delivery import SlackDelivery
from monitor.slack.interactions import Interactions
from monitor.slack.outbox import Delivery
from monitor.slack.socketmode import SocketMode
from monitor.store import Store

logger = logging.getLogger("monitor.service.daemon")
# Mentions of one /ingest request stored per slice: the event loop turns between slices, so a
# 100,000-item batch never holds up health probes, polls or delivery for more than one slice.
INGEST_SLICE = 500
BUTTONS_RETRY = 30.0  # seconds before Socket Mode is tried again after it could not connect; doubles ...
BUTTONS_RETRY_CAP = 15 * 60.0  # ... up to this (also the wait after Slack refused the token)


class Listeners:
    """POST /ingest and Socket Mode: started with the daemon, changed by a reload that changes them."""

    clock: Clock
    runtime: Runtime
    store: Store
    metrics: Metrics
    delivery: Delivery
    stop: asyncio.Event
    socket_mode: SocketMode | None
    buttons: str | None  # None: no Socket Mode configured; "": connected; else why not
    buttons_retry: asyncio.Task[None] | None
    ingest: Listener | None
    tick_soon: Callable[[], None]
    storage_failed: Callable[[sqlite3.Error], None]
    storage_ok: Callable[[], None]

    @property
    def ingest_port(self) -> int | None:
        """The port /ingest is served on (None when it is not)."""
        return self.ingest.port if self.ingest is not None else None

    async def accept(self, items: list[Item]) -> int:
        """Store the mentions POST /ingest accepted, for their brands; how many were new.

        Committed with synchronous=FULL: the sender drops what we acknowledge, so an acknowledged batch
        must survive a power cut, not only a crash (a poll needs no such care: its cursor rolls back
        with its mentions, and the next poll fetches them again). StorageUnavailable when the database
        cannot be written (logged once by storage_failed; the sender sends the batch again).
        """
        stored = 0
        try:
            with self.store.durable():
                for start in range(0, len(items), INGEST_SLICE):
                    new = ingest_items(self.runtime.engine, items[start : start + INGEST_SLICE], self.clock())
                    self._count(new)
                    stored += len(new)
                    await asyncio.sleep(0)  # the event loop turns: probes, polls, other requests
        except sqlite3.Error as exc:
            self.storage_failed(exc)
            raise StorageUnavailable from None
        self.storage_ok()
        if stored:
            self.tick_soon()
        return stored

    def _count(self, stored: list[ScoredMention]) -> None:
        for scored in stored:
            self.metrics.mentions.labels(scored.brand, scored.mention.platform).inc()

    def ingest_app(self, config: Config) -> web.Application:
        """The /ingest application for config (IngestError when its token variable is unset)."""
        settings = config.ingest
        return ingest_app(
            self.accept,
            settings.token_env,
            settings.max_body,
            vet=lambda item: vet_ingest(self.runtime.config, item, self.clock()),
        )

    async def bind_ingest(self, config: Config) -> Listener | str:
        """A listener serving /ingest as config says, or why it cannot be (one line)."""
        settings = config.ingest
        try:
            listener = Listener(self.ingest_app(config), "ingest")
        except IngestError as exc:
            return f"{config.path}: ingest.token_env: {exc}"
        try:
            await listener.start(settings.host, settings.port)
        except OSError as exc:
            return f"ingest.listen: cannot listen on {settings.host}:{settings.port}: {cannot_bind(exc)}"
        return listener

    def use_ingest(self, listener: Listener) -> None:
        """Serve /ingest from this listener (the caller stops the one it replaces)."""
        self.ingest = listener
        logger.info("ingest endpoint on http://%s:%d/ingest", listener.host, listener.port)

    async def start_ingest(self) -> bool:
        """Serve POST /ingest when [ingest] is configured; False (logged) when it cannot be."""
        if not self.runtime.config.ingest.enabled:
            return True
        listener = await self.bind_ingest(self.runtime.config)
        if isinstance(listener, str):
            logger.error("%s", listener)
            return False
        self.use_ingest(listener)
        return True

    async def stop_ingest(self) -> None:
        """Stop serving POST /ingest (requests under way finish first)."""
        listener, self.ingest = self.ingest, None
        if listener is not None:
            await listener.stop()

    async def start_socket_mode(self) -> None:
        """Carry button presses over Socket Mode when the app-level token is set (Slack delivery only).

        When it cannot connect (Slack unreachable, or the token refused), /healthz says so and it is
        tried again in the background: after 30 s, doubling up to 15 minutes.
        """
        config = self.runtime.config
        app_token = os.environ.get(config.slack.app_token_env, "")
        self.buttons = None
        if not isinstance(self.delivery, SlackDelivery):
            return
        if not app_token:
            logger.warning(
                "%s is not set: the alerts' buttons will not work (no Socket Mode)", config.slack.app_token_env
            )
            return
        socket_mode = self._socket_mode(app_token)
        if await socket_mode.start():
            self.socket_mode, self.buttons = socket_mode, ""
            return
        self.buttons = socket_mode.error
        self.buttons_retry = asyncio.create_task(self._retry_socket_mode(socket_mode))

    def _socket_mode(self, app_token: str) -> SocketMode:
        assert isinstance(self.delivery, SlackDelivery)
        config = self.runtime.config
        interactions = Interactions(
            self.store,
            self.delivery.client,
            config.zone,
            self.clock,
            excluded=self._excluded,
            config_exclusions=lambda brand: b.exclude if (b := self.runtime.config.brand(brand)) else (),
        )
        return SocketMode(app_token, config.slack.base_url, interactions)

    async def _retry_socket_mode(self, socket_mode: SocketMode) -> None:
        delay = BUTTONS_RETRY
        while not self.stop.is_set():
            wait = BUTTONS_RETRY_CAP if socket_mode.refused else delay
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)
            if self.stop.is_set():
                return
            if await socket_mode.start(quiet=True):
                self.socket_mode, self.buttons, self.buttons_retry = socket_mode, "", None
                return
            self.buttons = socket_mode.error
            delay = min(BUTTONS_RETRY_CAP, delay * 2)

    def _excluded(self, brand: str, term: str) -> None:
        self.runtime.engine.pipeline.exclude_more(brand, [term])

    async def stop_socket_mode(self) -> None:
        """Close the Socket Mode connection (presses being carried out finish first), and stop retrying."""
        retry, self.buttons_retry = self.buttons_retry, None
        if retry is not None:
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry
        socket_mode, self.socket_mode = self.socket_mode, None
        if socket_mode is not None:
            await socket_mode.close()
