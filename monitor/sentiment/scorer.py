"""The scorer: VADER compound scores with the lexicons, labels from the configured thresholds, the language
gate, and a process pool for large batches."""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from monitor.config import Config, SentimentConfig
from monitor.sentiment import lexicon
from monitor.sentiment.language import guess_language
from monitor.sentiment.vader import FastVader


@dataclass(frozen=True, slots=True)
class Score:
    """A sentiment score; both None when the text was not scored (a language VADER cannot read)."""

    compound: float | None
    label: str | None


# A batch this large is scored in a process pool (one worker a core), in chunks of POOL_CHUNK: below
# it, starting workers and shipping texts costs more than it saves. Polls bring tens of mentions; bulk
# ingests, imports and backtests bring thousands.
POOL_MIN = 4000
POOL_CHUNK = 1000
Item = tuple[str, str | None, str | None]  # (text, declared language, brand id)
Pair = tuple[float | None, str | None]  # (compound, label), both None when unscored


class Scorer:
    """Scores texts exactly as the daemon does: VADER with the brand lexicon, config's additions and
    each brand's overrides (one analyzer per lexicon, built once). Large batches (score_many) go to a
    pool of worker processes, each holding the same Scorer, started on first need and kept."""

    def __init__(
        self, config: SentimentConfig, brand_lexicons: Mapping[str, Mapping[str, float]] | None = None
    ) -> None:
        self.config = config
        self.brand_lexicons = {b: dict(words) for b, words in (brand_lexicons or {}).items()}
        self.workers = os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self.analyzer = self._analyzer({**lexicon.WORDS, **config.lexicon})
        self.by_brand = {
            brand: self._analyzer({**lexicon.WORDS, **config.lexicon, **words})
            for brand, words in (brand_lexicons or {}).items() if words
        }  # fmt: skip

    @classmethod
    def of(cls, config: Config) -> Scorer:
        """The scorer for a whole config: its sentiment settings and every brand's overrides."""
        return cls(config.sentiment, config.brand_lexicons)

    @staticmethod
    def _analyzer(words: Mapping[str, float]) -> FastVader:
        analyzer = FastVader()
        analyzer.lexicon.update({w.lower(): float(v) for w, v in words.items()})
        return analyzer

    def readable(self, text: str, lang: str | None) -> bool:
        """Whether VADER can read this text: declared or guessed language is one configured."""
        if lang:
            return lang.split("-")[0].lower() in self.config.languages
        guessed = guess_language(text)
        return guessed is None or guessed in self.config.languages

    def label(self, compound: float) -> str:
        """negative / neutral / positive from the configured thresholds."""
        if compound <= self.config.negative:
            return "negative"
        if compound >= self.config.positive:
            return "positive"
        return "neutral"

    def score(self, text: str, lang: str | None = None, brand: str | None = None) -> Score:
        """Compound score and label, or an unscored Score for a language VADER cannot read."""
        return Score(*self.pair(text, lang, brand))

    def pair(self, text: str, lang: str | None = None, brand: str | None = None) -> Pair:
        """score() as a plain (compound, label) pair, as batches and worker processes pass them."""
        if not self.readable(text, lang):
            return None, None
        analyzer = self.by_brand.get(brand, self.analyzer) if brand else self.analyzer
        compound = analyzer.compound(lexicon.rewrite(text))
        return compound, self.label(compound)

    def score_many(self, items: Sequence[Item]) -> list[Score]:
        """Score (text, lang, brand) items, in order; a large batch in the process pool, same results."""
        return [Score(*pair) for pair in self.pairs(items)]

    def pairs(self, items: Sequence[Item]) -> list[Pair]:
        """score_many as (compound, label) pairs (the pipeline's path: no Score object per mention)."""
        if len(items) < POOL_MIN or self.workers < 2:
            return [self.pair(*item) for item in items]
        if self._pool is None:
            # spawn, not fork: the daemon forks from a running event loop with threads.
            config = (self.config.positive, self.config.negative, self.config.languages, dict(self.config.lexicon))
            self._pool = ProcessPoolExecutor(
                self.workers, multiprocessing.get_context("spawn"), _start_worker, (config, self.brand_lexicons)
            )
            atexit.register(self.close)
        chunks = [items[i : i + POOL_CHUNK] for i in range(0, len(items), POOL_CHUNK)]
        return [pair for chunk in self._pool.map(_score_chunk, chunks) for pair in chunk]

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


_WORKER: Scorer | None = None


def _start_worker(config: tuple[Any, ...], brand_lexicons: dict[str, dict[str, float]]) -> None:
    global _WORKER  # one Scorer per worker process, built once
    positive, negative, languages, words = config
    _WORKER = Scorer(SentimentConfig(positive, negative, languages, words), brand_lexicons)
    _WORKER.workers = 1


def _score_chunk(items: Sequence[Item]) -> list[Pair]:
    assert _WORKER is not None
    return [_WORKER.pair(*item) for item in items]
