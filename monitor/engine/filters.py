"""Ingest filtering and scoring: mentions made safe to store, query check, exclusions and own accounts,
in-batch dedup, sentiment."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from monitor.config import Brand
from monitor.mention import Mention, ScoredMention
from monitor.sanitize import Unsafe, sanitize
from monitor.sentiment import Scorer
from monitor.sentiment.pool import Pair
from monitor.textmatch import Query, TagSet, TermSet


@dataclass(frozen=True, slots=True)
class BrandFilter:
    """A brand's queries, handles and hashtags, exclusions and own accounts, compiled once."""

    brand: Brand
    queries: tuple[Query, ...]
    exclude: TermSet
    own_accounts: frozenset[str]
    tags: TagSet

    @classmethod
    def of(cls, brand: Brand) -> BrandFilter:
        """Compile a brand's filter. The brand's handles are its own accounts too: what they post is the
        brand speaking, not a mention."""
        own = (*brand.own_accounts, *brand.handles)
        return cls(
            brand,
            tuple(Query(q) for q in brand.queries),
            TermSet(brand.exclude),
            frozenset(a.lower().lstrip("@") for a in own),
            TagSet(brand.handles, brand.hashtags),
        )

    def mentions_brand(self, mention: Mention) -> bool:
        """Whether the text satisfies one of the brand's queries (platform search is fuzzy), or tags one
        of its handles or hashtags (a reply to a handle names it too): name or not, it is about the brand."""
        text = mention.full_text
        return any(q.matches(text) for q in self.queries) or self.tags.search(text)

    def keeps(self, mention: Mention) -> bool:
        """False for the brand's own accounts and for excluded terms."""
        if self.own_accounts and mention.author.lower().lstrip("@") in self.own_accounts:
            return False
        return not self.exclude.search(mention.full_text)


logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Guard:
    """Makes mentions safe to store (monitor.sanitize) before anything else sees them, and keeps count.

    Each kind of problem is logged the first time a platform shows it, then only counted in `seen`
    by (platform, cause): a page or a feed full of one broken field is one line, not a flood.
    """

    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def safe(self, mentions: Iterable[Mention], now: float) -> list[Mention]:
        """The mentions as they may be stored: repaired, or left out (a bad one never costs the others)."""
        kept = []
        for mention in mentions:
            label = repr(f"{mention.platform}:{mention.id[:80]}")  # repr: a lone surrogate cannot be logged as is
            try:
                fixed, fixes = sanitize(mention, now)
            except Unsafe as exc:
                self._note(mention.platform, exc.cause, f"left out {label}: {exc}")
                continue
            for fix in fixes:
                self._note(mention.platform, fix.cause, f"repaired {label}: {fix.detail}")
            kept.append(fixed)
        return kept

    def _note(self, platform: str, cause: str, message: str) -> None:
        key = (platform, cause)
        if not self.seen[key]:
            logger.warning("%s (the next mentions with %s are counted, not logged)", message, cause)
        self.seen[key] += 1


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

    def keep(self, brand_id: str) -> Callable[[Mention], bool]:
        """Whether the brand's filter keeps a mention (its queries, exclusions and own accounts), as
        prepare will: for lookups that cost quota, made only for what is kept (sources.base.Page.enrich)."""
        brand_filter = self.filters[brand_id]
        return lambda mention: brand_filter.mentions_brand(mention) and brand_filter.keeps(mention)

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
        kept = self.select(brand_id, mentions, check_query)
        pairs = self.scorer.pairs([(m.full_text, m.lang, brand_id) for m in kept])
        return self.scored(brand_id, kept, pairs, live_since)

    def select(self, brand_id: str, mentions: Iterable[Mention], check_query: bool = True) -> list[Mention]:
        """The mentions the brand's filters keep, each (platform, id) once."""
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
        return kept

    def scored(
        self, brand_id: str, kept: list[Mention], pairs: list[Pair], live_since: float | None = None
    ) -> list[ScoredMention]:
        """The kept mentions with their (compound, label) pairs and the scorer's version."""
        version = self.scorer.version_of(brand_id)
        return [
            ScoredMention(
                m,
                brand_id,
                compound,
                label,
                live_since is not None and m.created_at.timestamp() < live_since,
                scorer=version,
            )
            for m, (compound, label) in zip(kept, pairs, strict=True)
        ]
