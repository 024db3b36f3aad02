"""Fake platform and Slack servers on loopback, speaking each API's documented shape; helpers to drive sources."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import aiohttp

from monitor.config import SourceConfig
from monitor.mention import Mention
from monitor.sources.base import Keep, Page
from monitor.sources.http import Http
from tests.fakes.base import FakeServer
from tests.helpers.clock import Clock, no_sleep

USER_AGENT = "monitor-tests/1.0 (+https://example.org)"


def make_source(cls: Any, session: aiohttp.ClientSession, fake: FakeServer, clock: Clock, **options: Any) -> Any:
    """A source of class cls on the fake's base URL, its options defaulted from the class, retries without
    waiting, on the test's clock; the fake's Date headers follow it too (the platform's clock is ours)."""
    fake.date = clock
    config = SourceConfig(name=cls.name, enabled=True, interval=timedelta(minutes=5), base_url=fake.url,
                          options=MappingProxyType({**cls.options, **options}))  # fmt: skip
    http = Http(session, USER_AGENT, clock=clock, timeout=5, sleep=no_sleep)
    return cls(config, http)


async def search(source: Any, query: str, cursor: str | None, since: Any, keep: Keep = lambda _: True) -> Page:
    """One page as a poll takes it: the page's lookups made for the mentions `keep` keeps (all, unless told)."""
    page: Page = await source.search(query, cursor, since)
    if page.enrich is None:
        return page
    return dataclasses.replace(page, mentions=await page.enrich(page.mentions, keep), enrich=None)


async def drain(
    source: Any, query: str, cursor: str | None, since: Any, keep: Keep = lambda _: True
) -> tuple[list[Mention], str, int]:
    """Fetch pages until none waits, as the poller does (the page's lookups for the mentions `keep`
    keeps: all, unless told): (mentions, the final cursor, pages fetched)."""
    mentions: list[Mention] = []
    pages = 0
    while True:
        page: Page = await source.search(query, cursor, since)
        pages += 1
        mentions.extend(await page.enrich(page.mentions, keep) if page.enrich else page.mentions)
        cursor = page.cursor
        if not page.more:
            return mentions, page.cursor, pages
