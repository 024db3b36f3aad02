"""Sentiment: VADER compound scores, labels from the configured thresholds, and the language gate."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
)

from monitor import lexicon
from monitor.config import Config, SentimentConfig

# Function words that say which language a Latin-script text is in. VADER reads English only: a
# text that reads as another language is stored unscored rather than scored as neutral.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are was to of in it that this for not with you have but on my they be at".split()),
    "de": frozenset("der die das und ist nicht ich ein eine mit auf für sie es zu den von sich auch wir".split()),
    "fr": frozenset("le la les et est un une des pas je que qui dans pour sur avec ce il elle nous vous".split()),
    "es": frozenset("el la los las y es un una que de no en por para con se lo pero muy está son".split()),
    "it": frozenset("il lo la gli le e è un una che di non per con sono ma mi ho questo anche".split()),
    "nl": frozenset("de het een en is niet ik dat met voor op van zijn maar ook wel heb dit".split()),
    "pt": frozenset("o a os as e é um uma que de não em para com se mas muito está são eu".split()),
}
_WORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _word in _words:
        _WORD_LANGS[_word] = (*_WORD_LANGS.get(_word, ()), _lang)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_SPACES = {c: " " for c in range(128) if not chr(c).isalpha()}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_NON_LATIN_LETTER = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]", re.UNICODE)


def guess_language(text: str) -> str | None:
    """A cheap guess: "en", another ISO 639-1 code, "other" (not Latin script), or None (no clue)."""
    if not text.isascii():
        letters = len(_LETTER.findall(text))
        if not letters:
            return None
        if len(_NON_LATIN_LETTER.findall(text)) > letters / 2:
            return "other"
    # On ASCII text the letters are a-z: a translate and a split find the words a regex would, faster.
    words = text.lower().translate(_ASCII_SPACES).split() if text.isascii() else _WORD.findall(text.lower())
    scores: dict[str, int] = {}
    for word in words:
        for lang in _WORD_LANGS.get(word, ()):
            scores[lang] = scores.get(lang, 0) + 1
    if not scores:
        return None
    best = max(scores, key=lambda lang: scores[lang])
    return "en" if scores.get("en", 0) >= scores[best] else best


class FastVader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """VADER without its needless work, scoring exactly as the library does (to the last digit; see
    tests/test_sentiment.py). The library rebuilds every text one character at a time to swap emoji for
    their descriptions, and lowercases the whole post again for each of up to three words before each
    sentiment word (quadratic in the post's length); here a text with no emoji character is left as it
    is, and only the words a check reads are lowercased.
    """

    def __init__(self) -> None:
        super().__init__()
        self.emoji_chars = frozenset(k for k in self.emojis if len(k) == 1)

    def polarity_scores(self, text: str) -> dict[str, float]:
        """As SentimentIntensityAnalyzer.polarity_scores."""
        if not self.emoji_chars.isdisjoint(text):
            scores: dict[str, float] = super().polarity_scores(text)
            return scores
        sentitext = SentiText(text.strip())
        sentiments: list[float] = []
        words = sentitext.words_and_emoticons
        lexicon = self.lexicon
        has_but = False
        for i, item in enumerate(words):
            lowered = item.lower()
            has_but = has_but or lowered == "but"
            kind_of = lowered == "kind" and i < len(words) - 1 and words[i + 1].lower() == "of"
            # A booster, "kind of", or a word without valence scores 0, as the library's loop and its
            # sentiment_valence do; only sentiment words take the long road.
            if lowered in _BOOSTERS or kind_of or lowered not in lexicon:
                sentiments.append(0)
            else:
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        if has_but:  # the library's check lowercases the post again to find out
            sentiments = self._but_check(words, sentiments)
        result: dict[str, float] = self.score_valence(sentiments, sentitext.text)
        return result

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        """As the library's, reading only words i-3 to i-1."""
        before = words[i - (start_i + 1)].lower()
        if start_i == 0:
            return valence * N_SCALAR if _negated(before) else valence
        if start_i == 1:
            w2, w1 = words[i - 2].lower(), words[i - 1].lower()
            if w2 == "never" and w1 in ("so", "this"):
                return valence * 1.25
            if w2 == "without" and w1 == "doubt":
                return valence
            return valence * N_SCALAR if _negated(before) else valence
        w3, w2, w1 = words[i - 3].lower(), words[i - 2].lower(), words[i - 1].lower()
        if (w3 == "never" and w2 in ("so", "this")) or w1 in ("so", "this"):
            return valence * 1.25
        if w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
            return valence
        return valence * N_SCALAR if _negated(before) else valence

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
        """As the library's, reading only words i-3 to i+2."""
        w3, w2, w1, w0 = (words[k].lower() for k in (i - 3, i - 2, i - 1, i))
        for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}", f"{w3} {w2} {w1}", f"{w3} {w2}"):
            if seq in SPECIAL_CASES:
                valence = SPECIAL_CASES[seq]
                break
        if len(words) - 1 > i:
            zeroone = f"{w0} {words[i + 1].lower()}"
            if zeroone in SPECIAL_CASES:
                valence = SPECIAL_CASES[zeroone]
        if len(words) - 1 > i + 1:
            zeroonetwo = f"{w0} {words[i + 1].lower()} {words[i + 2].lower()}"
            if zeroonetwo in SPECIAL_CASES:
                valence = SPECIAL_CASES[zeroonetwo]
        for n_gram in (f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"):
            if n_gram in BOOSTER_DICT:
                valence = valence + BOOSTER_DICT[n_gram]
        return valence


_BOOSTERS: frozenset[str] = frozenset(BOOSTER_DICT)
_NEGATE: frozenset[str] = frozenset(NEGATE)


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


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
        if not self.readable(text, lang):
            return Score(None, None)
        analyzer = self.by_brand.get(brand, self.analyzer) if brand else self.analyzer
        compound = round(float(analyzer.polarity_scores(lexicon.rewrite(text))["compound"]), 4)
        return Score(compound, self.label(compound))

    def score_many(self, items: Sequence[Item]) -> list[Score]:
        """Score (text, lang, brand) items, in order; a large batch in the process pool, same results."""
        if len(items) < POOL_MIN or self.workers < 2:
            return [self.score(*item) for item in items]
        if self._pool is None:
            # spawn, not fork: the daemon forks from a running event loop with threads.
            config = (self.config.positive, self.config.negative, self.config.languages, dict(self.config.lexicon))
            self._pool = ProcessPoolExecutor(
                self.workers, multiprocessing.get_context("spawn"), _start_worker, (config, self.brand_lexicons)
            )
            atexit.register(self.close)
        chunks = [items[i : i + POOL_CHUNK] for i in range(0, len(items), POOL_CHUNK)]
        return [Score(*pair) for chunk in self._pool.map(_score_chunk, chunks) for pair in chunk]

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


def _score_chunk(items: Sequence[Item]) -> list[tuple[float | None, str | None]]:
    assert _WORKER is not None
    return [(s.compound, s.label) for s in (_WORKER.score(*item) for item in items)]
