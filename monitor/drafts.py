"""Response drafts: pick the incident's topic, fill a template, keep within each platform's limit."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from monitor.mention import ScoredMention
from monitor.textmatch import TermSet

LIMITS = {"x": 280, "twitter": 280, "bluesky": 300, "mastodon": 500, "reddit": 2000, "hackernews": 2000}
DEFAULT_LIMIT = 1000

TOPICS: dict[str, tuple[str, ...]] = {
    "outage": ("down", "outage", "not working", "offline", "unavailable", "error", "errors", "502", "500",
               "can't log in", "cannot log in", "timeout", "timeouts", "broken"),
    "billing": ("charged", "refund", "billing", "invoice", "overcharged", "charged twice", "subscription",
                "payment"),
    "security": ("breach", "hacked", "leak", "leaked", "vulnerability", "exposed", "compromised",
                 "phishing"),
    "support": ("support", "no response", "ticket", "ignored", "customer service", "waiting"),
}  # fmt: skip

HOLDING = {
    "outage": "We're aware that some {brand} users are having trouble right now and our team is "
    "working on it. We'll post updates at {status_url} until it's fixed.",
    "billing": "We've seen reports of billing problems with {brand}. We're looking into them now and "
    "will make sure anyone affected is made whole. Updates: {status_url}",
    "security": "We're aware of reports about the security of {brand} and are investigating them as a "
    "priority. We'll share what we find as soon as we can: {status_url}",
    "support": "We've heard that some {brand} customers are waiting too long for help. We're on it, "
    "and we'll reach out to everyone affected.",
    "general": "We've seen the conversation about {brand} and we're looking into it. We'll share an update soon.",
}
REPLY = {
    "outage": "Hi {author}, sorry about this: we know {brand} is having problems and we're working on "
    "a fix. Live updates: {status_url}",
    "billing": "Hi {author}, sorry for the trouble with your bill. Please send us a DM with your "
    "account email and we'll sort it out.",
    "security": "Hi {author}, thanks for raising this. We take it seriously and are investigating. "
    "Updates: {status_url}",
    "support": "Hi {author}, sorry you've been kept waiting. Please DM us your ticket number and "
    "we'll pick it up right away.",
    "general": "Hi {author}, thanks for the feedback about {brand}. We're looking into it and will follow up.",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TOPIC_TERMS = {topic: TermSet(terms) for topic, terms in TOPICS.items()}


def pick_topic(mentions: Sequence[ScoredMention]) -> str:
    """The topic whose trigger terms appear in the most mentions ("general" when none do)."""
    hits: Counter[str] = Counter()
    for scored in mentions:
        text = scored.mention.full_text
        for topic, terms in _TOPIC_TERMS.items():
            if terms.search(text):
                hits[topic] += 1
    return hits.most_common(1)[0][0] if hits else "general"


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill placeholders; a sentence that needs a value we don't have (a status page) is left out."""
    sentences = _SENTENCE.split(template.strip())
    kept = [s for s in sentences if values.get("status_url") or "{status_url}" not in s]
    text = " ".join(kept).format_map(_Blank(values))
    return " ".join(text.split())


def fit(text: str, platform: str) -> str:
    """Cut a draft to the platform's length limit, at a word boundary."""
    limit = LIMITS.get(platform, DEFAULT_LIMIT)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def make_drafts(
    topic: str,
    brand_name: str,
    status_url: str,
    top: Sequence[ScoredMention],
    overrides: Mapping[str, str],
) -> dict[str, object]:
    """A holding statement and a reply draft for each top mention."""
    base = {"brand": brand_name, "status_url": status_url, "topic": topic}
    holding = fill(overrides.get("holding", HOLDING[topic]), {**base, "author": "", "platform": ""})
    replies = []
    for scored in top:
        m = scored.mention
        author = f"@{m.author}" if m.author and m.platform in ("x", "bluesky", "mastodon") else m.author
        values = {**base, "author": author or "there", "platform": m.platform}
        text = fill(overrides.get("reply", REPLY[topic]), values)
        replies.append({"platform": m.platform, "mention": m.id, "text": fit(text, m.platform)})
    return {"topic": topic, "holding": holding, "replies": replies}
