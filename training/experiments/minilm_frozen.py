"""Step 1 of issue 14's measurement: frozen all-MiniLM-L6-v2 sentence vectors + the shipped model's
VADER features, a logistic head (scikit-learn), brand mentions up-weighted as train.py does.

    OMP_NUM_THREADS=1 MONITOR_SEMEVAL=... nice -n 10 .venv-mini/bin/python training/experiments/minilm_frozen.py

Two fits, as train.py does:
- 'fit': trained on SemEval 2013-2016 less 2016 dev-test and the brand training split less train.py's
  held-out part; settings (C, brand weight, negative bias) chosen on those held-out sets by SemEval
  macro recall + held-out brand macro F1 (train.py's criterion). The words model is refitted the same
  way at its shipped settings, so both are measured on SemEval dev-test and held-out brand mentions
  that neither saw.
- 'all': trained on everything at the chosen settings (as the shipped model.npz was); measured on
  bench/brand_test.jsonl and bench/labelled.jsonl only (never trained on).
Probabilities are saved (CACHE/probabilities-*.npz) for the fine-tuning step's average.
"""

from __future__ import annotations

import itertools
import sys
import time

import minilm_common as c
import numpy as np
from sklearn.linear_model import LogisticRegression

C_VALUES = (0.1, 0.5, 2.0)
BRAND_WEIGHTS = (8.0, 16.0, 32.0, 64.0)
NEGATIVE_BIAS = (0.0, 0.25, 0.5)


def features(vectors: np.ndarray, dense: np.ndarray, scaler: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.hstack([(vectors - scaler[0]) / scaler[1], dense]).astype(np.float64)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, cost: float) -> LogisticRegression:
    model = LogisticRegression(C=cost, max_iter=2000, class_weight="balanced")
    model.fit(x, y, sample_weight=w)
    return model


def words_model(train_rows: c.Rows, weights: np.ndarray, measured: dict[str, c.Rows]) -> dict[str, np.ndarray]:
    """train.py's words + pairs + VADER model at its shipped settings, fitted on train_rows: the
    probabilities (with its negative bias) on each measured set."""
    settings = c.train.SETTINGS
    vocabulary = c.train.vocabulary_of([t for t, _ in train_rows])
    featurizer = c.train.Featurizer()
    x = featurizer.matrix([t for t, _ in train_rows], vocabulary)
    model = c.train.fit(x, c.labels_of(train_rows), weights, settings["C"])
    out = {}
    for name, rows in measured.items():
        logits = model.decision_function(featurizer.matrix([t for t, _ in rows], vocabulary))
        logits = logits + np.array([settings["negative_bias"], 0.0, 0.0])
        out[name] = softmax(logits)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main() -> int:
    started = time.perf_counter()
    data = c.load_data()
    sets = c.dev_sets(data)
    encoder = c.Encoder(threads=1)
    vec = {
        "semeval": encoder.cached([t for t, _ in data.semeval], "semeval"),
        "brand": encoder.cached([t for t, _ in data.brand], "brand"),
    }
    for name, rows in sets.items():
        vec[name] = encoder.cached([t for t, _ in rows], "-".join(name.split()[:2]))
    print(f"vectors ready at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    dense = {name: c.dense_vader([t for t, _ in rows]) for name, rows in
             {"semeval": data.semeval, "brand": data.brand, **sets}.items()}  # fmt: skip

    # 'fit': SemEval less dev-test + brand less held-out
    fit_rows = data.semeval + data.brand
    y = c.labels_of(fit_rows)
    v_fit = np.vstack([vec["semeval"], vec["brand"]])
    scaler = (v_fit.mean(axis=0), v_fit.std(axis=0) + 1e-6)
    x = features(v_fit, np.vstack([dense["semeval"], dense["brand"]]), scaler)
    held = ("SemEval 2016 dev-test", "brand held-out (train.py)")
    xs = {name: features(vec[name], dense[name], scaler) for name in sets}
    ys = {name: c.labels_of(rows) for name, rows in sets.items()}
    best: tuple[float, dict[str, float], LogisticRegression] | None = None
    for cost, bw in itertools.product(C_VALUES, BRAND_WEIGHTS):
        w = np.concatenate([np.ones(len(data.semeval)), np.full(len(data.brand), bw)])
        t0 = time.perf_counter()
        model = fit(x, y, w, cost)
        logits = {name: model.decision_function(xs[name]) for name in held}
        for bias in NEGATIVE_BIAS:
            shift = np.array([bias, 0.0, 0.0])
            m = {name: c.measure(ys[name], (logits[name] + shift).argmax(axis=1)) for name in held}
            sem, brand = m[held[0]], m[held[1]]
            print(f"C {cost} brand weight {bw} bias {bias}: SemEval dev-test macroR {sem['macroR']:.3f}; held-out "
                  f"brand F1 {brand['macroF1']:.3f} negR {brand['negR']:.3f} ({time.perf_counter() - t0:.0f} s fit)",
                  file=sys.stderr)  # fmt: skip
            score = sem["macroR"] + brand["macroF1"]
            if best is None or score > best[0]:
                best = (score, {"C": cost, "brand_weight": bw, "negative_bias": bias}, model)
    assert best is not None
    settings, head = best[1], best[2]
    print(f"chosen: {settings}", file=sys.stderr)
    shift = np.array([settings["negative_bias"], 0.0, 0.0])
    results: dict[str, dict[str, dict[str, float]]] = {}
    probabilities: dict[str, np.ndarray] = {}
    probabilities["minilm-frozen-fit"] = {n: softmax(head.decision_function(xs[n]) + shift) for n in sets}
    w = np.concatenate([np.ones(len(data.semeval)), np.full(len(data.brand), c.train.SETTINGS["brand_weight"])])
    t0 = time.perf_counter()
    probabilities["words-fit"] = words_model(fit_rows, w, sets)
    print(f"words model (fit) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    # 'all': everything, as the shipped model
    all_rows = data.semeval + data.semeval_held + data.brand + data.brand_held
    n_sem = len(data.semeval) + len(data.semeval_held)
    v_all = np.vstack([vec["semeval"], vec["SemEval 2016 dev-test"], vec["brand"], vec["brand held-out (train.py)"]])
    d_all = np.vstack([dense["semeval"], dense["SemEval 2016 dev-test"], dense["brand"],
                       dense["brand held-out (train.py)"]])  # fmt: skip
    scaler_all = (v_all.mean(axis=0), v_all.std(axis=0) + 1e-6)
    w_all = np.concatenate([np.ones(n_sem), np.full(len(all_rows) - n_sem, settings["brand_weight"])])
    t0 = time.perf_counter()
    head_all = fit(features(v_all, d_all, scaler_all), c.labels_of(all_rows), w_all, settings["C"])
    print(f"frozen head (all) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    unseen = ("brand_test (dev)", "labelled")
    probabilities["minilm-frozen-all"] = {
        n: softmax(head_all.decision_function(features(vec[n], dense[n], scaler_all)) + shift) for n in unseen
    }
    probabilities["shipped model.npz"] = {n: c.shipped_probabilities([t for t, _ in sets[n]]) for n in unseen}

    names = {
        "shipped model.npz (trained on all)": "shipped model.npz",
        "words model refit on 'fit' (train.py settings)": "words-fit",
        "MiniLM frozen + VADER, head on 'fit'": "minilm-frozen-fit",
        "MiniLM frozen + VADER, head on all": "minilm-frozen-all",
    }
    for label, key in names.items():
        results[label] = {n: c.measure(ys[n], p.argmax(axis=1)) for n, p in probabilities[key].items()}
    print(f"chosen settings {settings}")
    print(c.table(results, list(sets)))
    c.CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(
        c.CACHE / "probabilities-frozen.npz",
        **{f"{key}|{n}": p for key, by in probabilities.items() for n, p in by.items()},
    )
    print(f"total {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
