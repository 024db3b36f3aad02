"""Prometheus metrics for /metrics: counters kept as things happen, and gauges read from a Snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.service.health import Snapshot, health_report


class Metrics:
    """Prometheus metrics of one daemon (its own registry, so several can live in one process)."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.registry = CollectorRegistry()
        self.poll_seconds = Histogram(
            "monitor_poll_duration_seconds",
            "Time a poll took, pages included.",
            ["source"],
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.mentions = Counter(
            "monitor_mentions_ingested_total",
            "Mentions stored (new, after filters and dedup).",
            ["brand", "platform"],
            registry=self.registry,
        )
        self.tick_seconds = Histogram(
            "monitor_rule_tick_duration_seconds",
            "Time a rule tick took.",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
            registry=self.registry,
        )
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
        yield from self._service(snap)

    def _service(self, snap: Snapshot) -> Iterator[Any]:
        status = GaugeMetricFamily("monitor_health_status", "1 for the current /healthz status.", labels=["status"])
        current = health_report(snap).status
        for name in ("ok", "starting", "degraded"):
            status.add_metric([name], 1.0 if name == current else 0.0)
        yield status
        yield GaugeMetricFamily(
            "monitor_storage_up",
            "1 while the database can be written.",
            value=0.0 if snap.storage_error is not None else 1.0,
        )
        if snap.buttons is not None:
            yield GaugeMetricFamily(
                "monitor_socket_mode_up",
                "1 while Slack's Socket Mode is connected.",
                value=0.0 if snap.buttons else 1.0,
            )
        open_ = GaugeMetricFamily("monitor_listener_connections", "Open connections.", labels=["listener"])
        closed = CounterMetricFamily(
            "monitor_listener_connections_closed", "Connections the daemon closed.", labels=["listener", "reason"]
        )
        for name, counts in snap.listeners.items():
            open_.add_metric([name], counts.open)
            for reason in ("evicted", "refused", "timed_out"):
                closed.add_metric([name, reason], getattr(counts, reason))
        yield from (open_, closed)
