"""The learned model: a multinomial logistic regression over a post's words and word pairs and VADER's
compound scores, trained offline (training/train.py) and shipped as model.npz (numpy only here).

Scoring a post is a regular expression for its words, a dictionary look-up for each word and word
pair, a sum of the rows found, four VADER features and a softmax. WordLlama's subword vectors were
measured as a further feature block (training/DATA.md) and left out: no better on held-out data, and
they tripled the cost of scoring.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

LABELS = ("negative", "neutral", "positive")
MODEL_FILE = Path(__file__).with_name("model.npz")

Floats = npt.NDArray[np.float32]

_HANDLE = re.compile(r"(?<![\w@])@\w[\w.@-]*")
_URL = re.compile(r"https?://\S+|www\.\S+")
# Words for the word and word-pair features: letters (with apostrophes), numbers, and single symbols
# such as emoji, "!" and "?". Lowercased first.
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9\x00-\x40\x5b-\x60\x7b-\x7f]|[!?]")


def normalise(text: str) -> str:
    """The text as the model reads it: handles as @user and links as http (as in its training data)."""
    if "@" in text:
        text = _HANDLE.sub("@user", text)
    if "http" in text or "www." in text:
        text = _URL.sub("http", text)
    return text


def words(text: str) -> list[str]:
    """The words, numbers and symbols of a normalised text, lowercased."""
    return _WORD.findall(text.lower())


def grams(tokens: Sequence[str]) -> list[str]:
    """Words and adjacent word pairs ("not working"), the features' keys."""
    return [*tokens, *(f"{a} {b}" for a, b in itertools.pairwise(tokens))]


def dense_features(vader: float, lexicon: float) -> list[float]:
    """VADER's plain compound and the lexicon-adjusted one, with its negative and positive part."""
    return [vader, lexicon, min(lexicon, 0.0), max(lexicon, 0.0)]


@dataclass(frozen=True, slots=True)
class Weights:
    """The trained model: per-gram logits, dense weights and bias."""

    gram_index: dict[str, int]
    grams: Floats  # (grams, 3): a gram's logits (negative, neutral, positive), added once per gram present
    dense: Floats  # (len(dense_features), 3)
    bias: Floats  # (3,)
    version: str


@cache
def load(path: Path = MODEL_FILE) -> Model:
    """The model in path, loaded once per process."""
    return Model(path)


class Model:
    """Logits for texts."""

    def __init__(self, path: Path = MODEL_FILE) -> None:
        with np.load(path, allow_pickle=False) as data:
            vocabulary = str(data["gram_vocabulary"]).split("\n")
            self.weights = Weights(
                gram_index={g: i for i, g in enumerate(vocabulary)},
                grams=data["grams"].astype(np.float32),
                dense=data["dense"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                version=str(data["version"]),
            )
        if len(vocabulary) != self.weights.grams.shape[0]:
            raise RuntimeError(f"{path.name}: {len(vocabulary)} grams named, {self.weights.grams.shape[0]} weighed")
        self.version = self.weights.version

    def logits(self, texts: Sequence[str], dense: Sequence[Sequence[float]]) -> Floats:
        """(n, 3) logits for normalised texts with their dense features."""
        w = self.weights
        features = np.asarray(dense, dtype=np.float32).reshape(len(texts), w.dense.shape[0])
        out = np.tile(w.bias, (len(texts), 1))
        for k in range(w.dense.shape[0]):  # elementwise, not a matrix product: the same sums in any batch
            out += features[:, k : k + 1] * w.dense[k]
        index = w.gram_index
        found: list[int] = []
        counts: list[int] = []
        for text in texts:
            hits = sorted({i for g in grams(words(text)) if (i := index.get(g)) is not None})  # sorted: same sums
            found += hits
            counts.append(len(hits))
        if found:
            rows = w.grams[np.asarray(found)]
            has = np.asarray(counts) > 0
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[has]
            out[has] += np.add.reduceat(rows, starts, axis=0)
        return out


def softmax(logits: Floats) -> Floats:
    """Row-wise probabilities."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: Floats = shifted / shifted.sum(axis=1, keepdims=True)
    return result
