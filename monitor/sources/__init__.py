"""Platform sources, by the name used in config.toml's [sources.NAME] tables.

Owns one module per platform (each a class behind the Source protocol: `search(query, cursor, since)`),
the HTTP policy (`http`: timeouts, retries, rate limits), sweep cursors (`sweep`) and the platforms'
budgets (`quota`). Imports only the foundation modules and config.
"""

from __future__ import annotations

from monitor.sources.base import Page, Source, SourceError
from monitor.sources.bluesky import Bluesky
from monitor.sources.gdelt import Gdelt
from monitor.sources.hackernews import HackerNews
from monitor.sources.mastodon import Mastodon
from monitor.sources.newsapi import NewsApi
from monitor.sources.reddit import Reddit
from monitor.sources.rss import Rss
from monitor.sources.stackexchange import StackExchange
from monitor.sources.x import X
from monitor.sources.youtube import YouTube

SOURCES: dict[str, type[Source]] = {
    cls.name: cls for cls in (HackerNews, Reddit, Mastodon, Bluesky, YouTube, X, NewsApi, Gdelt, Rss, StackExchange)
}

# What rules may name in `platforms`: every source, and the platforms with no public search API whose
# mentions arrive through the ingest endpoint (replay items carry their platform's name).
PLATFORMS: tuple[str, ...] = (*SOURCES, "facebook", "instagram", "tiktok", "snapchat", "pinterest", "linkedin")

__all__ = ["PLATFORMS", "SOURCES", "Page", "Source", "SourceError"]
