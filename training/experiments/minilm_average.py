"""Step 2b: a probability average of the fine-tuned MiniLM and the logistic words model.

    MONITOR_SEMEVAL=... .venv-mini/bin/python training/experiments/minilm_average.py [TAG]

Reads the probabilities the two earlier steps saved (CACHE/probabilities-frozen.npz,
CACHE/probabilities-finetuned.npz). The weight w (p = w * MiniLM + (1 - w) * words) is chosen on
SemEval 2016 dev-test and train.py's held-out brand mentions (macro recall + macro F1, train.py's
criterion), where both members were fitted without them (the 'fit' models); never on brand_test.
The same w is then applied to the shipped model.npz (trained on everything) on brand_test and labelled.
"""

from __future__ import annotations

import json
import sys

import minilm_common as c
import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, draws: int = 2000) -> tuple[float, float, float]:
    """Macro F1 of guesses a less that of guesses b, and a 95% interval (paired bootstrap over mentions)."""
    rng = np.random.default_rng(14)
    diffs = []
    for _ in range(draws):
        i = rng.integers(0, len(y), len(y))
        diffs.append(c.measure(y[i], a[i])["macroF1"] - c.measure(y[i], b[i])["macroF1"])
    low, high = np.percentile(diffs, [2.5, 97.5])
    return c.measure(y, a)["macroF1"] - c.measure(y, b)["macroF1"], float(low), float(high)


def main() -> int:
    tag = sys.argv[1] if len(sys.argv) > 1 else ""  # minilm_finetune.py --tag
    data = c.load_data()
    sets = c.dev_sets(data)
    ys = {n: c.labels_of(r) for n, r in sets.items()}
    frozen = np.load(c.CACHE / "probabilities-frozen.npz")
    tuned = np.load(c.CACHE / f"probabilities-finetuned{tag}.npz")
    bias = float(tuned["bias"])
    minilm = {n: softmax(tuned[f"logits|{n}"] + np.array([bias, 0.0, 0.0])) for n in sets}
    words = {n: frozen[f"words-fit|{n}"] for n in sets}
    shipped = {n: frozen[f"shipped model.npz|{n}"] for n in ("brand_test (dev)", "labelled")}
    held = ("SemEval 2016 dev-test", "brand held-out (train.py)")
    best = (-1.0, 0.0)
    for w in np.round(np.arange(0.0, 1.01, 0.1), 1):
        m = {n: c.measure(ys[n], (w * minilm[n] + (1 - w) * words[n]).argmax(axis=1)) for n in held}
        print(f"w {w}: SemEval dev-test macroR {m[held[0]]['macroR']:.3f}; held-out brand F1 "
              f"{m[held[1]]['macroF1']:.3f} negR {m[held[1]]['negR']:.3f}")  # fmt: skip
        if m[held[0]]["macroR"] + m[held[1]]["macroF1"] > best[0]:
            best = (m[held[0]]["macroR"] + m[held[1]]["macroF1"], float(w))
    w = best[1]
    results = {
        "words model on 'fit'": {n: c.measure(ys[n], words[n].argmax(axis=1)) for n in sets},
        f"MiniLM fine-tuned on 'fit' (bias {bias})": {n: c.measure(ys[n], minilm[n].argmax(axis=1)) for n in sets},
        f"average, w {w} x MiniLM + words on 'fit'": {
            n: c.measure(ys[n], (w * minilm[n] + (1 - w) * words[n]).argmax(axis=1)) for n in sets
        },
        "shipped model.npz": {n: c.measure(ys[n], p.argmax(axis=1)) for n, p in shipped.items()},
        f"average, w {w} x MiniLM + shipped model.npz": {
            n: c.measure(ys[n], (w * minilm[n] + (1 - w) * p).argmax(axis=1)) for n, p in shipped.items()
        },
    }
    print(f"chosen w {w} (on the first two sets, so those two columns are not unseen for the averages)")
    print(c.table(results, list(sets)))
    print("macro F1 differences, 95% paired-bootstrap intervals (2,000 draws over the mentions):")
    for n in ("brand held-out (train.py)", "brand_test (dev)", "labelled"):
        pairs = {"MiniLM fine-tuned less words model, both on 'fit'": (minilm[n], words[n])}
        if n in shipped:
            pairs[f"average (w {w}) with the shipped model less the shipped model"] = (
                w * minilm[n] + (1 - w) * shipped[n], shipped[n])  # fmt: skip
        for name, (a, b) in pairs.items():
            d, low, high = bootstrap(ys[n], a.argmax(axis=1), b.argmax(axis=1))
            print(f"  {n}: {name}: {d:+.3f} [{low:+.3f}, {high:+.3f}]")
    n = "brand_test (dev)"
    categories = [json.loads(line)["category"] for line in c.BRAND_TEST.read_text(encoding="utf-8").splitlines()]
    guesses = {
        "shipped": shipped[n],
        "words 'fit'": words[n],
        "MiniLM 'fit'": minilm[n],
        f"avg w {w} shipped": w * minilm[n] + (1 - w) * shipped[n],
    }
    print(f"brand_test errors by category (wrong / mentions)\n{'category':<12}" + "".join(f"{k:>20}" for k in guesses))
    for category in sorted(set(categories)):
        inside = np.array([x == category for x in categories])
        cells = "".join(
            f"{int(((p.argmax(axis=1) != ys[n]) & inside).sum()):>14} / {inside.sum():<3}" for p in guesses.values()
        )
        print(f"{category:<12}{cells}")
    print(
        f"{'total':<12}"
        + "".join(f"{int((p.argmax(axis=1) != ys[n]).sum()):>14} / {len(categories):<3}" for p in guesses.values())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
