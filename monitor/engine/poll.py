"""One poll of one (source, brand, query): fetch pages, ingest them, advance the cursor with them.

Failures are logged once when a source starts failing and once when it recovers; the source backs
off (or waits out a rate limit, or pauses on bad credentials) while the others carry on.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from monitor.config import Brand
from monitor.engine.core import CursorUpdate, Engine
from monitor.sources.base import AuthError, RateLimited, Source, SourceError, tag_queries
from monitor.store import from_epoch

logger = logging.getLogger(__name__)
MAX_PAGES_PER_POLL = 20
BACKOFF_CAP = 30 * 60.0


@dataclass(slots=True)
class SourceHealth:
    """What the daemon knows about one source's recent polls."""

    name: str
    failing_since: float | None = None
    failures: int = 0
    last_error: str = ""
    last_success: float | None = None
    paused: bool = False
    not_before: float = 0.0
    polls: int = 0
    errors: int = 0
    fetched: int = 0

    def ready(self, now: float) -> bool:
        """Whether a poll may run now (not paused, not backing off or waiting out a rate limit)."""
        return not self.paused and now >= self.not_before

    def succeeded(self, now: float) -> None:
        """Record a successful poll; log the recovery once."""
        if self.failing_since is not None:
            logger.warning("%s: recovered after %d failed poll(s)", self.name, self.failures)
        self.failing_since, self.failures, self.last_error = None, 0, ""
        self.last_success = now

    def failed(self, error: SourceError, now: float) -> None:
        """Record a failed poll, log the first failure of a run, and set the backoff."""
        if self.failing_since is None:
            self.failing_since = now
            logger.warning("%s: polls failing: %s", self.name, error)
        elif str(error) != self.last_error:
            logger.info("%s: still failing: %s", self.name, error)
        self.failures += 1
        self.errors += 1
        self.last_error = str(error)
        if isinstance(error, AuthError):
            self.paused = True
            logger.error("%s: paused until the config is reloaded: %s", self.name, error)
            return
        if isinstance(error, RateLimited) and error.retry_after is not None:
            delay = error.retry_after
        else:
            delay = min(BACKOFF_CAP, 30.0 * 2 ** min(self.failures - 1, 10)) * random.uniform(0.5, 1.0)
        self.not_before = max(self.not_before, now + delay)


@dataclass(slots=True)
class PollResult:
    """How one poll went."""

    pages: int = 0
    fetched: int = 0
    stored: int = 0
    covered_from: float = 0.0  # the poll saw everything from here to now (backfill start on a first poll)


def _envelope(state: str | None) -> tuple[str | None, float | None]:
    if state is None:
        return None, None
    data: dict[str, Any] = json.loads(state)
    return data.get("source"), data.get("live_since")


async def poll_once(source: Source, brand: Brand, query: str, engine: Engine, now: float) -> PollResult:
    """Fetch every page that waits for (source, brand, query) and ingest it; raises SourceError.

    With the brand's first query, also the source's searches for the brand's handles and hashtags, on
    platforms that can search by them (sources.base.tag_queries): each is a sweep with a cursor of its
    own, under its own query text, and a first backfill of its own when the handles change.
    """
    result = await _poll_query(source, brand, query, engine, now)
    if brand.queries and query == brand.queries[0]:
        for extra in tag_queries(source, brand):
            tagged = await _poll_query(source, brand, extra, engine, now)
            result.pages += tagged.pages
            result.fetched += tagged.fetched
            result.stored += tagged.stored
    return result


async def _poll_query(source: Source, brand: Brand, query: str, engine: Engine, now: float) -> PollResult:
    """Every page that waits for one search text, ingested with its cursor."""
    result = PollResult()
    stored_state = engine.store.cursor(source.name, brand.id, query)
    cursor, live_since = _envelope(stored_state)
    since = from_epoch(now - engine.config.backfill.total_seconds())
    result.covered_from = now
    if live_since is None:
        # First poll of this brand and query on this source: what it fetches now is backfill
        # (baseline history), never alerted on.
        live_since = now
        result.covered_from = since.timestamp()
    for _ in range(MAX_PAGES_PER_POLL):
        page = await source.search(query, cursor, since)
        result.pages += 1
        result.fetched += len(page.mentions)
        mentions = page.mentions
        if page.enrich is not None:  # lookups that cost quota: only for what the brand filter keeps
            mentions = await page.enrich(mentions, engine.pipeline.keep(brand.id))
        cursor = page.cursor
        state = json.dumps({"source": cursor, "live_since": live_since})
        stored = engine.ingest(
            brand.id,
            mentions,
            now,
            live_since=live_since,
            cursor=CursorUpdate(source.name, query, state),
        )
        result.stored += len(stored)
        if not page.more:
            break
    return result
