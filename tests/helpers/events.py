"""An alert event as the engine builds it, for tests of rendering and delivery."""

from __future__ import annotations

from typing import Any


def event(kind: str = "opened", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": kind, "outbox_id": 7, "incident": "negative-spike/acme/20261124T1400Z", "rule": "negative-spike",
        "kind": "spike", "severity": "high", "brand": "acme", "brand_name": "Acme Cloud",
        "at": "2026-11-24T14:05:00Z", "opened_at": "2026-11-24T14:05:00Z", "window": "1h",
        "summary": "37 negative posts in the last hour (since 13:05 UTC); usually about 6 at this time on a Tuesday;"
                   " about 1 in 10¹¹ by chance",
        "figures": {"count": 37, "expected": 6.1, "ratio": 6.07, "p_value": 1.2e-12, "sentiment_mean": -0.52,
                    "negative_share": 0.8},
        "platforms": {"hackernews": 20, "reddit": 17}, "terms": ["outage", "login"],
        "about": "outage, login · mostly on Hacker News (54%)",
        "top": [{"platform": "reddit", "id": "t3_a", "author": "jane", "author_followers": 1200,
                 "text": "Acme is down", "title": "", "url": "https://www.reddit.com/r/x/comments/a/",
                 "compound": -0.81, "similar": 3}],
        "drafts": {"topic": "outage", "holding": "We're aware.", "replies": [{"platform": "reddit",
                   "mention": "t3_a", "text": "Hi jane, sorry."}]},
        "peak_count": 37, "resolved_after": "1h20m",
    }  # fmt: skip
    return {**base, **overrides}
