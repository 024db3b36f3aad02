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
from array import array
from collections.abc import Callable, Sequence
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


class Vocabulary:
    """The model's grams by index, in a fifth of the memory of a dict of them (2 MB for 66,000 where the
    dict held 10 MB): a gram is found by its hash in a sorted array, then checked against its UTF-8
    bytes, so that a look-up answers exactly what the dict did, hash collisions included."""

    __slots__ = ("blob", "hasher", "ids", "keys", "starts")

    def __init__(self, text: str, hasher: Callable[[str], int] = hash) -> None:
        """The grams of text, one a line (a gram's index is its line's)."""
        self.hasher = hasher
        self.blob = text.encode() + b"\n"
        ends = np.flatnonzero(np.frombuffer(self.blob, dtype=np.uint8) == 10)
        self.starts = array("q")  # gram i is blob[starts[i] : starts[i + 1] - 1]
        self.starts.frombytes(np.concatenate(([0], ends + 1)).astype(np.int64).tobytes())
        # One gram at a time, not lists of 66,000 strings or numbers: they would leave their memory behind.
        blob, bounds = self.blob, self.starts
        each = (blob[bounds[i] : bounds[i + 1] - 1].decode() for i in range(len(ends)))
        hashes = np.fromiter(map(hasher, each), dtype=np.int64, count=len(ends))
        order = np.argsort(hashes, kind="stable")
        self.keys = hashes[order]
        self.ids = order.astype(np.int32)

    def __len__(self) -> int:
        return len(self.ids)

    def _is(self, index: int, gram: str) -> bool:
        start, data = self.starts[index], gram.encode()
        return self.starts[index + 1] - start == len(data) + 1 and self.blob.startswith(data, start)

    def _after(self, gram: str, at: int) -> int | None:
        """gram's index when another gram with its hash comes first in keys (at), else None."""
        key = self.keys[at]
        for later in range(at + 1, len(self.keys)):
            if self.keys[later] != key:
                break
            if self._is(index := int(self.ids[later]), gram):
                return index
        return None

    def indices(self, texts: Sequence[Sequence[str]]) -> tuple[list[int], list[int]]:
        """The sorted distinct indices of each text's grams that are in the vocabulary, one text's after
        another's, and how many each text has."""
        flat = [g for grams in texts for g in grams]
        hashes = np.fromiter(map(self.hasher, flat), dtype=np.int64, count=len(flat))
        at = np.minimum(np.searchsorted(self.keys, hashes), len(self.keys) - 1)
        matched = np.flatnonzero(self.keys[at] == hashes)
        hits, first = matched.tolist(), self.ids[at[matched]].tolist()
        found, counts, k, end = [], [], 0, 0
        for grams in texts:
            end += len(grams)
            mine: set[int] = set()
            while k < len(hits) and hits[k] < end:
                gram, index = flat[hits[k]], first[k]
                if self._is(index, gram) or (index := self._after(gram, int(at[hits[k]]))) is not None:
                    mine.add(index)
                k += 1
            found += sorted(mine)  # sorted: the same sums in any batch
            counts.append(len(mine))
        return found, counts


@dataclass(frozen=True, slots=True)
class Weights:
    """The trained model: per-gram logits, dense weights and bias."""

    vocabulary: Vocabulary
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
            vocabulary = Vocabulary(str(data["gram_vocabulary"]))
            self.weights = Weights(
                vocabulary=vocabulary,
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
        found, counts = w.vocabulary.indices([grams(words(text)) for text in texts])
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
