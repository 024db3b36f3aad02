"""Platforms' documented budgets, and what a schedule of polls spends of them.

Each source class says its own budget (`quota`, one of the shapes below) and what it does without its
optional credentials (`without_credentials`); `monitor check` warns from them and the daemon logs a
budget line at start. The arithmetic is here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from monitor.config import Config, SourceConfig
from monitor.durations import format_duration

DAY = 86400.0


def every(seconds: float) -> str:
    """A period as config writes it, rounded up to whole seconds ("14m42s")."""
    return format_duration(timedelta(seconds=max(1, int(-(-seconds // 1)))))


def requests_per_day(source: SourceConfig, queries: int) -> float:
    """Requests a day the schedule makes at least: one a poll, a poll per query each interval."""
    return DAY / max(1.0, source.interval.total_seconds()) * queries


class Quota(Protocol):
    """A platform's budget: a warning when a schedule passes it, a line to log at start."""

    def warning(self, source: SourceConfig, queries: int, environ: Mapping[str, str]) -> str | None:
        """What passing the budget costs and the interval that fits, or None when it fits."""
        ...

    def budget(self, source: SourceConfig, queries: int) -> str | None:
        """The daily budget as logged at start, or None when there is nothing to say."""
        ...


@dataclass(frozen=True, slots=True)
class DailyRequests:
    """So many requests a day (more with a key, when `key_option` names the key's variable)."""

    per_day: int
    whose: str  # "NewsAPI's free plan", "Stack Exchange"
    keyed_per_day: int = 0
    key_option: str = ""
    advice: str = ""  # said after the interval that fits

    def warning(self, source: SourceConfig, queries: int, environ: Mapping[str, str]) -> str | None:
        keyed = bool(self.key_option and environ.get(str(source.options.get(self.key_option) or "")))
        limit = self.keyed_per_day if keyed else self.per_day
        per_day = requests_per_day(source, queries)
        if per_day <= limit:
            return None
        with_key = (
            f" (a key in the environment raises it to {self.keyed_per_day:,})" if self.key_option and not keyed else ""
        )
        return (
            f"every {every(source.interval.total_seconds())} x {queries} query(ies) is {per_day:.0f} requests a"
            f" day; {self.whose} allows {limit}{with_key}: use at least {every(DAY * queries / limit)}"
            f"{self.advice}"
        )

    def budget(self, source: SourceConfig, queries: int) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class MinimumGap:
    """One request every so many seconds."""

    seconds: float
    whose: str

    def warning(self, source: SourceConfig, queries: int, environ: Mapping[str, str]) -> str | None:
        interval = source.interval.total_seconds()
        if interval / queries >= self.seconds:
            return None
        return (
            f"every {every(interval)} x {queries} query(ies) is a request every {interval / queries:.1f}s;"
            f" {self.whose} asks for one every {self.seconds:.0f}s: polls will queue, use at least"
            f" {every(self.seconds * queries)}"
        )

    def budget(self, source: SourceConfig, queries: int) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class DailyUnits:
    """Units a day from the `quota_option` option (0: no local count), a page costing `page_cost`."""

    page_cost: int
    quota_option: str
    resets: str  # when the units come back: "midnight Pacific time"
    owner: str  # whose answers decide without a local count: "Google"

    def polls_per_day(self, options: Mapping[str, Any], queries: int) -> int:
        """How many one-page polls of each of `queries` queries fit a day (0: no local limit)."""
        quota = int(options.get(self.quota_option) or 0)
        return quota // (self.page_cost * max(1, queries)) if quota else 0

    def warning(self, source: SourceConfig, queries: int, environ: Mapping[str, str]) -> str | None:
        polls, interval = self.polls_per_day(source.options, queries), source.interval.total_seconds()
        if not polls or DAY / interval <= polls:
            return None
        quota = source.options.get(self.quota_option)
        return (
            f"every {every(interval)} x {queries} query(ies) needs {int(DAY / interval)} polls a day per query"
            f" but the quota of {quota} units allows {polls} (a page costs up to {self.page_cost}): use at least"
            f" {every(DAY / polls)}, or the source pauses until {self.resets}"
        )

    def budget(self, source: SourceConfig, queries: int) -> str | None:
        polls, interval = self.polls_per_day(source.options, queries), source.interval.total_seconds()
        if not polls:
            return f"{source.name}: {self.quota_option} = 0: no local quota count, {self.owner}'s answers decide"
        runs_out = "" if DAY / interval <= polls else f": the quota runs out, the source pauses until {self.resets}"
        return (
            f"{source.name}: {source.options.get(self.quota_option)} quota units a day fit {polls} poll(s) a day"
            f" of each of {queries} query(ies), one every {every(DAY / polls)} at most; configured every"
            f" {every(interval)}{runs_out}"
        )


class Budgeted(Protocol):
    """What a source class says of its budget and its credentials."""

    quota: Quota | None
    without_credentials: str


def quota_warnings(
    config: Config, sources: Mapping[str, Budgeted], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(key, message) for each enabled source whose interval x queries would pass its documented quota."""
    queries = sum(len(b.queries) for b in config.brands)
    found = []
    for name, source in config.sources.items():
        quota = sources[name].quota if name in sources else None
        if source.enabled and queries and quota is not None:
            message = quota.warning(source, queries, environ)
            if message:
                found.append((f"sources.{name}.interval", message))
    return found


def credential_warnings(
    config: Config, sources: Mapping[str, Budgeted], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """(key, message) for each credential variable an enabled source names and the environment lacks."""
    found: list[tuple[str, str]] = []
    for name, source in config.sources.items():
        if not source.enabled:
            continue
        for key, variable in [(k, str(v)) for k, v in source.options.items() if k.endswith("_env") and v]:
            if environ.get(variable):
                continue
            effect = sources[name].without_credentials if name in sources else ""
            consequence = f"optional, but without it {effect}" if effect else f"{name} will pause on its first poll"
            found.append((f"sources.{name}.{key}", f"{variable} is not set in the environment: {consequence}"))
    return found


def budget_lines(config: Config, sources: Mapping[str, Budgeted]) -> list[str]:
    """The daily budget of the enabled sources that have one, as logged at start."""
    queries = sum(len(b.queries) for b in config.brands)
    lines = []
    for name, source in config.sources.items():
        quota = sources[name].quota if name in sources else None
        if source.enabled and queries and quota is not None:
            line = quota.budget(source, queries)
            if line:
                lines.append(line)
    return lines
