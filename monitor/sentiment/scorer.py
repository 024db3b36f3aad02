"""The scorer: the learned model over VADER (or VADER with the lexicons alone, scorer = "vader"), the
language gate, per-brand overrides, explanations and the scorer's version; large batches go to a process
pool (pool.py)."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.config import Config, SentimentConfig
from monitor.sentiment import attribution, language, lexicon, model, pool, vader
from monitor.sentiment.language import guess_language
from monitor.sentiment.pool import POOL_MIN, Item, Pair, Scoring
from monitor.sentiment.vader import FastVader


@dataclass(frozen=True, slots=True)
class Score:
    """A sentiment score; both None when the text was not scored (a language the scorer cannot read)."""

    compound: float | None
    label: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a text got its label: the model's confidence in it and the words and phrases that weighed
    most, each with its share of the label's logit margin over the others (negative: it pulled the other
    way)."""

    compound: float | None
    label: str | None
    confidence: float | None
    weights: tuple[tuple[str, float], ...]
    version: str


# How far a word config or a brand re-weighs moves the model's label: its share of VADER's compound
# with the lexicons, times this, is added to the positive logit and taken from the negative one (half
# each). A word of -3 alone in a post (compound -0.61) moves the odds of negative against positive about
# e^5 = 150 times; `crash = 0` moves nothing.
OVERRIDE_LOGITS = 8.0


class _Lexical:
    """VADER with the brand lexicon and one set of config and brand words (`words`), and what the
    learned model does not read: those words (their weight reaches the label through OVERRIDE_LOGITS)
    and the brand's name (a name is not an opinion: "Crashpad" must not read as "crash")."""

    def __init__(self, analyzer: FastVader, words: Mapping[str, float], name: str = "") -> None:
        self.analyzer = analyzer
        self.words = _pattern(list(words))
        self.hidden = _pattern([*words, *([name] if name else [])])
        self.added = frozenset(w.lower() for w in {**lexicon.WORDS, **words} if w.isalpha())
        self.odd = tuple(w.lower() for w in words if not w.isalpha())  # "c'mon", "f***": looked up one by one
        self.first = name.lower().split()[0] if name.split() else ""  # a cheap test before the pattern
        # An ASCII name is cut out of ASCII text by str.find, as the pattern would cut it where it is
        # written with single spaces (anything left of it goes to the pattern).
        plain = name.isascii() and name.split() and all(part.isalnum() for part in name.split())
        self.simple = " ".join(name.lower().split()) if plain else ""

    def compound(self, text: str) -> float:
        return float(self.analyzer.compound(lexicon.rewrite(text)))

    def compounds(self, text: str, plain: FastVader) -> tuple[float, float]:
        """(plain VADER's compound, this one's): one VADER pass when no lexicon word or phrase is in
        the text (most posts), as the two are then the same."""
        rewritten = lexicon.rewrite(text)
        compound = float(self.analyzer.compound(rewritten))
        if rewritten == text:
            lowered = text.lower()
            found = lowered.translate(_LETTERS).split() if lowered.isascii() else _WORD.findall(lowered)
            if self.added.isdisjoint(found) and not any(word in lowered for word in self.odd):
                return compound, compound
        return float(plain.compound(text)), compound

    def model_text(self, text: str) -> str:
        text = model.normalise(text)
        if self.hidden is None:
            return text
        if self.words is None:
            lowered = text.lower()
            if self.first not in lowered:
                return text
            if self.simple and lowered.isascii():  # the name alone, found without the pattern
                cut = _cut(text, lowered, self.simple)
                if self.first not in cut.lower():
                    return cut
        return self.hidden.sub("", text)

    def override(self, text: str) -> float:
        """The share of the compound that the re-weighed words make (0 for a text without them)."""
        if self.words is None or not self.words.search(text):
            return 0.0
        return self.compound(text) - self.compound(self.words.sub("", text))


def _pairs_of(probabilities: np.ndarray) -> list[Pair]:
    """(compound, label) of each row of the model's probabilities: P(positive) - P(negative), and the
    likeliest label."""
    differences = (probabilities[:, 2].astype(np.float64) - probabilities[:, 0]).tolist()
    labels = probabilities.argmax(axis=1).tolist()
    return [(round(d, 4), model.LABELS[label]) for d, label in zip(differences, labels, strict=True)]


def _analyzer(words: Mapping[str, float]) -> FastVader:
    analyzer = FastVader()
    analyzer.lexicon.update({**lexicon.WORDS, **{w.lower(): float(v) for w, v in words.items()}})
    return analyzer


def _cut(text: str, lowered: str, name: str) -> str:
    """text without the whole-word occurrences of name (and a possessive 's), as _pattern's would."""
    pieces, start, at = [], 0, lowered.find(name)
    while at >= 0:
        end = at + len(name)
        before = lowered[at - 1] if at else " "
        after = lowered[end] if end < len(lowered) else " "
        if not (before.isalnum() or before in "_'") and not (after.isalnum() or after in "_'"):
            pieces.append(text[start:at])
            start = end
        elif lowered.startswith("'s", end) and not (before.isalnum() or before in "_'"):
            after2 = lowered[end + 2] if end + 2 < len(lowered) else " "
            if not (after2.isalnum() or after2 in "_'"):
                pieces.append(text[start:at])
                start = end + 2
        at = lowered.find(name, end)
    return "".join(pieces) + text[start:] if pieces else text


# Letters and the rest, as str.translate turns lowercase ASCII into words separated by spaces.
_LETTERS = {c: " " for c in range(128) if not chr(c).isalpha()}
_WORD = re.compile(r"[^\W\d_]+")


def _pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """Whole words or names, any case, spaces as any whitespace, with a possessive 's."""
    if not phrases:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?:'s)?(?![\w'])", re.IGNORECASE)


class Scorer:
    """Scores texts exactly as the daemon does. With the learned model (the default): its label and
    compound = P(positive) - P(negative), from the post's words and VADER's compound scores, plain and
    with the lexicons (the brand lexicon, config's [sentiment.lexicon] and the brand's [brands.lexicon]).
    A word config or a brand re-weighs is left out of the model's reading of the text, so it counts as the
    lexicon says: `crash = 0` makes "crash" carry nothing for that brand. Large batches (score_many) go
    to a pool of worker processes, each holding the same Scorer, started on first need and kept."""

    def __init__(
        self,
        config: SentimentConfig,
        brand_lexicons: Mapping[str, Mapping[str, float]] | None = None,
        brand_names: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.brand_lexicons = {b: dict(words) for b, words in (brand_lexicons or {}).items()}
        self.brand_names = dict(brand_names or {})
        # The cores this process may run on (taskset, a cgroup's cpuset), not the machine's: pinned to one
        # core, a pool's workers would only take turns on it.
        self.workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self.learned = config.scorer == "learned"
        language.preload()
        self.model = model.load() if self.learned else None
        self.plain = FastVader(shared=True)  # plain VADER: never added to
        self.analyzer = _analyzer(config.lexicon)  # VADER with the lexicons (scorer = "vader" scores with it)
        self.lexical = _Lexical(self.analyzer, config.lexicon)
        self.by_brand: dict[str, _Lexical] = {}
        for brand in {*self.brand_lexicons, *self.brand_names}:
            words = self.brand_lexicons.get(brand, {})
            analyzer = _analyzer({**config.lexicon, **words}) if words else self.analyzer
            self.by_brand[brand] = _Lexical(analyzer, {**config.lexicon, **words}, self.brand_names.get(brand, ""))
        base = self.model.version if self.model is not None else "vader-1"
        self.version = f"{base}+lexicon-{self._digest({}, '')}"
        self.versions = {
            brand: f"{base}+lexicon-{self._digest(self.brand_lexicons.get(brand, {}), self.brand_names.get(brand, ''))}"
            for brand in self.by_brand
        }

    @classmethod
    def of(cls, config: Config) -> Scorer:
        """The scorer for a whole config: its sentiment settings, every brand's overrides and names."""
        return cls(config.sentiment, config.brand_lexicons, {b.id: b.name for b in config.brands})

    def _digest(self, brand_words: Mapping[str, float], name: str) -> str:
        """A short hash of everything besides the model that decides a score."""
        parts = {
            "words": sorted(lexicon.WORDS.items()),
            "phrases": [(p.pattern, w) for p, w in lexicon.PHRASES],
            "config": sorted(self.config.lexicon.items()),
            "brand": sorted(brand_words.items()),
            "name": name if self.learned else "",
            "languages": [sorted(self.config.languages), language.LANGUAGES, language.MIN_CONFIDENCE],
            "thresholds": [] if self.learned else [self.config.negative, self.config.positive],
        }
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:8]

    def version_of(self, brand: str | None) -> str:
        """The version of the scores of a brand's mentions (brands with overrides have their own)."""
        return self.versions.get(brand, self.version) if brand else self.version

    def readable(self, text: str, lang: str | None) -> bool:
        """Whether the scorer can read this text: declared or identified language is one configured."""
        if lang:
            return lang.split("-")[0].lower() in self.config.languages
        guessed = guess_language(text)
        return guessed is None or guessed in self.config.languages

    def label(self, compound: float) -> str:
        """negative / neutral / positive from the configured thresholds (scorer = "vader")."""
        if compound <= self.config.negative:
            return "negative"
        if compound >= self.config.positive:
            return "positive"
        return "neutral"

    def score(self, text: str, lang: str | None = None, brand: str | None = None) -> Score:
        """Compound score and label, or an unscored Score for a language the scorer cannot read."""
        return Score(*self.pair(text, lang, brand))

    def pair(self, text: str, lang: str | None = None, brand: str | None = None) -> Pair:
        """score() as a plain (compound, label) pair, as batches and worker processes pass them."""
        return self._pairs([(text, lang, brand)])[0]

    def _lexical_of(self, brand: str | None) -> _Lexical:
        """VADER with the lexicons a brand's mentions are scored with (its own words, if it has any)."""
        return self.by_brand.get(brand, self.lexical) if brand else self.lexical

    def _valences(self, text: str, lexical: _Lexical) -> tuple[vader.Valences | None, vader.Valences | None]:
        """Plain VADER's and the lexicons' valences of a text (the two VADER passes shares spread)."""
        return self.plain.valences(text), lexical.analyzer.valences(lexicon.rewrite(text))

    def _compounds(
        self, text: str, lexical: _Lexical, valences: tuple[vader.Valences | None, vader.Valences | None]
    ) -> tuple[float, float]:
        """lexical.compounds(text), read from the text's valences where it has them (each VADER pass once:
        the compounds the model reads come from the valences the shares spread); a text with emoji has none."""
        plain, lexicons = valences
        if plain is None or lexicons is None:
            return lexical.compounds(text, self.plain)
        return vader.compound_of(plain[2]), vader.compound_of(lexicons[2])

    def probabilities(self, texts: Sequence[str], brand: str | None = None) -> np.ndarray:
        """The learned model's (n, 3) probabilities of negative, neutral and positive."""
        lexical = self._lexical_of(brand)
        return self._probabilities(texts, lexical, [lexical.compounds(t, self.plain) for t in texts])

    def _probabilities(
        self, texts: Sequence[str], lexical: _Lexical, compounds: Sequence[tuple[float, float]]
    ) -> np.ndarray:
        assert self.model is not None, 'scorer = "vader" has no probabilities'
        dense = [model.dense_features(*pair) for pair in compounds]
        logits = self.model.logits([lexical.model_text(t) for t in texts], dense)
        if lexical.words is not None:
            shifts = np.array([lexical.override(t) for t in texts], dtype=np.float32) * (OVERRIDE_LOGITS / 2)
            logits[:, 2] += shifts
            logits[:, 0] -= shifts
        return model.softmax(logits)

    def _pairs(self, items: Sequence[Item]) -> list[Pair]:
        readable = [i for i, (text, lang, _) in enumerate(items) if self.readable(text, lang)]
        pairs: list[Pair] = [(None, None)] * len(items)
        if self.model is None:
            for i in readable:
                text, _, brand = items[i]
                lexical = self._lexical_of(brand)
                compound = lexical.compound(text)
                pairs[i] = (compound, self.label(compound))
            return pairs
        by_brand: dict[str | None, list[int]] = {}
        for i in readable:
            brand = items[i][2]
            by_brand.setdefault(brand if brand in self.by_brand else None, []).append(i)
        for brand, indices in by_brand.items():
            for i, pair in zip(
                indices, _pairs_of(self.probabilities([items[i][0] for i in indices], brand)), strict=True
            ):
                pairs[i] = pair
        return pairs

    def explain(self, text: str, lang: str | None = None, brand: str | None = None, top: int = 5) -> Explanation:
        """The score with the model's confidence and the words and phrases that weighed most toward its
        label or against it: each one's share of the label's logit margin (sentiment/attribution.py)."""
        return self.explain_many([text], lang, brand, top)[0]

    def explain_many(
        self, texts: Sequence[str], lang: str | None = None, brand: str | None = None, top: int = 5
    ) -> list[Explanation]:
        """explain of each text, the model read once for them all (its sums are the same in any batch):
        an alert's top posts cost one model call, not one each."""
        version = self.version_of(brand)
        found: list[Explanation] = []
        chosen: list[int] = []  # the texts the model reads
        for i, text in enumerate(texts):
            if self.model is None or not self.readable(text, lang):
                found.append(Explanation(*self.pair(text, lang, brand), None, (), version))
            else:
                found.append(Explanation(None, None, None, (), version))  # explained below
                chosen.append(i)
        if not chosen:
            return found
        lexical = self._lexical_of(brand)
        valences = [self._valences(texts[i], lexical) for i in chosen]
        compounds = [self._compounds(texts[i], lexical, v) for i, v in zip(chosen, valences, strict=True)]
        probabilities = self._probabilities([texts[i] for i in chosen], lexical, compounds)
        hidden = self.brand_names.get(brand, "").split() if brand else []
        for row, (i, (compound, label)) in enumerate(zip(chosen, _pairs_of(probabilities), strict=True)):
            column = model.LABELS.index(str(label))
            shares = self._shares(texts[i], lexical, column, compounds[row], valences[row])
            confidence = round(float(probabilities[row, column]), 3)
            found[i] = Explanation(compound, label, confidence, shares.top(texts[i], hidden, top), version)
        return found

    def shares(self, text: str, brand: str | None, column: int) -> attribution.Shares:
        """Every word's and phrase's share of the margin of the label in column (attribution.py)."""
        lexical = self._lexical_of(brand)
        valences = self._valences(text, lexical)
        return self._shares(text, lexical, column, self._compounds(text, lexical, valences), valences)

    def _shares(
        self,
        text: str,
        lexical: _Lexical,
        column: int,
        compounds: tuple[float, float],
        valences: tuple[vader.Valences | None, vader.Valences | None],
    ) -> attribution.Shares:
        assert self.model is not None, 'scorer = "vader" has no margins'
        weights = self.model.weights
        shares = attribution.Shares()
        grams = model.grams(model.words(lexical.model_text(text)))
        attribution.gram_shares(shares, grams, weights.gram_index, weights.grams, column)
        dense = attribution.margin(weights.dense, column) * np.array(model.dense_features(*compounds), dtype=np.float32)
        shares.spread(float(dense[0]), valences[0])
        shares.spread(float(dense[1:].sum()), valences[1], lexicon.rewritten(text))
        if lexical.words is not None and (found := lexical.words.findall(text)):
            shift = lexical.override(text) * OVERRIDE_LOGITS / 2
            part = float(attribution.margin(np.array([-shift, 0.0, shift]), column)) / len(found)
            for word in found:
                shares.add(" ".join(word.lower().split()), part)
        return shares

    def score_many(self, items: Sequence[Item]) -> list[Score]:
        """Score (text, lang, brand) items, in order; a large batch in the process pool, same results."""
        return [Score(*pair) for pair in self.pairs(items)]

    def pairs(self, items: Sequence[Item]) -> list[Pair]:
        """score_many as (compound, label) pairs (the pipeline's path: no Score object per mention);
        pairs_later collected at once, so a scorer that labels otherwise overrides pairs_later alone."""
        return self.pairs_later(items)()

    def pairs_later(self, items: Sequence[Item]) -> Callable[[], list[Pair]]:
        """pairs(items), handed to the process pool now where pairs would use it, collected by calling the
        result (a replay ticks through one chunk while the pool scores the next); a batch too small for
        the pool is scored when collected."""
        if len(items) < POOL_MIN or self.workers < 2:
            return lambda: self._pairs(items)
        if self._pool is None:
            config = (
                self.config.positive,
                self.config.negative,
                self.config.languages,
                dict(self.config.lexicon),
                self.config.scorer,
            )
            self._pool = pool.start(self.workers, _worker, (config, self.brand_lexicons, self.brand_names))
            atexit.register(self.close)
        futures = pool.submit(self._pool, items)
        return lambda: [pair for future in futures for pair in future.result()]

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _worker(
    config: tuple[Any, ...], brand_lexicons: dict[str, dict[str, float]], brand_names: dict[str, str]
) -> Scoring:
    """A pool worker's scoring (pool.py): a scorer of the same settings, on one core."""
    positive, negative, languages, words, scorer = config
    worker = Scorer(SentimentConfig(positive, negative, languages, words, scorer), brand_lexicons, brand_names)
    worker.workers = 1
    return worker._pairs
