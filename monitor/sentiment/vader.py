"""FastVader: VADER's scores, exactly as the library computes them (tested to the last digit against
it), about five times faster on short posts.

The library rebuilds every text one character at a time to swap emoji for their descriptions,
lowercases the whole post again for each of up to three words before each sentiment word (quadratic in
the post's length), and calls its per-word routine for every word. Here a text with no emoji character
is left as it is (one with emoji goes to the library), each word is lowercased once, only the words in
the lexicon are visited, idioms are looked up as tuples of words, and `compound` skips the
positive/negative/neutral proportions the daemon does not store. Each helper below mirrors one of the
library's routines and says which.
"""

from __future__ import annotations

import functools
import math
import string

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)


@functools.cache
def _tables() -> tuple[dict[str, float], dict[str, str]]:
    """The library's lexicon and emoji descriptions, read once a process (the library's analyzer reads its
    files each time and keeps their text besides the tables: 3 MB an analyzer)."""
    library = SentimentIntensityAnalyzer()
    return library.lexicon, library.emojis


Valences = tuple[list[str], list[float], float]  # words, each one's sentiment, the total the compound reads


class FastVader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """SentimentIntensityAnalyzer, scoring exactly as the library does, faster (see above). Its lexicon is
    its own copy, to add words to; with shared=True it is the process's one table, which no one may change."""

    def __init__(self, shared: bool = False) -> None:
        # Not the library's __init__: the tables are read once (the emoji descriptions are only read).
        lexicon, self.emojis = _tables()
        self.lexicon = lexicon if shared else dict(lexicon)
        self.emoji_chars = frozenset(k for k in self.emojis if len(k) == 1)
        # No emoji is ASCII, so ASCII text (most posts) needs no look for them.
        self.ascii_emoji = any(c.isascii() for c in self.emoji_chars)

    def _has_emoji(self, text: str) -> bool:
        return (self.ascii_emoji or not text.isascii()) and not self.emoji_chars.isdisjoint(text)

    def polarity_scores(self, text: str) -> dict[str, float]:
        """As SentimentIntensityAnalyzer.polarity_scores."""
        if self._has_emoji(text):
            scores: dict[str, float] = super().polarity_scores(text)
            return scores
        result: dict[str, float] = self.score_valence(self._sentiments(text), text)
        return result

    def compound(self, text: str) -> float:
        """polarity_scores(text)["compound"], without the proportions."""
        if self._has_emoji(text):
            return float(super().polarity_scores(text)["compound"])
        sentiments = self._sentiments(text)
        if not sentiments:
            return 0.0
        return compound_of(_emphasised(float(sum(sentiments)), text))

    def valences(self, text: str) -> Valences | None:
        """The words of a text without emoji (lowercased, as the library reads them), the sentiment each
        was given, and the sum the compound normalises (punctuation emphasis included); None for a text
        with emoji, which the library scores on a text of its own."""
        if self._has_emoji(text):
            return None
        sentiments = [float(s) for s in self._sentiments(text)]
        return _words(text, text.split()), sentiments, _emphasised(sum(sentiments), text)

    def _sentiments(self, text: str) -> list[float]:
        """The library's per-word sentiments for a text without emoji (0 for words without valence)."""
        tokens = text.split()
        lowered = _words(text, tokens)
        lexicon = self.lexicon
        sentiments: list[float] = [0] * len(lowered)
        last = len(lowered) - 1
        cap_diff: bool | None = None  # the library's is_cap_diff, worked out when an ALL CAPS word needs it
        for i in [i for i, w in enumerate(lowered) if w in lexicon]:
            word = lowered[i]
            # A booster or "kind of" scores 0, as in the library's loop.
            if word in _BOOSTERS or (word == "kind" and i < last and lowered[i + 1] == "of"):
                continue
            valence = lexicon[word]
            if word == "no" and i != last and lowered[i + 1] in lexicon:
                valence = 0.0
            if (
                (i > 0 and lowered[i - 1] == "no")
                or (i > 1 and lowered[i - 2] == "no")
                or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
            ):
                valence = lexicon[word] * N_SCALAR
            if tokens[i].isupper():
                if cap_diff is None:
                    cap_diff = not all(t.isupper() for t in tokens)
                if cap_diff:
                    valence = valence + C_INCR if valence > 0 else valence - C_INCR
            for start_i in (0, 1, 2):
                if i <= start_i:
                    break
                before = lowered[i - (start_i + 1)]
                if before in lexicon:
                    continue
                scalar = 0.0
                if before in _BOOSTERS:  # the library's scalar_inc_dec
                    scalar = BOOSTER_DICT[before]
                    if valence < 0:
                        scalar *= -1
                    if tokens[i - (start_i + 1)].isupper():
                        if cap_diff is None:
                            cap_diff = not all(t.isupper() for t in tokens)
                        if cap_diff:
                            scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
                    if start_i == 1:
                        scalar = scalar * 0.95
                    elif start_i == 2:
                        scalar = scalar * 0.9
                valence = valence + scalar
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
            if i > 0 and lowered[i - 1] == "least" and "least" not in lexicon:
                valence = _least_check(valence, lowered, i)
            sentiments[i] = valence
        if "but" in lowered:
            sentiments = self._but_check(lowered, sentiments)
        return sentiments


def compound_of(total: float) -> float:
    """The compound of a sum of sentiments, punctuation emphasis added (a valences() total)."""
    if total == 0:
        return 0.0  # the library's normalize(0.0), rounded
    score = total / math.sqrt(total * total + 15)
    return round(-1.0 if score < -1.0 else 1.0 if score > 1.0 else score, 4)


def _emphasised(total: float, text: str) -> float:
    """The library's _punctuation_emphasis added to a sum of sentiments: up to 4 "!", and 2 or 3 "?" (or
    more, capped), away from zero."""
    if total == 0:
        return 0.0
    emphasis = min(text.count("!"), 4) * 0.292
    questions = text.count("?")
    if questions > 1:
        emphasis += questions * 0.18 if questions <= 3 else 0.96
    return total + emphasis if total > 0 else total - emphasis


def _words(text: str, tokens: list[str]) -> list[str]:
    """The library's words, lowercased: whitespace-separated tokens, stripped of punctuation at either end
    unless that leaves 2 characters or fewer. Lowercasing ASCII text first gives the same words lowercased
    (one character for one); other text is lowercased word by word, as the library does. Stripping ASCII
    punctuation keeps a token's cased characters, so a token is ALL CAPS when its word is."""
    if text.isascii():
        return [s if len(s := token.strip(_PUNCTUATION)) > 2 else token for token in text.lower().split()]
    return [(s if len(s := token.strip(_PUNCTUATION)) > 2 else token).lower() for token in tokens]


def _least_check(valence: float, lowered: list[str], i: int) -> float:
    """The library's _least_check, for a word after "least" (not a lexicon word)."""
    if i > 1:
        return valence if lowered[i - 2] in ("at", "very") else float(valence * N_SCALAR)
    return float(valence * N_SCALAR)


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    """As the library's, on the lowercased words, reading only words i-3 to i-1."""
    before = lowered[i - (start_i + 1)]
    if start_i == 0:
        return valence * N_SCALAR if _negated(before) else valence
    if start_i == 1:
        w2, w1 = lowered[i - 2], lowered[i - 1]
        if w2 == "never" and w1 in ("so", "this"):
            return valence * 1.25
        if w2 == "without" and w1 == "doubt":
            return valence
        return valence * N_SCALAR if _negated(before) else valence
    w3, w2, w1 = lowered[i - 3], lowered[i - 2], lowered[i - 1]
    if (w3 == "never" and w2 in ("so", "this")) or w1 in ("so", "this"):
        return valence * 1.25
    if w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
        return valence
    return valence * N_SCALAR if _negated(before) else valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    """As the library's, on the lowercased words, reading only words i-3 to i+2.

    The library joins words with spaces and looks the phrase up; words hold no spaces, so looking up
    the tuple of words among the phrases split at spaces is the same, and a phrase can only start with
    a word in _FIRSTS.
    """
    w3, w2, w1, w0 = lowered[i - 3], lowered[i - 2], lowered[i - 1], lowered[i]
    if w1 in _FIRSTS or w2 in _FIRSTS or w3 in _FIRSTS:
        for seq in ((w1, w0), (w2, w1, w0), (w2, w1), (w3, w2, w1), (w3, w2)):
            if seq in _SPECIAL:
                valence = _SPECIAL[seq]
                break
    if w0 in _FIRSTS:
        if len(lowered) - 1 > i:
            zeroone = (w0, lowered[i + 1])
            if zeroone in _SPECIAL:
                valence = _SPECIAL[zeroone]
        if len(lowered) - 1 > i + 1:
            zeroonetwo = (w0, lowered[i + 1], lowered[i + 2])
            if zeroonetwo in _SPECIAL:
                valence = _SPECIAL[zeroonetwo]
    if w2 in _FIRSTS or w3 in _FIRSTS:
        for n_gram in ((w3, w2, w1), (w3, w2), (w2, w1)):
            if n_gram in _BOOSTER_PHRASES:
                valence = valence + _BOOSTER_PHRASES[n_gram]
    return valence


_SPECIAL = {tuple(phrase.split(" ")): value for phrase, value in SPECIAL_CASES.items()}
_BOOSTER_PHRASES = {tuple(phrase.split(" ")): value for phrase, value in BOOSTER_DICT.items() if " " in phrase}
_FIRSTS = frozenset(words[0] for words in [*_SPECIAL, *_BOOSTER_PHRASES])
_PUNCTUATION = string.punctuation
_BOOSTERS: frozenset[str] = frozenset(BOOSTER_DICT)
_NEGATE: frozenset[str] = frozenset(NEGATE)


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word
