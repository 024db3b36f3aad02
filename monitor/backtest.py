"""Backtest: replay mentions through the daemon's own pipeline and rule tick on stream time."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.config import Brand, Config
from monitor.engine import Engine
from monitor.errors import InvalidFiles, Problem
from monitor.mention import Mention, from_replay
from monitor.rules.detectors import Evaluation
from monitor.rules.model import Rule
from monitor.sentiment import Scorer
from monitor.store import Store


def read_replay(path: Path) -> list[tuple[Mention, str | None]]:
    """Read a replay JSONL file; InvalidFiles naming each bad line."""
    items: list[tuple[Mention, str | None]] = []
    problems: list[Problem] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidFiles([Problem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                items.append(from_replay(json.loads(line)))
            except (ValueError, TypeError) as exc:
                problems.append(Problem(str(path), number, "", str(exc)))
                if len(problems) >= 20:
                    break
    if problems:
        raise InvalidFiles(problems)
    return items


def stored_mentions(store: Store) -> Iterator[tuple[Mention, str | None]]:
    """The mentions already in a database, as replay items with their brand."""
    for scored in store.iter_mentions():
        yield scored.mention, scored.brand


def with_brand(config: Config, brand_id: str) -> Config:
    """The config with brand_id present (made up with default settings if config lacks it)."""
    if config.brand(brand_id) is not None:
        return config
    made_up = Brand(id=brand_id, name=brand_id, queries=(brand_id,))
    return replace(config, brands=(*config.brands, made_up))


def event_record(event: dict[str, Any]) -> dict[str, Any]:
    """The backtest JSONL record for an alert event (the contract's fields first)."""
    figures = event.get("figures") or {}
    record: dict[str, Any] = {
        "event": event["event"],
        "rule": event["rule"],
        "brand": event["brand"],
        "at": event["at"],
        "incident": event["incident"],
    }
    for key in ("count", "expected", "ratio", "p_value", "threshold", "sentiment_mean", "negative_share"):
        if figures.get(key) is not None:
            record[key] = figures[key]
    if "top" in event:
        record["top"] = [m["id"] for m in event["top"]]
    for key in ("severity", "summary", "terms", "reopened", "growth", "resolved_after"):
        if key in event:
            record[key] = event[key]
    return record


def run_backtest(
    config: Config,
    rules: list[Rule],
    items: Iterable[tuple[Mention, str | None]],
    brand_override: str | None = None,
    scorer: Scorer | None = None,
    trace: Callable[[Rule, str, float, Evaluation], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Replay items in created_at order; yield each alert event the daemon would have sent."""
    if brand_override:
        config = with_brand(config, brand_override)
    store = Store.open(":memory:")
    engine = Engine(config, rules, store, scorer or Scorer.of(config))
    engine.trace = trace
    ordered = sorted(items, key=lambda item: item[0].created_at)
    if not ordered:
        return
    tick = config.tick.total_seconds()
    next_tick = math.floor(ordered[0][0].created_at.timestamp() / tick) * tick + tick
    batch: dict[tuple[str, bool], list[Mention]] = {}

    def flush(now: float) -> None:
        for (brand_id, explicit), mentions in batch.items():
            engine.ingest(brand_id, mentions, now, check_query=not explicit)
        batch.clear()

    for mention, brand in ordered:
        ts = mention.created_at.timestamp()
        while ts >= next_tick:
            flush(next_tick)
            yield from engine.tick(next_tick)
            next_tick += tick
        for brand_id, explicit in _brands_of(engine, mention, brand, brand_override):
            batch.setdefault((brand_id, explicit), []).append(mention)
    # Keep ticking after the stream ends so that open incidents can resolve.
    tail = max((r.horizon.total_seconds() + r.alert.resolve_after.total_seconds() for r in rules), default=0)
    end = next_tick + min(tail, 2 * 86400)
    flush(next_tick)
    while next_tick <= end:
        yield from engine.tick(next_tick)
        next_tick += tick
        if not store.incidents("open") and next_tick > ordered[-1][0].created_at.timestamp() + 3600:
            break
    store.close()


def _brands_of(engine: Engine, mention: Mention, brand: str | None, override: str | None) -> list[tuple[str, bool]]:
    if override:
        return [(override, True)]
    if brand:
        return [(brand, True)] if brand in engine.brands else []
    return [(b, False) for b in engine.pipeline.brands_for(mention)]
