"""Health and metrics over HTTP on loopback: /healthz for probes, /metrics for Prometheus."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.engine.poll import SourceHealth

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
    extra: dict[str, Any] = field(default_factory=dict)


def health_report(snap: Snapshot) -> tuple[bool, list[str]]:
    """(healthy, reasons): every enabled source succeeded recently and the outbox is draining."""
    reasons = []
    for name, health in snap.sources.items():
        stale_after = max(MIN_STALENESS, 3 * snap.intervals.get(name, 300.0) + 60)
        if health.paused:
            reasons.append(f"{name}: paused: {health.last_error}")
        elif health.last_success is None:
            if snap.now - snap.started_at > stale_after:
                reasons.append(f"{name}: no successful poll since start" + _because(health))
        elif snap.now - health.last_success > stale_after:
            ago = int(snap.now - health.last_success)
            reasons.append(f"{name}: last successful poll {ago}s ago" + _because(health))
    if snap.outbox_oldest is not None and snap.now - snap.outbox_oldest > OUTBOX_STUCK_AFTER:
        age = int(snap.now - snap.outbox_oldest)
        reasons.append(f"outbox not draining: {snap.outbox_depth} alert(s) waiting, oldest {age}s")
    return not reasons, reasons


def _because(health: SourceHealth) -> str:
    return f" ({health.last_error})" if health.last_error else ""


class Metrics:
    """Prometheus metrics of one daemon (its own registry, so several can live in one process)."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.registry = CollectorRegistry()
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds", "Time a poll took, pages included.", ["source"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=self.registry,
        )  # fmt: skip
        self.mentions = Counter(
            "monitor_mentions_ingested_total", "Mentions stored (new, after filters and dedup).",
            ["brand", "platform"], registry=self.registry,
        )  # fmt: skip
        self.tick_seconds = Histogram(
            "monitor_rule_tick_duration_seconds", "Time a rule tick took.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5), registry=self.registry,
        )  # fmt: skip
        self.registry.register(_StateCollector(snapshot))

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Counters and gauges read from the daemon's state at scrape time."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        snap = self.snapshot()
        polls = CounterMetricFamily("monitor_polls", "Polls per source and outcome.", labels=["source", "outcome"])
        last = GaugeMetricFamily("monitor_source_last_success_timestamp_seconds", "Last good poll.", labels=["source"])
        up = GaugeMetricFamily("monitor_source_up", "1 while a source's polls succeed.", labels=["source"])
        for name, health in snap.sources.items():
            polls.add_metric([name, "ok"], health.polls)
            polls.add_metric([name, "error"], health.errors)
            last.add_metric([name], health.last_success or 0.0)
            up.add_metric([name], 0.0 if health.failing_since is not None or health.paused else 1.0)
        yield from (polls, last, up)
        yield GaugeMetricFamily("monitor_incidents_open", "Incidents open now.", value=snap.incidents_open)
        yield GaugeMetricFamily("monitor_outbox_depth", "Alerts waiting for delivery.", value=snap.outbox_depth)
        age = 0.0 if snap.outbox_oldest is None else max(0.0, snap.now - snap.outbox_oldest)
        yield GaugeMetricFamily("monitor_outbox_oldest_age_seconds", "Age of the oldest waiting alert.", value=age)
        yield CounterMetricFamily("monitor_alerts_sent", "Alerts delivered.", value=snap.alerts_sent)
        yield CounterMetricFamily(
            "monitor_alert_delivery_failures", "Failed delivery attempts.", value=snap.delivery_failures
        )


class HealthServer:
    """The aiohttp server for /healthz and /metrics."""

    def __init__(self, snapshot: Callable[[], Snapshot], metrics: Metrics) -> None:
        self.snapshot = snapshot
        self.metrics = metrics
        self.runner: web.AppRunner | None = None
        self.port = 0
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.serve_metrics)
        self.app = app

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: any free port, then in .port)."""
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        logger.info("health and metrics on http://%s:%d/healthz and /metrics", host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self.runner is not None:
            await self.runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when healthy, 503 with the reasons otherwise."""
        snap = self.snapshot()
        healthy, reasons = health_report(snap)
        body = {
            "status": "ok" if healthy else "failing",
            "reasons": reasons,
            "sources": {
                name: {"last_success": h.last_success, "failing_since": h.failing_since, "last_error": h.last_error,
                       "paused": h.paused}
                for name, h in snap.sources.items()
            },
            "incidents_open": snap.incidents_open,
            "outbox_depth": snap.outbox_depth,
        }  # fmt: skip
        return web.json_response(body, status=200 if healthy else 503)

    async def serve_metrics(self, request: web.Request) -> web.Response:
        """Prometheus exposition format."""
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
