"""Platform sources, by the name used in config.toml's [sources.NAME] tables."""

from __future__ import annotations

from monitor.sources.base import Page, Source, SourceError
from monitor.sources.hackernews import HackerNews
from monitor.sources.reddit import Reddit

SOURCES: dict[str, type[Source]] = {
    HackerNews.name: HackerNews,
    Reddit.name: Reddit,
}

__all__ = ["SOURCES", "Page", "Source", "SourceError"]
