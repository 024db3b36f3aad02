"""What the daemon is built from: the runtime (config, rules, engine, sources) and the delivery."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

import aiohttp

from monitor.config import Config
from monitor.engine import Engine
from monitor.outbox import Delivery
from monitor.poller import SourceHealth
from monitor.rules import Rule
from monitor.sources import SOURCES, Source
from monitor.sources.http import Http

logger = logging.getLogger("monitor.daemon")


@dataclass
class Runtime:
    """What the running daemon holds; swapped as a whole on reload."""

    config: Config
    rules: list[Rule]
    engine: Engine
    sources: dict[str, Source]
    health: dict[str, SourceHealth] = field(default_factory=dict)


def build_sources(config: Config, session: aiohttp.ClientSession) -> dict[str, Source]:
    """One source object per enabled [sources.NAME] table."""
    sources: dict[str, Source] = {}
    for name, source_config in config.sources.items():
        if source_config.enabled:
            http = Http(session, user_agent=config.user_agent, timeout=source_config.timeout.total_seconds())
            sources[name] = SOURCES[name](source_config, http)  # type: ignore[call-arg]
    return sources


def make_delivery(config: Config) -> Delivery:
    """Slack when its token is in the environment, an incoming webhook when only that is, else the
    console (said once)."""
    from monitor.slack import ConsoleDelivery, SlackDelivery, WebhookDelivery

    token = os.environ.get(config.slack.token_env, "")
    if token:
        return SlackDelivery(token=token, channel=config.slack.channel, base_url=config.slack.base_url)
    webhook = os.environ.get(config.slack.webhook_env, "")
    if webhook:
        logger.warning("%s is not set: alerts go through the incoming webhook (no threads, no buttons)",
                       config.slack.token_env)  # fmt: skip
        return WebhookDelivery(webhook)
    logger.warning("%s is not set: alerts will print to the console instead of Slack", config.slack.token_env)
    return ConsoleDelivery(sys.stdout)
