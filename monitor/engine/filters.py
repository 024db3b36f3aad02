"""Ingest filtering and scoring: query check, exclusions and own accounts, in-batch dedup, VADER;
and the keys that group copies of one story or link across sites and sources.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit

from monitor.config import Brand
from monitor.mention import Mention, ScoredMention
from monitor.sentiment import Scorer
from monitor.textmatch import Query, TermSet


@dataclass(frozen=True, slots=True)
class BrandFilter:
    """A brand's queries, exclusions and own accounts, compiled once."""

    brand: Brand
    queries: tuple[Query, ...]
    exclude: TermSet
    own_accounts: frozenset[str]

    @classmethod
    def of(cls, brand: Brand) -> BrandFilter:
        """Compile a brand's filter."""
        return cls(
            brand,
            tuple(Query(q) for q in brand.queries),
            TermSet(brand.exclude),
            frozenset(a.lower().lstrip("@") for a in brand.own_accounts),
        )

    def mentions_brand(self, mention: Mention) -> bool:
        """Whether the text satisfies one of the brand's queries (platform search is fuzzy)."""
        text = mention.full_text
        return any(q.matches(text) for q in self.queries)

    def keeps(self, mention: Mention) -> bool:
        """False for the brand's own accounts and for excluded terms."""
        if self.own_accounts and mention.author.lower().lstrip("@") in self.own_accounts:
            return False
        return not self.exclude.search(mention.full_text)


class Pipeline:
    """Turns fetched mentions into scored mentions for one brand, dropping what must not count."""

    def __init__(self, scorer: Scorer, brands: Iterable[Brand]) -> None:
        self.scorer = scorer
        self.filters = {b.id: BrandFilter.of(b) for b in brands}

    def exclude_more(self, brand_id: str, terms: Iterable[str]) -> None:
        """Add exclusions to a brand's config ones (terms added from Slack); later mentions with them are left out."""
        current = self.filters.get(brand_id)
        if current is None:
            return
        known = {t.lower() for t in current.brand.exclude}
        added = tuple(t for t in terms if t.lower() not in known)
        if added:
            self.filters[brand_id] = BrandFilter.of(replace(current.brand, exclude=current.brand.exclude + added))

    def brands_for(self, mention: Mention) -> list[str]:
        """The brands whose queries the mention satisfies."""
        return [bid for bid, f in self.filters.items() if f.mentions_brand(mention)]

    def prepare(
        self,
        brand_id: str,
        mentions: Iterable[Mention],
        live_since: float | None = None,
        check_query: bool = True,
    ) -> list[ScoredMention]:
        """Filter, dedup (within the batch) and score; mentions created before live_since are backfill."""
        brand_filter = self.filters[brand_id]
        seen: set[tuple[str, str]] = set()
        kept: list[Mention] = []
        for mention in mentions:
            key = (mention.platform, mention.id)
            if key in seen:
                continue
            seen.add(key)
            if check_query and not brand_filter.mentions_brand(mention):
                continue
            if not brand_filter.keeps(mention):
                continue
            kept.append(mention)
        pairs = self.scorer.pairs([(m.full_text, m.lang, brand_id) for m in kept])
        return [
            ScoredMention(m, brand_id, compound, label,
                          live_since is not None and m.created_at.timestamp() < live_since)
            for m, (compound, label) in zip(kept, pairs, strict=True)
        ]  # fmt: skip


# Grouping copies. A mention is a copy of an earlier stored one of the same brand, created within
# GROUP_WINDOW of it, when either key matches: its canonical URL (scheme, "www."/"m."/"amp." host
# prefixes, default ports, trailing slashes, an /amp ending, the fragment and tracking parameters
# removed; the other parameters sorted), or its normalised title (lowercase, accents and punctuation
# removed, a trailing " - Publisher" or " | Publisher" dropped) when that has at least
# MIN_TITLE_WORDS words and one of the two is news or they are on different platforms (the same
# headline on a news site and on Reddit, or on Reddit and Hacker News, is one story shared; two
# Reddit posts titled "Is Acme Cloud down right now for anyone else" are two people asking).
# Body text is not a key: people who write the same words are each a voice.
GROUP_WINDOW = 3 * 86400.0
MIN_TITLE_WORDS = 5
NEWS_PLATFORMS = frozenset({"newsapi", "gdelt", "rss"})
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "igsh", "si",
    "mc_cid", "mc_eid", "mkt_tok", "_hsenc", "_hsmi", "hsctatracking", "oly_anon_id", "oly_enc_id", "vero_id",
    "ref", "ref_src", "ref_url", "referrer", "source", "src", "cmpid", "cmp", "s_cid", "ocid", "ncid", "sr_share",
    "share", "smid", "taid", "ito", "guccounter", "guce_referrer", "guce_referrer_sig", "at_medium", "at_campaign",
    "spm", "feature", "fromrss", "rss", "output", "cid", "campaign", "intcmp", "xtor", "__twitter_impression",
})  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "ga_", "__")
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_WORD = re.compile(r"[^\W_]+")
_PUBLISHER = re.compile(r"\s+[-|\u2013\u2014]\s+(?P<name>[^-|\u2013\u2014]+)$")


def canonical_url(url: str) -> str:
    """The URL without what varies between shares of one page ("" for anything not http(s))."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/+", "/", parts.path or "/")
    path = re.sub(r"(/amp|\.amp|/index\.html?)$", "", path, flags=re.IGNORECASE).rstrip("/")
    kept = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    )
    return host + path + (f"?{urlencode(kept)}" if kept else "")


def normalised_title(title: str) -> str:
    """The title as syndicated copies share it ("" when too short to tell stories apart)."""
    text = unicodedata.normalize("NFKD", title.strip())
    text = "".join(c for c in text if not unicodedata.combining(c))
    match = _PUBLISHER.search(text)
    if match and len(match.group("name").split()) <= 5:
        text = text[: match.start()]
    words = _WORD.findall(text.lower())
    return " ".join(words) if len(words) >= MIN_TITLE_WORDS else ""


def same_story_by_title(platform: str, other: str) -> bool:
    """Whether equal titles on these two platforms make their mentions one story (see above)."""
    return platform != other or platform in NEWS_PLATFORMS


def group_keys(mention: Mention) -> tuple[str, str]:
    """(canonical URL, normalised title) of a mention; either may be ""."""
    return _group_keys(mention.url, mention.title)


@functools.lru_cache(maxsize=4096)
def _group_keys(url: str, title: str) -> tuple[str, str]:
    # Cached: an ingest reads a mention's keys twice (linking copies, then the row), close together.
    return (canonical_url(url) if url else ""), (normalised_title(title) if title else "")
