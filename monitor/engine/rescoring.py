"""Scores from another scorer: finding them in history, and rescoring history in small batches.

Each mention keeps the version of the scorer that labelled it (Scorer.version_of: the model, the
lexicon and the brand's overrides). When they change, a baseline learned from old labels would be
compared with new ones; `monitor status` and `monitor check` say so, and `monitor rescore` writes new
scores over old ones in short transactions, so the daemon runs on meanwhile (it counts the new labels
from its next reload).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from monitor.sentiment import Scorer
from monitor.store import Store

BATCH = 5000  # mentions a transaction: large enough for the scoring pool, short enough for the daemon


@dataclass(frozen=True, slots=True)
class Stale:
    """Mentions of a brand scored by another version than the current one."""

    brand: str
    version: str | None  # None: stored before versions were kept
    count: int
    current: str


def stale_scores(store: Store, scorer: Scorer, brands: Iterable[str], since: float) -> list[Stale]:
    """The brands' mentions created since whose scores another scorer version gave, by brand and version."""
    wanted = set(brands)
    return [
        Stale(brand, version, count, scorer.version_of(brand))
        for brand, version, count in store.scorer_versions(since)
        if brand in wanted and version != scorer.version_of(brand)
    ]


def stale_lines(stale: list[Stale], since_words: str) -> list[str]:
    """What status and check say of them: one line per brand, and what to run."""
    by_brand: dict[str, list[Stale]] = {}
    for item in stale:
        by_brand.setdefault(item.brand, []).append(item)
    lines = []
    for brand, items in by_brand.items():
        versions = ", ".join(f"{i.count:,} by {i.version or 'an unrecorded version'}" for i in items)
        lines.append(
            f"{brand}: mentions of the last {since_words} were scored by another scorer than the current"
            f" {items[0].current} ({versions}): their baselines mix two scorers; run"
            f" `monitor rescore --since {since_words}`"
        )
    return lines


@dataclass
class Rescored:
    """What a rescore did for one brand."""

    rescored: int = 0
    changed: int = 0  # of which the label changed


def rescore(
    store: Store,
    scorer: Scorer,
    brands: Iterable[str],
    since: float,
    batch: int = BATCH,
    progress: Callable[[dict[str, Rescored]], None] | None = None,
) -> dict[str, Rescored]:
    """Score again the brands' mentions created since that another version scored, oldest rows first,
    each batch in its own transaction; mentions stored meanwhile (by the current scorer) are left."""
    current = [(brand, scorer.version_of(brand)) for brand in dict.fromkeys(brands)]
    done: dict[str, Rescored] = {brand: Rescored() for brand, _ in current}
    after, stop = 0, store.last_rowid()
    while after < stop:
        rows = [row for row in store.to_rescore(since, after, batch, current) if row[0] <= stop]
        if not rows:
            break
        after = rows[-1][0]
        pairs = scorer.pairs([(text, lang, brand) for _, brand, text, lang in rows])
        scores = [
            (rowid, compound, label, scorer.version_of(brand))
            for (rowid, brand, _, _), (compound, label) in zip(rows, pairs, strict=True)
        ]
        changed = store.set_scores(scores)
        for rowid, brand, _, _ in rows:
            done[brand].rescored += 1
            done[brand].changed += rowid in changed
        if progress is not None:
            progress(done)
    return done


def history_check(store: Store, scorer: Scorer, brands: Iterable[str], horizon: float, now: float) -> list[str]:
    """The stale_lines for the history the rules read back (horizon seconds, rounded up to days)."""
    days = max(1, int(-(-horizon // 86400)))
    return stale_lines(stale_scores(store, scorer, brands, now - days * 86400), f"{days}d")
