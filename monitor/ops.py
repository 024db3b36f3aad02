"""Operator commands: status, one-off polls, database stats and backups, version."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.clock import Clock
from monitor.config import Config, SourceConfig
from monitor.durations import format_duration
from monitor.errors import Problem
from monitor.store import Store


def _when(ts: float | None) -> str:
    return "never" if not ts else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    seconds = int(now - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def silences_text(silences: list[Any], now: float, exclusions: Sequence[Any] = ()) -> str:
    """What `monitor silences` prints: those in force, then those that ended in the last week; then the
    exclusions added from Slack (applied on top of config's `exclude`)."""
    current = [s for s in silences if s.created_at <= now < s.expires_at]
    recent = [s for s in silences if now - 7 * 86400 < s.expires_at <= now]
    lines = [f"{len(current)} silence(s) in force"]
    for s in current + recent:
        state = f"until {_when(s.expires_at)}" if s in current else f"ended {_ago(s.expires_at, now)}"
        terms = f" terms {', '.join(s.terms)}" if s.terms else ""
        lines.append(f"  #{s.id}  rule {s.rule}  brand {s.brand}{terms}  {state}  by {s.author or '?'}"
                     + (f": {s.comment}" if s.comment else ""))  # fmt: skip
    if exclusions:
        lines.append(f"{len(exclusions)} exclusion(s) added from Slack (on top of config's exclude)")
    for e in exclusions:
        lines.append(f"  #{e.id}  brand {e.brand}  term {e.term!r}  by {e.author or '?'} on {e.incident or '?'}"
                     f"  since {_when(e.created_at)}")  # fmt: skip
    return "\n".join(lines)


DAY = 86400.0
# Sources that work without their credentials, and what they do then.
OPTIONAL_CREDENTIALS = {
    "reddit": "it searches anonymously, at about 10 requests a minute",
    "mastodon": "only the hashtag timeline (tag) is read, no full-text search",
    "stackexchange": "the quota is 300 requests a day instead of 10,000",
}
# Documented daily request quotas: source -> (requests a day, which plan or condition).
NEWSAPI_FREE_PER_DAY = 100
STACKEXCHANGE_PER_DAY = (300, 10_000)  # without a key, with one
GDELT_GAP = 5.0  # seconds between requests GDELT asks for


def _queries(config: Config) -> int:
    return sum(len(b.queries) for b in config.brands)


def _per_day(source: SourceConfig, queries: int) -> float:
    """Requests a day the schedule makes at least: one a poll, a poll per query each interval."""
    return DAY / max(1.0, source.interval.total_seconds()) * queries


def _every(seconds: float) -> str:
    from datetime import timedelta

    return format_duration(timedelta(seconds=max(1, int(-(-seconds // 1)))))


def credential_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(key, message) for each credential variable an enabled source names and the environment lacks."""
    environ = os.environ if environ is None else environ
    found: list[tuple[str, str]] = []
    for name, source in config.sources.items():
        if not source.enabled:
            continue
        names = [(k, str(v)) for k, v in source.options.items() if k.endswith("_env") and v]
        for key, variable in names:
            if environ.get(variable):
                continue
            effect = OPTIONAL_CREDENTIALS.get(name)
            consequence = f"optional, but without it {effect}" if effect else f"{name} will pause on its first poll"
            found.append((f"sources.{name}.{key}", f"{variable} is not set in the environment: {consequence}"))
    if config.ingest.enabled and not environ.get(config.ingest.token_env):
        found.append(("ingest.token_env", f"{config.ingest.token_env} is not set: the daemon cannot serve /ingest"))
    return found


def quota_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(key, message) for each enabled source whose interval x queries would pass its documented quota."""
    from monitor.sources.youtube import YouTube

    environ = os.environ if environ is None else environ
    queries = _queries(config)
    found: list[tuple[str, str]] = []
    for name, source in config.sources.items():
        if not source.enabled or not queries:
            continue
        per_day = _per_day(source, queries)
        every = source.interval.total_seconds()
        where = f"sources.{name}.interval"
        if name == "youtube":
            polls = YouTube.max_polls_per_day(source.options, queries)
            if polls and DAY / every > polls:
                found.append((where, f"every {_every(every)} x {queries} query(ies) needs {int(DAY / every)}"
                              f" polls a day per query but the quota of {source.options.get('daily_quota')} units"
                              f" allows {polls} (a search costs 100): use at least {_every(DAY / polls)}, or the"
                              " source pauses until midnight Pacific time"))  # fmt: skip
        elif name == "newsapi" and per_day > NEWSAPI_FREE_PER_DAY:
            found.append((where, f"every {_every(every)} x {queries} query(ies) is {per_day:.0f} requests a day;"
                          f" NewsAPI's free plan allows {NEWSAPI_FREE_PER_DAY}: use at least"
                          f" {_every(DAY * queries / NEWSAPI_FREE_PER_DAY)} unless your plan allows more"))  # fmt: skip
        elif name == "stackexchange":
            keyed = bool(environ.get(str(source.options.get("key_env") or "")))
            limit = STACKEXCHANGE_PER_DAY[1 if keyed else 0]
            if per_day > limit:
                with_key = "" if keyed else " (a key in the environment raises it to 10,000)"
                found.append((where, f"every {_every(every)} x {queries} query(ies) is {per_day:.0f} requests a day;"
                              f" Stack Exchange allows {limit}{with_key}: use at least"
                              f" {_every(DAY * queries / limit)}"))  # fmt: skip
        elif name == "gdelt" and every / queries < GDELT_GAP:
            found.append((where, f"every {_every(every)} x {queries} query(ies) is a request every"
                          f" {every / queries:.1f}s; GDELT asks for one every {GDELT_GAP:.0f}s: polls will queue,"
                          f" use at least {_every(GDELT_GAP * queries)}"))  # fmt: skip
    return found


def check_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """What `monitor check` warns about (exit 0 all the same): missing credentials, quotas passed."""
    from monitor.tomlfile import TomlFile

    line_of = TomlFile.load(config.path).line_of
    found = credential_warnings(config, environ) + quota_warnings(config, environ)
    return [Problem(str(config.path), line_of(key), key, f"warning: {message}") for key, message in found]


def quota_lines(config: Config) -> list[str]:
    """The daily budget of the sources that have one, as logged at start."""
    from monitor.sources.youtube import YouTube

    queries = _queries(config)
    lines = []
    source = config.sources.get("youtube")
    if source is not None and source.enabled and queries:
        polls = YouTube.max_polls_per_day(source.options, queries)
        every = source.interval.total_seconds()
        if polls:
            lines.append(f"youtube: {source.options.get('daily_quota')} quota units a day fit {polls} poll(s) a day"
                         f" of each of {queries} query(ies), one every {_every(DAY / polls)} at most; configured"
                         f" every {_every(every)}"
                         + ("" if DAY / every <= polls else ": the quota runs out, the source pauses until"
                            " midnight Pacific time"))  # fmt: skip
        else:
            lines.append("youtube: daily_quota = 0: no local quota count, Google's answers decide")
    return lines


def version_text() -> str:
    """The version of monitor and of what it runs on."""
    from importlib.metadata import version

    parts = [f"monitor {__version__}", f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    parts += [f"{name} {version(name)}" for name in ("aiohttp", "slack-sdk", "vaderSentiment", "APScheduler")]
    return ", ".join(parts)


def fetch_health(config: Config, timeout: float = 3.0) -> dict[str, Any] | None:
    """The running daemon's /healthz answer, or None when nothing answers."""
    host = "127.0.0.1" if config.health.host in ("0.0.0.0", "::", "") else config.health.host
    url = f"http://{host}:{config.health.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:  # 503 still carries the report
        return dict(json.load(exc))
    except (OSError, ValueError):
        return None


def status_text(config: Config, store: Store, health: dict[str, Any] | None, now: float) -> str:
    """What `monitor status` prints: sources, open incidents, the outbox."""
    lines = []
    if health is None:
        lines.append(f"daemon: not answering on {config.health.host}:{config.health.port} (not running?)")
    else:
        lines.append(f"daemon: {health['status']}")
        lines += [f"  ! {reason}" for reason in health.get("reasons", [])]
        lines.append("sources:")
        for name, info in health.get("sources", {}).items():
            state = "paused" if info.get("paused") else "failing" if info.get("failing_since") else "ok"
            error = f"  last error: {info['last_error']}" if info.get("last_error") else ""
            lines.append(f"  {name:<12} {state:<8} last success {_ago(info.get('last_success'), now)}{error}")
    incidents = store.incidents("open")
    lines.append(f"open incidents: {len(incidents)}")
    for incident in incidents:
        lines.append(f"  {incident.id}  since {_when(incident.opened_at)}  peak {incident.peak_count}")
    oldest = store.outbox_oldest()
    waiting = store.outbox_size()
    lines.append(f"outbox: {waiting} alert(s) waiting" + (f", oldest {_ago(oldest, now)}" if waiting else ""))
    dead = store.count_dead_letters()
    if dead:
        lines.append(f"dead letters: {dead} alert(s) Slack refused for good (not retried; newest first):")
        for item_id, incident_id, kind, failed_at, error in store.dead_letters(limit=5):
            lines.append(f"  #{item_id} {kind} {incident_id}  {_ago(failed_at, now)}: {error}")
    return "\n".join(lines)


def stats_text(store: Store) -> str:
    """What `monitor db stats` prints."""
    stats = store.stats()
    size = sum(stats["bytes"].values())
    lines = [
        f"database: {stats['path']} ({size / 1e6:.1f} MB"
        + (f", of which WAL {stats['bytes']['-wal'] / 1e6:.1f} MB" if "-wal" in stats["bytes"] else "")
        + f"), schema {stats['schema_version']}, {stats['free_pages']} free page(s)",
        "rows: " + ", ".join(f"{table} {count}" for table, count in stats["rows"].items()),
        f"{'brand':<16}{'platform':<14}{'mentions':>10}  {'oldest':<21}{'newest':<21}",
    ]
    for row in stats["mentions"]:
        lines.append(f"{row['brand']:<16}{row['platform']:<14}{row['count']:>10}  "
                     f"{_when(row['oldest']):<21}{_when(row['newest']):<21}")  # fmt: skip
    return "\n".join(lines)


def backup(store: Store, target: Path) -> str:
    """Copy the live database to target; returns a one-line report."""
    if target.exists():
        raise FileExistsError(f"{target} exists: give a new file name")
    store.backup(target)
    return f"backed up to {target} ({target.stat().st_size / 1e6:.1f} MB)"


async def poll_command(config: Config, rules: list[Any], source_name: str, brand_id: str,
                       query: str | None, store_it: bool, *, clock: Clock) -> tuple[int, list[str]]:  # fmt: skip
    """One poll for checking queries and credentials: (exit code, lines to print). Stores only if asked."""
    import aiohttp

    from monitor.engine import Engine
    from monitor.pipeline import BrandFilter
    from monitor.poller import poll_once
    from monitor.sentiment import Scorer
    from monitor.sources import SOURCES, SourceError
    from monitor.sources.http import Http

    brand = config.brand(brand_id)
    source_config = config.sources.get(source_name)
    if brand is None:
        return 2, [f"unknown brand {brand_id!r} (configured: {', '.join(b.id for b in config.brands)})"]
    if source_config is None:
        return 2, [f"source {source_name!r} is not configured (configured: {', '.join(config.sources)})"]
    scorer = Scorer.of(config)
    lines: list[str] = []
    now = clock()
    async with aiohttp.ClientSession() as session:
        http = Http(session, config.user_agent, clock=clock, timeout=source_config.timeout.total_seconds())
        source = SOURCES[source_name](source_config, http)  # type: ignore[call-arg]
        for q in [query] if query else list(brand.queries):
            try:
                if store_it:
                    store = Store.open(config.database)
                    try:
                        engine = Engine(config, rules, store, scorer)
                        result = await poll_once(source, brand, q, engine, now)
                        engine.mark_watched(brand.id, result.covered_from, now)
                    finally:
                        store.close()
                    lines.append(f"{source_name} {q!r}: {result.pages} page(s), fetched {result.fetched},"
                                 f" stored {result.stored} new")  # fmt: skip
                    continue
                since = datetime.fromtimestamp(now - config.backfill.total_seconds(), UTC)
                page = await source.search(q, None, since)
            except SourceError as exc:
                return 1, [*lines, f"{source_name} {q!r}: {exc}"]
            brand_filter = BrandFilter.of(brand)
            lines.append(f"{source_name} {q!r}: {len(page.mentions)} mention(s) on the first page (nothing stored)")
            for m in page.mentions:
                verdict = ("kept" if brand_filter.mentions_brand(m) and brand_filter.keeps(m)
                           else "dropped: not the brand" if not brand_filter.mentions_brand(m)
                           else "dropped: excluded")  # fmt: skip
                score = scorer.score(m.full_text, m.lang, brand_id)
                shown = "unscored" if score.compound is None else f"{score.compound:+.2f} {score.label}"
                text = " ".join(m.full_text.split())[:100]
                lines.append(f"  {_when(m.created_at.timestamp())}  {m.id:<14} {shown:<16} {verdict:<22} {text}")
    return 0, lines
