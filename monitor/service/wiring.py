"""What the daemon is built from: the runtime (config, rules, engine, sources) and the delivery."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from monitor.clock import Clock
from monitor.config import Config
from monitor.engine.core import Engine
from monitor.engine.poll import SourceHealth
from monitor.mention import Mention, ScoredMention
from monitor.rules import Rule
from monitor.sanitize import sanitize
from monitor.service.ingest_endpoint import Item
from monitor.slack.outbox import Delivery
from monitor.sources import SOURCES, Source
from monitor.sources.http import Http

logger = logging.getLogger("monitor.service.daemon")


@dataclass
class Runtime:
    """What the running daemon holds; swapped as a whole on reload."""

    config: Config
    rules: list[Rule]
    engine: Engine
    sources: dict[str, Source]
    health: dict[str, SourceHealth] = field(default_factory=dict)


def build_sources(config: Config, session: aiohttp.ClientSession, clock: Clock) -> dict[str, Source]:
    """One source object per enabled [sources.NAME] table, on the daemon's clock (sweeps note when they start)."""
    sources: dict[str, Source] = {}
    for name, source_config in config.sources.items():
        if source_config.enabled:
            timeout = source_config.timeout.total_seconds()
            http = Http(session, user_agent=config.user_agent, timeout=timeout, clock=clock)
            sources[name] = SOURCES[name](source_config, http)  # type: ignore[call-arg]
    return sources


def make_delivery(config: Config) -> Delivery:
    """Slack when its token is in the environment, an incoming webhook when only that is, else the
    console (said once)."""
    from monitor.slack.delivery import ConsoleDelivery, SlackDelivery, WebhookDelivery

    token = os.environ.get(config.slack.token_env, "")
    if token:
        return SlackDelivery(
            token=token, channel=config.slack.channel, base_url=config.slack.base_url, mention=config.slack.mention
        )
    webhook = os.environ.get(config.slack.webhook_env, "")
    if webhook:
        logger.warning(
            "%s is not set: alerts go through the incoming webhook (no threads, no buttons)", config.slack.token_env
        )
        return WebhookDelivery(webhook, mention=config.slack.mention)
    logger.warning("%s is not set: alerts will print to the console instead of Slack", config.slack.token_env)
    return ConsoleDelivery(sys.stdout)


def ingest_items(engine: Engine, items: Sequence[Item], now: float) -> list[ScoredMention]:
    """Store mentions posted to /ingest; the new ones. An item that names a brand counts for that brand
    (its queries not checked: the sender chose it); one without counts for every brand whose queries it
    satisfies, as in a backtest. Brands not in config are left out (vet_ingest rejects them first)."""
    batches: dict[tuple[str, bool], list[Mention]] = {}
    for mention, brand in items:
        targets = [(brand, False)] if brand else [(b, True) for b in engine.pipeline.brands_for(mention)]
        for brand_id, check_query in targets:
            if brand_id in engine.brands:
                batches.setdefault((brand_id, check_query), []).append(mention)
    stored: list[ScoredMention] = []
    for (brand_id, check_query), mentions in batches.items():
        stored += engine.ingest(brand_id, mentions, now, check_query=check_query)
    return stored


def vet_ingest(config: Config, item: Item, now: float) -> None:
    """Reject an ingested item that names a brand config does not have, or that could only be stored
    repaired (monitor.sanitize, strictly: a count SQLite cannot hold, a lone surrogate or NUL, a time
    further ahead than the clock skew allows): ValueError with the reason, named in the answer."""
    brand = item[1]
    if brand and config.brand(brand) is None:
        known = ", ".join(b.id for b in config.brands)
        raise ValueError(f"brand: {brand!r} is not a brand in config (configured: {known})")
    sanitize(item[0], now, strict=True)
