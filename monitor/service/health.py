"""Health over HTTP on loopback: /healthz for probes (and /metrics, service/metrics.py), on a bounded listener.

/healthz tells the truth in one of three states:

- `ok` (200): every enabled source polled successfully within 3 of its intervals plus a minute (at
  least 5 minutes), the database can be written, the outbox drains and, when configured, Slack's
  Socket Mode is connected.
- `starting` (200): nothing is wrong yet, but some source has not had a successful poll since start.
  Each source has a start-up grace of the same 3 intervals plus a minute (at least 5 minutes;
  `starting_until` says when the longest ends), after which "no successful poll since start" is a reason.
- `degraded` (503), with the reasons: a source paused, failing past its grace, or silent too long;
  every source failing (at once: no grace when nothing works); the database not writable; the outbox
  not draining; Socket Mode not connected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from monitor.engine.poll import SourceHealth
from monitor.service.listen import Counts, Listener

logger = logging.getLogger(__name__)
OUTBOX_STUCK_AFTER = 600.0  # an alert waiting this long means delivery is not draining
MIN_STALENESS = 300.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the daemon looks like right now, for /healthz and the gauges of /metrics."""

    now: float
    started_at: float
    sources: Mapping[str, SourceHealth]
    intervals: Mapping[str, float]
    incidents_open: int
    outbox_depth: int
    outbox_oldest: float | None
    alerts_sent: int
    delivery_failures: int
    storage_error: str | None = None  # why the database cannot be written, while it cannot
    buttons: str | None = None  # Socket Mode: None when not configured, "" when connected, else why not
    listeners: Mapping[str, Counts] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """The verdict of /healthz."""

    status: str  # ok | starting | degraded
    reasons: list[str]
    starting_until: float | None = None  # while starting: when the last start-up grace ends

    @property
    def healthy(self) -> bool:
        """Nothing is known to be wrong (ok, or starting)."""
        return self.status != "degraded"


def stale_after(interval: float) -> float:
    """How long a source may go without a successful poll (also its start-up grace)."""
    return max(MIN_STALENESS, 3 * interval + 60)


def health_report(snap: Snapshot) -> Report:
    """ok, starting or degraded, with the reasons (see the module's docstring)."""
    reasons: list[str] = []
    if snap.storage_error is not None:
        reasons.append(f"storage: the database cannot be written ({snap.storage_error})")
    failing = {n: h for n, h in snap.sources.items() if h.paused or h.failing_since is not None}
    if failing and len(failing) == len(snap.sources):
        reasons.append(f"every source is failing ({len(failing)} of {len(snap.sources)})")
    grace: list[float] = []
    for name, health in snap.sources.items():
        limit = stale_after(snap.intervals.get(name, 300.0))
        if health.paused:
            reasons.append(f"{name}: paused: {health.last_error}")
        elif health.last_success is None:
            if snap.now - snap.started_at > limit:
                reasons.append(f"{name}: no successful poll since start" + _because(health))
            elif name in failing and len(failing) == len(snap.sources):
                reasons.append(f"{name}: failing since start" + _because(health))
            else:
                grace.append(snap.started_at + limit)
        elif snap.now - health.last_success > limit:
            ago = int(snap.now - health.last_success)
            reasons.append(f"{name}: last successful poll {ago}s ago" + _because(health))
        elif name in failing and len(failing) == len(snap.sources):
            reasons.append(f"{name}: failing" + _because(health))
    if snap.outbox_oldest is not None and snap.now - snap.outbox_oldest > OUTBOX_STUCK_AFTER:
        age = int(snap.now - snap.outbox_oldest)
        reasons.append(f"outbox not draining: {snap.outbox_depth} alert(s) waiting, oldest {age}s")
    if snap.buttons:
        reasons.append(f"slack: Socket Mode not connected, buttons do not work ({snap.buttons})")
    if reasons:
        return Report("degraded", reasons)
    if grace:
        return Report("starting", [], max(grace))
    return Report("ok", [])


def _because(health: SourceHealth) -> str:
    return f" ({health.last_error})" if health.last_error else ""


class HealthServer:
    """The aiohttp application for /healthz and /metrics, on a bounded listener."""

    def __init__(self, snapshot: Callable[[], Snapshot], render_metrics: Callable[[], bytes]) -> None:
        self.snapshot = snapshot
        self.render_metrics = render_metrics
        self.listener: Listener | None = None

    @property
    def port(self) -> int:
        """The port it listens on (0 when it does not)."""
        return self.listener.port if self.listener is not None else 0

    def app(self) -> web.Application:
        """A new application (one per listener: aiohttp freezes an application once it serves)."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.serve_metrics)
        return app

    async def bind(self, host: str, port: int) -> Listener:
        """A listener on host:port serving this app (OSError when the address cannot be taken)."""
        listener = Listener(self.app(), "health")
        await listener.start(host, port)
        return listener

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: any free port, then in .port)."""
        self.use(await self.bind(host, port))

    def use(self, listener: Listener) -> None:
        """Serve from this listener from now on (the caller stops the one it replaces)."""
        self.listener = listener
        logger.info("health and metrics on http://%s:%d/healthz and /metrics", listener.host, listener.port)

    async def stop(self) -> None:
        """Stop listening."""
        listener, self.listener = self.listener, None
        if listener is not None:
            await listener.stop()

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when ok or starting, 503 with the reasons when degraded."""
        snap = self.snapshot()
        report = health_report(snap)
        body = {
            "status": report.status,
            "reasons": report.reasons,
            "starting_until": report.starting_until,
            "sources": {
                name: {
                    "last_success": h.last_success,
                    "failing_since": h.failing_since,
                    "last_error": h.last_error,
                    "paused": h.paused,
                    "polls": h.polls,
                }
                for name, h in snap.sources.items()
            },
            "storage": "failing" if snap.storage_error is not None else "ok",
            "socket_mode": None if snap.buttons is None else "failing" if snap.buttons else "connected",
            "incidents_open": snap.incidents_open,
            "outbox_depth": snap.outbox_depth,
        }
        return web.json_response(body, status=200 if report.healthy else 503)

    async def serve_metrics(self, request: web.Request) -> web.Response:
        """Prometheus exposition format."""
        from prometheus_client import CONTENT_TYPE_LATEST

        return web.Response(body=self.render_metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST})
