"""Trains the learned sentiment model and writes monitor/sentiment/model.npz (CI never runs this).

    pip install -e '.[training]'
    MONITOR_SEMEVAL=/path/to/datastories-semeval2017-task4 MONITOR_AIRLINE=/path/to/Real-Time-SciVi \
        python training/train.py [--search] [--embedding]

Data (training/DATA.md): SemEval-2017 Task 4 A, 2013-2016 (about 50k human-labelled tweets; the 2017
test set is never read here), Twitter US Airline Sentiment (14,427 distinct human-labelled tweets to
airlines) and the brand-mention training split: training/brand_train.jsonl (from templates),
training/brand_written.jsonl, brand_more.jsonl, brand_neutral.jsonl and brand_hard.jsonl (written one
by one). The frozen brand test splits (bench/brand_holdout.jsonl, bench/brand_holdout2.jsonl), the
development split (bench/brand_test.jsonl) and TweetEval's test split are never read here:
bench/sentiment_eval.py measures on them.

Features (monitor/sentiment/model.py reads the same): the post's words and word pairs seen in at least
MIN_DF training posts (binary), and VADER's plain and lexicon-adjusted compound scores. A multinomial
logistic regression (scikit-learn, classes weighted to balance) learns the weights; the runtime reads
them with numpy alone.

--search picks C, the brand and airline posts' weights and a bias toward the negative label on
held-out data: SemEval's 2016 dev-test set, a fixed fifth of the airline tweets, 30% of
brand_written.jsonl and 40% of brand_more, brand_neutral and brand_hard (never the test sets), by
SemEval macro recall + brand macro F1, then trains on everything. --embedding adds the mean of the
post's WordLlama token vectors (the `wordllama` wheel's, standardised) to the search, to measure that
block again; the runtime does not read such a model, so it implies --search and writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import corpora  # noqa: E402

from monitor.sentiment import lexicon  # noqa: E402
from monitor.sentiment.model import LABELS, MODEL_FILE, dense_features, grams, normalise, words  # noqa: E402
from monitor.sentiment.vader import FastVader  # noqa: E402

BRAND_TRAIN = ROOT / "training" / "brand_train.jsonl"  # generated from templates (make_brand_train.py)
BRAND_WRITTEN = ROOT / "training" / "brand_written.jsonl"  # written one by one
BRAND_MORE = ROOT / "training" / "brand_more.jsonl"  # written one by one, later, with other brands
BRAND_NEUTRAL = ROOT / "training" / "brand_neutral.jsonl"  # written one by one: news, how-to, sarcasm
BRAND_HARD = ROOT / "training" / "brand_hard.jsonl"  # written one by one: price, policy, traps, sarcasm
MIN_DF = 3
# Chosen by --search (training/DATA.md has its figures); the defaults train the shipped model.
# negative_bias is added to the negative logit: a missed complaint costs a PR team more than a false one.
SETTINGS = {"C": 0.05, "brand_weight": 64.0, "airline_weight": 1.0, "negative_bias": 0.25}
SEARCH_C = (0.05, 0.1, 0.25)
SEARCH_BRAND_WEIGHTS = (16.0, 32.0, 64.0)
SEARCH_AIRLINE_WEIGHTS = (0.5, 1.0)
SEARCH_NEGATIVE_BIAS = (0.0, 0.25, 0.5, 0.75)
Rows = list[tuple[str, str]]
Settings = dict[str, float]


class Featurizer:
    """Texts to feature matrices: grams (binary), dense VADER features, optionally WordLlama vectors."""

    def __init__(self, embedding: bool = False) -> None:
        self.vader = FastVader()
        self.lexical = FastVader()
        self.lexical.lexicon.update(lexicon.WORDS)
        self.embedding: np.ndarray | None = None
        if embedding:
            import importlib.util

            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            spec = importlib.util.find_spec("wordllama")
            assert spec is not None and spec.submodule_search_locations, "pip install wordllama"
            root = Path(next(iter(spec.submodule_search_locations)))
            self.tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
            self.tokenizer.no_padding()
            self.embedding = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"]

    def matrix(
        self, raw: list[str], vocabulary: dict[str, int], scaler: list[np.ndarray] | None = None
    ) -> sparse.csr_matrix:
        """One row a text; with WordLlama vectors, standardised by scaler (filled on first use)."""
        texts = [normalise(t) for t in raw]
        rows, cols = [], []
        for i, text in enumerate(texts):
            for gram in set(grams(words(text))):
                j = vocabulary.get(gram)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        ones = np.ones(len(rows), dtype=np.float32)
        blocks = [
            sparse.csr_matrix((ones, (rows, cols)), shape=(len(texts), len(vocabulary))),
            sparse.csr_matrix(np.array(
                [dense_features(self.vader.compound(t), self.lexical.compound(lexicon.rewrite(t))) for t in raw],
                dtype=np.float32,
            )),
        ]  # fmt: skip
        if self.embedding is not None and scaler is not None:
            vectors = np.zeros((len(texts), self.embedding.shape[1]), dtype=np.float32)
            for row, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
                if encoding.ids:
                    vectors[row] = self.embedding[encoding.ids].astype(np.float32).mean(axis=0)
            if not scaler:
                scaler += [vectors.mean(axis=0), vectors.std(axis=0) + 1e-6]
            blocks.append(sparse.csr_matrix((vectors - scaler[0]) / scaler[1]))
        return sparse.hstack(blocks).tocsr()


def load_brand(path: Path) -> Rows:
    return [(row["text"], row["label"]) for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())]


def vocabulary_of(raw: list[str]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for text in raw:
        counts.update(set(grams(words(normalise(text)))))
    return {g: i for i, g in enumerate(sorted(g for g, n in counts.items() if n >= MIN_DF))}


def fit(x: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, c: float) -> LogisticRegression:
    # Classes weighted to balance (SemEval has 2.5 neutral tweets to each negative one): its measure,
    # macro-averaged recall, and the PR team's (negative recall) both gain.
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x, y, sample_weight=weights)
    return model


def macro(truth: np.ndarray, guess: np.ndarray) -> tuple[float, float, float]:
    """(macro F1, macro recall, negative recall)."""
    f1s, recalls = [], []
    for k in range(3):
        tp = float(np.sum((guess == k) & (truth == k)))
        precision = tp / max(np.sum(guess == k), 1)
        recall = tp / max(np.sum(truth == k), 1)
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return float(np.mean(f1s)), float(np.mean(recalls)), recalls[0]


@dataclass
class Corpora:
    """The training data, each part split into what settings are chosen on (fit) and what they are
    measured on (held out). The final model trains on both."""

    semeval: Rows
    semeval_held: Rows  # SemEval's 2016 dev-test
    airline: Rows
    airline_held: Rows  # a fixed fifth, by tweet id
    brand: Rows
    brand_held: Rows  # 30% of brand_written.jsonl and 40% of brand_more, brand_neutral, brand_hard

    @classmethod
    def load(cls, semeval_repo: str | None, airline_repo: str | None, with_airline: bool = True) -> Corpora:
        airline = corpora.airline(airline_repo) if with_airline else []
        written, more = load_brand(BRAND_WRITTEN), load_brand(BRAND_MORE)
        order = np.random.default_rng(14).permutation(len(written))
        held = {int(i) for i in order[: len(written) * 3 // 10]}
        more = more + load_brand(BRAND_NEUTRAL) + load_brand(BRAND_HARD)  # held out alike: 40% by a hash
        more_held = [zlib.crc32(text.encode()) % 10 < 4 for text, _ in more]
        return cls(
            semeval=corpora.semeval(corpora.SEMEVAL_TRAIN, semeval_repo),
            semeval_held=corpora.semeval(corpora.SEMEVAL_VALIDATION, semeval_repo),
            airline=[(text, label) for text, label, out in airline if not out],
            airline_held=[(text, label) for text, label, out in airline if out],
            brand=load_brand(BRAND_TRAIN)
            + [b for i, b in enumerate(written) if i not in held]
            + [b for b, out in zip(more, more_held, strict=True) if not out],
            brand_held=[b for i, b in enumerate(written) if i in held]
            + [b for b, out in zip(more, more_held, strict=True) if out],
        )

    def parts(self, held_too: bool) -> list[tuple[str, Rows]]:
        """(weight name, rows): the fit parts, with the held-out ones when training the final model."""
        return [("semeval", self.semeval + (self.semeval_held if held_too else [])),
                ("airline", self.airline + (self.airline_held if held_too else [])),
                ("brand", self.brand + (self.brand_held if held_too else []))]  # fmt: skip


def weighted(data: Corpora, held_too: bool) -> tuple[Rows, Callable[[Settings], np.ndarray]]:
    """The training rows and a function from settings to their sample weights."""
    parts = data.parts(held_too)
    rows = [row for _, part in parts for row in part]
    sizes = [(name, len(part)) for name, part in parts]

    def weights(settings: Settings) -> np.ndarray:
        scale = {"semeval": 1.0, "airline": settings["airline_weight"], "brand": settings["brand_weight"]}
        return np.concatenate([np.full(n, scale[name]) for name, n in sizes])

    return rows, weights


def search(data: Corpora, embedding: bool) -> Settings:
    """The settings with the best SemEval dev-test macro recall + held-out brand macro F1."""
    train, weights = weighted(data, held_too=False)
    featurizer = Featurizer(embedding)
    vocabulary = vocabulary_of([t for t, _ in train])
    scaler: list[np.ndarray] = []
    x = featurizer.matrix([t for t, _ in train], vocabulary, scaler)
    held = {"SemEval dev-test": data.semeval_held, "airline": data.airline_held, "brand": data.brand_held}
    held = {name: rows for name, rows in held.items() if rows}  # no airline tweets: none held out
    xs = {name: featurizer.matrix([t for t, _ in rows], vocabulary, scaler) for name, rows in held.items()}
    ys = {name: np.array([LABELS.index(label) for _, label in rows]) for name, rows in held.items()}
    y = np.array([LABELS.index(label) for _, label in train])
    best: tuple[float, Settings] | None = None
    airline_weights = SEARCH_AIRLINE_WEIGHTS if data.airline else (1.0,)  # no airline tweets: nothing to weigh
    for c, bw, aw in itertools.product(SEARCH_C, SEARCH_BRAND_WEIGHTS, airline_weights):
        settings: Settings = {"C": c, "brand_weight": bw, "airline_weight": aw}
        model = fit(x, y, weights(settings), c)
        logits = {name: model.decision_function(xs[name]) for name in held}
        for bias in SEARCH_NEGATIVE_BIAS:
            shift = np.array([bias, 0.0, 0.0])
            measured = {name: macro(ys[name], (logits[name] + shift).argmax(axis=1)) for name in held}
            sem, brand = measured["SemEval dev-test"], measured["brand"]
            air = f"; held-out airline macro F1 {measured['airline'][0]:.3f}" if "airline" in measured else ""
            print(f"{'with' if embedding else 'without'} WordLlama vectors, C {c}, brand weight {bw}, airline weight "
                  f"{aw}, negative bias {bias}: SemEval dev-test macro recall {sem[1]:.3f}{air}; "
                  f"held-out brand mentions ({len(data.brand_held)}) macro F1 {brand[0]:.3f}, "
                  f"negative recall {brand[2]:.3f}", file=sys.stderr)  # fmt: skip
            if best is None or sem[1] + brand[0] > best[0]:
                best = (sem[1] + brand[0], {**settings, "negative_bias": bias})
    assert best is not None
    return best[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--semeval", help="datastories-semeval2017-task4 clone or bare mirror")
    parser.add_argument("--airline", help="eidehua/Real-Time-SciVi clone or bare mirror (Tweets.csv)")
    parser.add_argument(
        "--with-airline",
        action="store_true",
        help="add the airline tweets (CC BY-NC-SA: the weights are then for non-commercial use)",
    )
    parser.add_argument("--search", action="store_true", help="choose the weights, C and bias first")
    parser.add_argument("--embedding", action="store_true", help="measure WordLlama vectors as a feature block")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()

    started = time.perf_counter()
    data = Corpora.load(args.semeval, args.airline, args.with_airline)
    print(", ".join(f"{name} {len(rows)}" for name, rows in vars(data).items()), file=sys.stderr)
    settings: Settings = dict(SETTINGS)
    if args.search or args.embedding:
        settings = search(data, args.embedding)
        print(f"chosen: {settings}", file=sys.stderr)
        if args.embedding:
            return 0

    train, weights = weighted(data, held_too=True)
    vocabulary = vocabulary_of([t for t, _ in train])
    x = Featurizer().matrix([t for t, _ in train], vocabulary)
    y = np.array([LABELS.index(label) for _, label in train])
    model = fit(x, y, weights(settings), settings["C"])
    accuracy = float(np.mean(model.predict(x) == y))
    print(f"trained on {len(train)} posts, {len(vocabulary)} grams; training accuracy {accuracy:.3f}", file=sys.stderr)
    write(args.out, model, vocabulary, {**settings, "posts": len(train), "min_df": MIN_DF})
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def write(out: Path, model: LogisticRegression, vocabulary: dict[str, int], settings: dict[str, float]) -> None:
    """Saves the weights, named by a hash of them."""
    assert list(model.classes_) == [0, 1, 2]
    coef = model.coef_.T.astype(np.float32)  # (features, 3)
    w_grams, w_dense = coef[: len(vocabulary)], coef[len(vocabulary) :]
    bias = (model.intercept_ + np.array([settings["negative_bias"], 0.0, 0.0])).astype(np.float32)
    names = "\n".join(vocabulary)
    digest = hashlib.sha256(names.encode() + w_grams.tobytes() + w_dense.tobytes() + bias.tobytes()).hexdigest()
    np.savez_compressed(
        out,
        gram_vocabulary=np.array(names),
        grams=w_grams,
        dense=w_dense,
        bias=bias,
        version=np.array(f"learned-1.{digest[:8]}"),
        settings=np.array(json.dumps(settings)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
