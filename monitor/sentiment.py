"""Sentiment: VADER compound scores, labels from the configured thresholds, and the language gate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

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
    scores: dict[str, int] = {}
    for word in _WORD.findall(text.lower()):
        for lang in _WORD_LANGS.get(word, ()):
            scores[lang] = scores.get(lang, 0) + 1
    if not scores:
        return None
    best = max(scores, key=lambda lang: scores[lang])
    return "en" if scores.get("en", 0) >= scores[best] else best


@dataclass(frozen=True, slots=True)
class Score:
    """A sentiment score; both None when the text was not scored (a language VADER cannot read)."""

    compound: float | None
    label: str | None


class Scorer:
    """Scores texts exactly as the daemon does: VADER with the brand lexicon, config's additions and
    each brand's overrides (one analyzer per lexicon, built once)."""

    def __init__(
        self, config: SentimentConfig, brand_lexicons: Mapping[str, Mapping[str, float]] | None = None
    ) -> None:
        self.config = config
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
    def _analyzer(words: Mapping[str, float]) -> SentimentIntensityAnalyzer:
        analyzer = SentimentIntensityAnalyzer()
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
