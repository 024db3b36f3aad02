"""Where a backtest's time goes (not a test): mentions a second through run_backtest in this process,
the share of it spent in the rule tick, against the floor of bench/backtests.py (the pipeline's scorer
as a replay calls it, on realistic posts, on as many cores as the backtest's pool uses), timed in turns.

The stream is bench/backtests.py's (its config, its posts and arrivals), read from a replay file as
`monitor backtest --input` reads it; the backtest table itself is bench/backtests.py's, through the CLI.
`python bench/ticks.py` prints, for 100k and 1M mentions over 30 days and 1M over 300 days, the
backtest's rate, the floor's, their ratio and the tick's share.
`python bench/ticks.py 100000:30 1000000:30` picks cases (mentions:days); `--rounds N` sets the turns.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import backtests  # noqa: E402

from monitor.engine import stream  # noqa: E402
from monitor.engine.core import Engine  # noqa: E402
from monitor.engine.replay import run_backtest  # noqa: E402
from monitor.loading import load_all  # noqa: E402

CASES = ((100_000, 30), (1_000_000, 30), (1_000_000, 300))


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


def backtest_once(config: Path, replay: Path, floor: backtests.Floor) -> dict[str, float]:
    """One backtest of the replay (4 brands, shipped rules) with the floor's scorer: seconds, tick
    seconds, ticks and events."""
    loaded, rules = load_all(str(config))
    with _Timed() as timed:
        started = time.perf_counter()
        events = sum(1 for _ in run_backtest(loaded, rules, stream.of_file(replay), scorer=floor.scorer))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "tick_seconds": timed.seconds, "ticks": timed.ticks, "events": events}


def backtest_rate(n: int, days: int, rounds: int = 1) -> dict[str, float]:
    """Median over rounds of the backtest's rate and the floor's on the same cores, timed in turns."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = backtests.write_config(folder)
        replay = folder / "replay.jsonl"
        backtests.write_stream(replay, n * 30 // days, days)
        floor = backtests.Floor(config)
        cores = floor.scorer.workers
        floors, runs = [], []
        try:
            for _ in range(rounds):
                floors.append(floor.rate(cores))
                runs.append(backtest_once(config, replay, floor))
        finally:
            floor.close()
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "mentions": n,
        "days": days,
        "cores": cores,
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
            f" floor {f['floor']:8,.0f}/s on {f['cores']:.0f} cores; ratio {f['ratio']:.2f};"
            f" tick {f['tick_share']:.0%} of the time"
            f" ({f['tick_ms']:.3f} ms a tick); {f['events']} events",
            flush=True,
        )


if __name__ == "__main__":
    main()
