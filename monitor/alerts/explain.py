"""What an incident is about: over-represented terms and the top mentions, near-duplicates folded."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from monitor.mention import ScoredMention

_TOKEN = re.compile(r"[a-z][a-z0-9'’\-]{2,}")
_URL = re.compile(r"https?://\S+")
_STOPWORDS = frozenset(
    """the and for are but not you your all any can had has have her was one our out they them their there
    this that with what when who will would could should from into just like more most than then about
    after also been being did does doing don't its it's i'm i've very some such only over own same too
    off again further once here why how both each few other because until while where which these those
    were what's get got going gonna really still even much many make made now use using used day today
    yesterday via http https www com amp""".split()
)


def tokens(text: str) -> list[str]:
    """Lowercased content words of a text (URLs and stopwords dropped)."""
    return [t.strip("'’-") for t in _TOKEN.findall(_URL.sub(" ", text.lower())) if t not in _STOPWORDS]


def distinctive_terms(
    incident: Sequence[ScoredMention], baseline: Iterable[ScoredMention], ignore: Iterable[str], limit: int = 5
) -> list[str]:
    """Terms most over-represented in the incident's mentions against the baseline (smoothed log-odds)."""
    skip = {w.lower() for phrase in ignore for w in re.findall(r"\w+", phrase)}
    doc_freq: Counter[str] = Counter()
    for scored in incident:
        doc_freq.update(set(tokens(scored.mention.full_text)) - skip)
    base_freq: Counter[str] = Counter()
    base_docs = 0
    for scored in baseline:
        base_docs += 1
        base_freq.update(set(tokens(scored.mention.full_text)))
    n = max(1, len(incident))
    scored_terms = []
    for term, count in doc_freq.items():
        if count < 2 and n > 2:
            continue
        share = (count + 0.5) / (n + 1)
        base_share = (base_freq.get(term, 0) + 0.5) / (base_docs + 1)
        lift = math.log(share / base_share)
        if lift > 0:
            scored_terms.append((lift * count, term))
    scored_terms.sort(reverse=True)
    return [term for _, term in scored_terms[:limit]]


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
