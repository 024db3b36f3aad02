"""Daily and weekly digests per brand: volume and sentiment against the previous period, incidents,
top posts. Built as events and sent through the outbox like alerts."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from monitor.alerts.events import iso, mention_dict
from monitor.alerts.explain import top_mentions
from monitor.config import Brand
from monitor.store import Store

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def _totals(summary: dict[str, dict[str, float]]) -> dict[str, Any]:
    count = sum(int(p["count"]) for p in summary.values())
    scored = sum(int(p["scored"]) for p in summary.values())
    negative = sum(int(p["negative"]) for p in summary.values())
    compound = sum(p["compound_sum"] for p in summary.values())
    return {
        "count": count,
        "sentiment_mean": round(compound / scored, 3) if scored else None,
        "negative_share": round(negative / scored, 3) if scored else None,
    }


def _change(now_value: float, before: float) -> str:
    if not before:
        return "new" if now_value else "no change"
    return f"{(now_value - before) / before:+.0%}"


def build_digest(store: Store, brand: Brand, period: str, now: float, zone: tzinfo) -> dict[str, Any]:
    """The digest event for a brand over the period ending now."""
    span = PERIODS[period].total_seconds()
    current = store.period_summary(brand.id, now - span, now)
    previous = store.period_summary(brand.id, now - 2 * span, now - span)
    totals, before = _totals(current), _totals(previous)
    word = "the day before" if period == "daily" else "the week before"
    summary = f"{totals['count']} mentions ({_change(totals['count'], before['count'])} on {word})"
    if totals["sentiment_mean"] is not None:
        was = f", was {before['sentiment_mean']:+.2f}" if before["sentiment_mean"] is not None else ""
        summary += f", sentiment {totals['sentiment_mean']:+.2f}{was}"
    if totals["negative_share"] is not None:
        was = f", was {before['negative_share']:.0%}" if before["negative_share"] is not None else ""
        summary += f", {totals['negative_share']:.0%} negative{was}"
    incidents = store.incidents_opened(brand.id, now - span, now)
    top = top_mentions(store.most_engaged(brand.id, now - span, now), limit=5)
    local = datetime.fromtimestamp(now, zone)
    return {
        "event": "digest",
        "period": period,
        "incident": f"digest/{period}/{brand.id}/{local:%Y%m%d}",
        "brand": brand.id,
        "brand_name": brand.name,
        "at": iso(now),
        "since": iso(now - span),
        "title": f"{period.capitalize()} digest · {brand.name} · {local:%a %d %b %Y}",
        "summary": summary,
        "figures": {**totals, "previous": before},
        "platforms": {name: int(p["count"]) for name, p in sorted(current.items(), key=lambda kv: -kv[1]["count"])},
        "incidents": [
            {"id": i.id, "rule": i.rule, "opened_at": iso(i.opened_at), "peak_count": i.peak_count, "status": i.status}
            for i in incidents
        ],
        "top": [mention_dict(m, similar) for m, similar in top],
        "chart": _chart(store, brand, period, now, zone),
    }


def _chart(store: Store, brand: Brand, period: str, now: float, zone: tzinfo) -> dict[str, Any]:
    """The period's volume and negatives: per hour for a daily digest, per day for a weekly one."""
    width = 3600.0 if period == "daily" else 86400.0
    buckets = int(PERIODS[period].total_seconds() // width)
    start = now - buckets * width
    volume, negative = store.volume(brand.id, start, width, buckets)
    unit = "hour" if period == "daily" else "day"
    return {
        "kind": "digest",
        "start": start,
        "width": width,
        "volume": volume,
        "negative": negative,
        "zone": str(getattr(zone, "key", "UTC")),
        "title": f"{brand.name} · mentions per {unit}",
        "alt": f"mentions and negative mentions per {unit} over the {period} digest's period",
    }
