"""Benchmarks (not tests): figures as ratios against a floor measured in the same run.

Ingest: mentions a second through filter, dedup, scoring, storing and rule counting, against VADER
alone scoring the same texts (the floor). Rule tick: its time at two history sizes.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import Brand, Config
from monitor.demo.generate import NEGATIVE, NEUTRAL, OUTAGE_POSTS, POSITIVE
from monitor.engine import Engine
from monitor.mention import Mention
from monitor.rules import load_rules
from monitor.sentiment import Scorer
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
TEXTS = NEUTRAL + POSITIVE + NEGATIVE + OUTAGE_POSTS
START = datetime(2026, 11, 1, tzinfo=UTC)


def mentions(n: int, seed: int = 1, span: timedelta = timedelta(days=30)) -> list[Mention]:
    """n distinct, realistic mentions spread over span."""
    rng = random.Random(seed)
    step = span.total_seconds() / n
    return [
        Mention(
            platform=rng.choice(("hackernews", "reddit")),
            id=f"m{seed}-{i}",
            text=f"{rng.choice(TEXTS)} #{i % 97}",
            created_at=START + timedelta(seconds=i * step),
            author=f"user{rng.randrange(5000)}",
        )
        for i in range(n)
    ]


def engine(folder: Path) -> Engine:
    config = Config(
        path=folder / "config.toml", database=folder / "bench.db", rules_dir=ROOT / "rules",
        brands=(Brand("acme", "Acme Cloud", ('"acme cloud"',)),), sources=MappingProxyType({}),
    )  # fmt: skip
    rules = load_rules(ROOT / "rules", ["acme"], ["hackernews", "reddit"])
    return Engine(config, rules, Store.open(config.database), Scorer.of(config))


def bench_ingest(n: int) -> tuple[float, float]:
    """(floor rate, our rate) in mentions a second."""
    batch = mentions(n)
    analyzer = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for m in batch:
        analyzer.polarity_scores(m.full_text)
    floor = n / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        eng = engine(Path(tmp))
        started = time.perf_counter()
        for i in range(0, n, 100):
            chunk = batch[i : i + 100]
            eng.ingest("acme", chunk, chunk[-1].created_at.timestamp())
        ours = n / (time.perf_counter() - started)
        eng.store.close()
    return floor, ours


def bench_tick(sizes: tuple[int, int]) -> tuple[float, float]:
    """Mean rule-tick time (ms) with the smaller and the larger stored history."""
    times = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            eng = engine(Path(tmp))
            batch = mentions(n, seed=2)
            for i in range(0, n, 1000):
                chunk = batch[i : i + 1000]
                eng.ingest("acme", chunk, chunk[-1].created_at.timestamp())
            now = batch[-1].created_at.timestamp()
            eng.tick(now)  # the first tick after a bulk ingest also forgets old buckets: not a steady tick
            started = time.perf_counter()
            for k in range(1, 21):
                eng.tick(now + 60 * k)
            times.append((time.perf_counter() - started) / 20 * 1000)
            eng.store.close()
    return times[0], times[1]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    floor, ours = bench_ingest(n)
    small, large = bench_tick((10_000, 100_000))
    print(f"{'benchmark':<34}{'figure':>16}{'floor':>16}{'ratio':>8}")
    print(f"{'ingest (mentions/s, ' + str(n) + ')':<34}{ours:>16,.0f}{floor:>16,.0f}{ours / floor:>8.2f}")
    print(f"{'rule tick ms (100k vs 10k stored)':<34}{large:>16.2f}{small:>16.2f}{large / small:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
