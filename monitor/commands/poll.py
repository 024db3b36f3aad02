"""`monitor poll`: one poll of one source for one brand now, for checking queries and credentials:
what comes back, scored, and whether the brand's filters keep it; stored only with --store."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

import aiohttp

from monitor.clock import Clock
from monitor.commands.formats import when
from monitor.config import Brand, Config
from monitor.engine.core import Engine
from monitor.engine.filters import BrandFilter
from monitor.engine.poll import poll_once
from monitor.loading import load_all
from monitor.mention import Mention
from monitor.rules import Rule
from monitor.sentiment import Scorer
from monitor.sources import SOURCES, Source, SourceError
from monitor.sources.http import Http
from monitor.store import Store


def _verdict(brand_filter: BrandFilter, mention: Mention) -> str:
    if not brand_filter.mentions_brand(mention):
        return "dropped: not the brand"
    return "kept" if brand_filter.keeps(mention) else "dropped: excluded"


async def _store_one(config: Config, rules: list[Rule], source: Source, brand: Brand, query: str, now: float) -> str:
    scorer = Scorer.of(config)
    store = Store.open(config.database)
    try:
        engine = Engine(config, rules, store, scorer)
        result = await poll_once(source, brand, query, engine, now)
        engine.mark_watched(brand.id, result.covered_from, now)
    finally:
        store.close()
        scorer.close()
    return f"{source.name} {query!r}: {result.pages} page(s), fetched {result.fetched}, stored {result.stored} new"


async def _show_one(config: Config, source: Source, brand: Brand, query: str, now: float) -> list[str]:
    since = datetime.fromtimestamp(now - config.backfill.total_seconds(), UTC)
    page = await source.search(query, None, since)
    scorer, brand_filter = Scorer.of(config), BrandFilter.of(brand)
    mentions = page.mentions
    if page.enrich is not None:  # lookups for what the filter keeps, as a poll makes them
        mentions = await page.enrich(mentions, lambda m: brand_filter.mentions_brand(m) and brand_filter.keeps(m))
    lines = [f"{source.name} {query!r}: {len(mentions)} mention(s) on the first page (nothing stored)"]
    for m in mentions:
        score = scorer.score(m.full_text, m.lang, brand.id)
        shown = "unscored" if score.compound is None else f"{score.compound:+.2f} {score.label}"
        text = " ".join(m.full_text.split())[:100]
        verdict = _verdict(brand_filter, m)
        lines.append(f"  {when(m.created_at.timestamp())}  {m.id:<14} {shown:<16} {verdict:<22} {text}")
    return lines


async def poll_command(
    config: Config,
    rules: list[Rule],
    source_name: str,
    brand_id: str,
    query: str | None,
    store_it: bool,
    *,
    clock: Clock,
) -> tuple[int, list[str]]:
    """One poll for checking queries and credentials: (exit code, lines to print). Stores only if asked."""
    brand = config.brand(brand_id)
    source_config = config.sources.get(source_name)
    if brand is None:
        return 2, [f"unknown brand {brand_id!r} (configured: {', '.join(b.id for b in config.brands)})"]
    if source_config is None:
        return 2, [f"source {source_name!r} is not configured (configured: {', '.join(config.sources)})"]
    lines: list[str] = []
    now = clock()
    async with aiohttp.ClientSession() as session:
        http = Http(session, config.user_agent, clock=clock, timeout=source_config.timeout.total_seconds())
        source = SOURCES[source_name](source_config, http)  # type: ignore[call-arg]
        for q in [query] if query else list(brand.queries):
            try:
                if store_it:
                    lines.append(await _store_one(config, rules, source, brand, q, now))
                else:
                    lines += await _show_one(config, source, brand, q, now)
            except SourceError as exc:
                return 1, [*lines, f"{source_name} {q!r}: {exc}"]
    return 0, lines


def run(args: argparse.Namespace) -> int:
    """Exit 0, 1 when the platform refused, 2 for an unknown source or brand."""
    config, rules = load_all(args.config)
    code, lines = asyncio.run(
        poll_command(config, rules, args.source, args.brand, args.query, args.store, clock=args.clock)
    )
    print("\n".join(lines), file=sys.stdout if code == 0 else sys.stderr)
    return code
