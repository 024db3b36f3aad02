"""Sentiment quality on a labelled set of realistic brand mentions: plain VADER against ours.

bench/labelled.jsonl holds 200+ mentions written by hand across topics and platforms (outages,
billing, security, support, shipping, product quality, ordinary talk, praise), each labelled
negative, neutral or positive as a PR person would read it. Same thresholds for both scorers.
"""

from __future__ import annotations

import json
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import SentimentConfig
from monitor.sentiment import Scorer

LABELS = ("negative", "neutral", "positive")
SET = Path(__file__).resolve().parent / "labelled.jsonl"


def macro_f1(truth: list[str], guess: list[str]) -> float:
    """The mean over labels of F1 (precision and recall per label)."""
    scores = []
    for label in LABELS:
        tp = sum(t == g == label for t, g in zip(truth, guess, strict=True))
        fp = sum(g == label != t for t, g in zip(truth, guess, strict=True))
        fn = sum(t == label != g for t, g in zip(truth, guess, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def evaluate() -> list[tuple[str, float, float, float]]:
    """(scorer, accuracy, macro F1, negative recall) for plain VADER and ours."""
    items = [json.loads(line) for line in SET.read_text().splitlines() if line.strip()]
    truth = [item["label"] for item in items]
    config = SentimentConfig()
    ours = Scorer(config)
    vader = SentimentIntensityAnalyzer()
    guesses = {
        "plain VADER": [ours.label(vader.polarity_scores(item["text"])["compound"]) for item in items],
        "monitor (VADER + brand lexicon)": [ours.score(item["text"], "en").label or "neutral" for item in items],
    }
    rows = []
    for name, guess in guesses.items():
        accuracy = sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth)
        negatives = [g for t, g in zip(truth, guess, strict=True) if t == "negative"]
        recall = sum(g == "negative" for g in negatives) / len(negatives)
        rows.append((name, accuracy, macro_f1(truth, guess), recall))
    return rows


def main() -> int:
    rows = evaluate()
    print(f"sentiment on {SET.name} ({sum(1 for _ in SET.open())} labelled mentions)")
    print(f"{'scorer':<34}{'accuracy':>10}{'macro F1':>10}{'neg recall':>12}")
    for name, accuracy, f1, recall in rows:
        print(f"{name:<34}{accuracy:>10.3f}{f1:>10.3f}{recall:>12.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
