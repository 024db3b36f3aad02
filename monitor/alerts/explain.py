"""The top mentions of an incident or a digest, near-duplicates folded (what an incident is about, its
terms, is rules/terms.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from monitor.mention import ScoredMention

_URL = re.compile(r"https?://\S+")


def _fingerprint(scored: ScoredMention) -> str:
    text = _URL.sub("", scored.mention.full_text.lower())
    return " ".join(re.findall(r"\w+", text))[:80]


def rank(scored: ScoredMention) -> float:
    """Reach, engagement and negativity together: the post the PR team should read first ranks highest."""
    m = scored.mention
    negativity = -(scored.compound or 0.0)
    engagement = m.likes + m.replies + 2 * m.reposts
    return math.log1p(m.author_followers or 0) + math.log1p(engagement) + 3 * negativity


def top_mentions(mentions: Sequence[ScoredMention], limit: int = 5) -> list[tuple[ScoredMention, int]]:
    """The highest-ranked mentions, each with how many near-identical ones were folded into it."""
    groups: dict[str, list[ScoredMention]] = {}
    for scored in mentions:
        groups.setdefault(_fingerprint(scored), []).append(scored)
    leaders = [(max(group, key=rank), len(group) - 1) for group in groups.values()]
    leaders.sort(key=lambda pair: (rank(pair[0]), pair[1]), reverse=True)
    return leaders[:limit]
