"""Response drafts: fill a topic's templates and keep each within its platform's length limit."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from monitor.mention import ScoredMention
from monitor.rules.topics import Topic

LIMITS = {"x": 280, "twitter": 280, "bluesky": 300, "mastodon": 500, "reddit": 2000, "hackernews": 2000}
DEFAULT_LIMIT = 1000
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


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
    topic: Topic,
    brand_name: str,
    status_url: str,
    top: Sequence[ScoredMention],
    overrides: Mapping[str, str],
) -> dict[str, object]:
    """A holding statement and a reply draft for each top mention (a rule's own templates first)."""
    base = {"brand": brand_name, "status_url": status_url, "topic": topic.name}
    holding = fill(overrides.get("holding", topic.holding), {**base, "author": "", "platform": ""})
    replies = []
    for scored in top:
        m = scored.mention
        author = f"@{m.author}" if m.author and m.platform in ("x", "bluesky", "mastodon") else m.author
        values = {**base, "author": author or "there", "platform": m.platform}
        text = fill(overrides.get("reply", topic.reply), values)
        replies.append({"platform": m.platform, "mention": m.id, "text": fit(text, m.platform)})
    return {"topic": topic.name, "holding": holding, "replies": replies}
