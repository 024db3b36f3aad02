"""Backtest throughput at several densities (not a test): mentions a second through run_backtest,
against the pipeline's own scorer on the same texts on one core (the floor), timed in turns.

`python bench/ticks.py` prints, for 100k and 1M mentions over 30 days and 100k a month over 300 days,
the backtest's rate, the floor's, their ratio and the share of the backtest spent in the rule tick.
`python bench/ticks.py 100000:30 1000000:30` picks cases (mentions:days); `--rounds N` sets the turns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402

from monitor.engine.core import Engine  # noqa: E402
from monitor.engine.replay import run_backtest  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.sentiment import POOL_MIN, Scorer  # noqa: E402

CASES = ((100_000, 30), (1_000_000, 30), (1_000_000, 300))
FLOOR_SAMPLE = 50_000  # texts the floor scores (its rate does not depend on how many)


def floor_rate(texts: list[str], brands: list[str], scorer: Scorer) -> float:
    """The pipeline's scorer alone, texts a second on one core (batches under the process pool's size)."""
    items = [(t, None, b) for t, b in zip(texts, brands, strict=True)]
    batch = POOL_MIN - 1
    started = time.perf_counter()
    for i in range(0, len(items), batch):
        scorer.score_many(items[i : i + batch])
    return len(items) / (time.perf_counter() - started)


class _Timed:
    """Wraps Engine.tick to add up the time spent in it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.ticks = 0
        self.original = Engine.tick

    def __enter__(self) -> _Timed:
        original, timed = self.original, self

        def tick(engine: Engine, now: float) -> list[dict[str, Any]]:
            started = time.perf_counter()
            try:
                return original(engine, now)
            finally:
                timed.seconds += time.perf_counter() - started
                timed.ticks += 1

        Engine.tick = tick  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        Engine.tick = self.original  # type: ignore[method-assign]


def backtest_once(n: int, days: int, scorer: Scorer) -> dict[str, float]:
    """One backtest of n mentions over days (4 brands, shipped rules): seconds, tick seconds, events."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = scale.config(Path(tmp))
        rules = load_rules(ROOT / "rules", list(scale.BRANDS), ["hackernews", "reddit"])
        items = scale.stream(n, timedelta(days=days), seed=3)
        with _Timed() as timed:
            started = time.perf_counter()
            events = sum(1 for _ in run_backtest(cfg, rules, items, scorer=scorer))
            seconds = time.perf_counter() - started
    return {"seconds": seconds, "tick_seconds": timed.seconds, "ticks": timed.ticks, "events": events}


def backtest_rate(n: int, days: int, rounds: int = 1) -> dict[str, float]:
    """Median over rounds of the backtest's rate and the floor's, timed in turns (floor, ours, ...)."""
    with tempfile.TemporaryDirectory() as tmp:
        scorer = Scorer.of(scale.config(Path(tmp)))
    sample = scale.stream(min(n, FLOOR_SAMPLE), timedelta(days=days), seed=3)
    texts, brands = [m.full_text for m, _ in sample], [b for _, b in sample]
    floors, runs = [], []
    try:
        for _ in range(rounds):
            floors.append(floor_rate(texts, brands, scorer))
            runs.append(backtest_once(n, days, scorer))
    finally:
        scorer.close()
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "mentions": n,
        "days": days,
        "seconds": seconds,
        "rate": n / seconds,
        "floor": statistics.median(floors),
        "ratio": n / seconds / statistics.median(floors),
        "tick_share": statistics.median(r["tick_seconds"] / r["seconds"] for r in runs),
        "tick_ms": statistics.median(r["tick_seconds"] / max(1, r["ticks"]) * 1e3 for r in runs),
        "events": runs[-1]["events"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="mentions:days (default: 100000:30 1000000:30 1000000:300)")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    cases = [tuple(map(int, c.split(":"))) for c in args.cases] or list(CASES)
    for n, days in cases:
        f = backtest_rate(n, days, args.rounds)
        print(
            f"backtest {n:>9,} mentions over {days:>3} days: {f['seconds']:7.1f} s, {f['rate']:8,.0f}/s;"
            f" floor {f['floor']:8,.0f}/s; ratio {f['ratio']:.2f}; tick {f['tick_share']:.0%} of the time"
            f" ({f['tick_ms']:.3f} ms a tick); {f['events']} events",
            flush=True,
        )


if __name__ == "__main__":
    main()
