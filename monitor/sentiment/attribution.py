"""Why the learned model gave a text its label: each word's and phrase's share of the label's margin.

The model's logits are a sum (model.py): a row of weights for each word and word pair present, the
dense VADER features times theirs, and a bias. A row r adds r[c] - mean(r[others]) to label c's margin
over the other labels, so:
- a word's or a word pair's share is its own row's;
- the VADER features' share is spread over the words VADER scored, each in proportion to the sentiment
  VADER gave it (the compound is a function of their sum), plain VADER's over the text as written and the
  lexicon's over the text its phrases were rewritten in, where a rewritten phrase ("is down" read as
  "outage") takes its word's share;
- the shift of words config or a brand re-weighs (OVERRIDE_LOGITS) is shared by those words.
The shares add up to the margin less the bias's part (and punctuation emphasis's part of VADER's). One
pass over the text: cheap enough for every alert's top posts (rescoring the text without each word took
a batch of two variants a word).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monitor.sentiment.model import Floats

# What the model reads in place of handles and links: not words of the text.
_STAND_INS = frozenset({"@user", "http"})
# A share smaller than this (in logits: a tenth of a unit of log-odds) weighs nothing worth naming.
MIN_SHARE = 0.1
_PUNCTUATION = frozenset("\"'()[]{}<>.,;:!?*_~`-/\\|#@&%$+=^")

Valences = tuple[list[str], list[float], float]  # FastVader.valences: words, their sentiments, the sum


def margin(rows: Floats, label: int) -> Floats:
    """Each row's part of label's logit over the mean of the other two."""
    found: Floats = rows[..., label] - (rows.sum(axis=-1) - rows[..., label]) / 2
    return found


@dataclass(slots=True)
class Shares:
    """Shares of a label's margin, by word or phrase (lowercased, words separated by one space)."""

    found: dict[str, float] = field(default_factory=dict)

    def add(self, key: str, share: float) -> None:
        if share:
            self.found[key] = self.found.get(key, 0.0) + share

    def spread(self, share: float, valences: Valences | None, phrases: Sequence[tuple[str, str]] = ()) -> None:
        """share over the words VADER scored, in proportion to their sentiments; a word a phrase was
        rewritten to counts for the phrase (each occurrence for the next phrase of that word)."""
        if valences is None or not share:
            return
        words, sentiments, total = valences
        if total == 0:
            return
        waiting = [(" ".join(phrase.lower().split()), word) for phrase, word in phrases]
        for word, sentiment in zip(words, sentiments, strict=True):
            if not sentiment:
                continue
            key = word
            for i, (phrase, replaced) in enumerate(waiting):
                if replaced == word:
                    key = phrase
                    del waiting[i]
                    break
            self.add(key, share * sentiment / total)

    def top(self, text: str, hidden: Iterable[str], n: int) -> tuple[tuple[str, float], ...]:
        """The n weightiest words and phrases of text (by size, either way; those for the label first),
        leaving out shares under MIN_SHARE, the stand-ins for handles and links, bare punctuation and the
        hidden words (a brand's name); a word pair only when it weighs more than each of its words alone."""
        written = " ".join(text.lower().split())
        skip = {w.lower() for w in hidden}
        # Ranked first (by size as shown, then by name) and read until n are kept: whether a word or phrase
        # is left out does not depend on the others kept, and most never need looking at.
        ranked = sorted(
            (-abs(shown := round(share, 3)), key, shown, share)
            for key, share in self.found.items()
            if abs(share) >= MIN_SHARE
        )
        kept: list[tuple[str, float]] = []
        for _, key, shown, share in ranked:
            if len(kept) == n:
                break
            parts = key.split()
            if (
                key in _STAND_INS
                or key not in written
                or all(c in _PUNCTUATION for c in key.replace(" ", ""))
                or all(part in skip for part in parts)
            ):
                continue
            if len(parts) == 2 and abs(share) <= max(abs(self.found.get(p, 0.0)) for p in parts):
                continue
            kept.append((key, shown))
        return tuple(sorted(kept, key=lambda item: (item[1] < 0, -abs(item[1]))))


def gram_shares(shares: Shares, grams: Sequence[str], index: dict[str, int], rows: Floats, label: int) -> None:
    """Each gram of the model's vocabulary present (once, as the model counts it) adds its row's margin."""
    present = {g: i for g in grams if (i := index.get(g)) is not None}
    if present:
        found = margin(rows[np.fromiter(present.values(), dtype=np.intp, count=len(present))], label)
        for gram, share in zip(present, found.tolist(), strict=True):
            shares.add(gram, share)
