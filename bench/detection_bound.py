"""How early and how right any count detector could be on bench/detection_eval.py's streams: an oracle.

The evaluator's goal for issue 18 is recall and precision of at least 0.95 with a median delay of at
most 15 minutes, over spikes of 5x and more. Whether that is reachable at all on these streams is a
question about the streams, not about our rules: this script answers it with detectors that know what
no real one can.

- **oracle (knows the swings)**: told by the generator each brand's usual rate of negative posts at every
  moment (its daily and weekly rhythm, its weekly peak, and the day's and the hour's random swing), and
  which posts belong to decoys (one author's repeats), so that it counts only the usual negatives and the
  spikes' own. At each minute it tests the count in each of its windows against that exact expectation
  (Poisson tail), the level shared between the windows by their length as our rules share max_p_value.
  With the true null its false alarms are chance alone, set by the level; its misses and delays are
  what the counts themselves do not yet show. No detector that reads counts does better.
- **oracle (knows the rhythm)**: the same, told the rhythm and the weekly peak but not the swings, as a
  seasonal baseline learned without error would be.
- **CUSUM oracle (knows the swings and the spikes)**: told the usual rate as the first, and also what a
  spike adds (m - 1 average hours of the brand's negatives an hour, for m = 5, 8 and 12): for a change
  from one known rate to another, Page's CUSUM of the minute counts' log-likelihood ratio is the
  detector with the least worst-case delay at a given rate of false alarms (Lorden, 1971; Moustakides,
  1986). One CUSUM per size, reset at 0, firing when any reaches the threshold h (about one false alarm
  per e^h minutes of a brand, each).

Each is run at a range of levels, so the output is the trade-off itself: recall, precision and median
delay at each level, and which levels (if any) meet the goal. Detections are judged exactly as
detection_eval.py judges its detectors (judge, episodes of firing a new one after an hour's quiet).

Usage: python bench/detection_bound.py [--seeds 101-105] [--windows 5,10,15,20,30,45,60,90,120]
"""

from __future__ import annotations

import argparse
import bisect
import math
import multiprocessing
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detection_eval import Outcome, Score, _episodes, judge, seeds
from streams import MINUTE, SCENARIOS, START, STEP, TARGET_SIZE, WARMUP_DAYS, Stream, generate

from monitor.rules.stats import poisson_upper_tail

LEVELS = (3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6, 1e-7)
ORACLES = ("knows the swings", "knows the rhythm")
CUSUM = "CUSUM, knows the swings and the spikes"
THRESHOLDS = (8.0, 9.0, 9.25, 9.5, 9.75, 10.0, 11.0, 12.0, 14.0, 16.0)
COUNTED = ("usual", "spike")  # repeats are one author's, questions and launches are not negative


def expectation(rates: list[float]) -> list[float]:
    """Cumulative expected count at each step boundary, so that any span's expectation is two look-ups."""
    out = [0.0]
    for rate in rates:
        out.append(out[-1] + rate)
    return out


def expected_between(cumulative: list[float], rates: list[float], a: float, b: float) -> float:
    t0 = START.timestamp()

    def upto(t: float) -> float:
        i = min(len(rates), max(0, int((t - t0) // STEP)))
        part = (t - t0 - i * STEP) / STEP if i < len(rates) else 0.0
        return cumulative[i] + part * (rates[i] if i < len(rates) else 0.0)

    return upto(b) - upto(a)


def negatives(stream: Stream, name: str) -> list[float]:
    """The times of the posts an oracle counts: the usual negatives and the spikes', not one author's repeats."""
    return sorted(
        m.created_at.timestamp()
        for m in stream.mentions
        if stream.origins[m.id] in COUNTED and stream.labels[m.text] == "negative" and name in m.text.lower()
    )


def cusum(stream: Stream, brand: str, name: str, thresholds: tuple[float, ...]) -> dict[float, list[float]]:
    """The minutes at which the CUSUM for some spike size is at or above each threshold."""
    profile = next(p for p in stream.brands if p.id == brand)
    rates = stream.rates[brand]
    times = negatives(stream, name)
    t0 = START.timestamp()
    live = t0 + WARMUP_DAYS * 86400
    per_minute = [0] * int(len(rates) * STEP // MINUTE)
    for t in times:
        per_minute[min(len(per_minute) - 1, int((t - t0) // MINUTE))] += 1
    extras = [(m - 1) * profile.negatives / 60 for m in (5, 8, 12)]
    sums = [0.0] * len(extras)
    firing: dict[float, list[float]] = {h: [] for h in thresholds}
    for i, count in enumerate(per_minute):
        usual = max(rates[int(i * MINUTE // STEP)] * MINUTE / STEP, 1e-9)
        for j, extra in enumerate(extras):
            sums[j] = max(0.0, sums[j] + count * math.log1p(extra / usual) - extra)
        now = t0 + (i + 1) * MINUTE
        if now >= live:
            top = max(sums)
            for h in thresholds:
                if top >= h:
                    firing[h].append(now)
    return firing


def strongest(stream: Stream, name: str, rates: list[float], windows: list[float]) -> list[tuple[float, float]]:
    """(minute, the smallest p-value over the windows, each divided by its window's share of the level)."""
    times = negatives(stream, name)
    cumulative = expectation(rates)
    shares = [w / sum(windows) for w in windows]
    live = START.timestamp() + WARMUP_DAYS * 86400
    end = START.timestamp() + len(rates) * STEP
    out = []
    now = live
    while now <= end:
        best = math.inf
        for window, share in zip(windows, shares, strict=True):
            count = bisect.bisect_right(times, now) - bisect.bisect_right(times, now - window)
            expected = expected_between(cumulative, rates, now - window, now)
            if count >= 1 and count > expected:
                best = min(best, poisson_upper_tail(count, expected) / share)
        out.append((now, best))
        now += MINUTE
    return out


def evaluate(task: tuple[str, int, list[float]]) -> dict[str, Any]:
    scenario, seed, windows = task
    stream = generate(scenario, seed)
    outcomes: dict[tuple[str, float], Outcome] = {}
    for oracle in ORACLES:
        series = {
            p.id: strongest(stream, p.name.lower(), (stream.rates if oracle == ORACLES[0] else stream.calm)[p.id],
                            windows)
            for p in stream.brands
        }  # fmt: skip
        for level in LEVELS:
            found = {brand: _episodes([t for t, q in s if q <= level]) for brand, s in series.items()}
            outcomes[(oracle, level)] = judge(stream, found)
    firing = {p.id: cusum(stream, p.id, p.name.lower(), THRESHOLDS) for p in stream.brands}
    for h in THRESHOLDS:
        outcomes[(CUSUM, h)] = judge(stream, {brand: _episodes(f[h]) for brand, f in firing.items()})
    return {"scenario": scenario, "seed": seed, "outcomes": outcomes}


def summary(score: Score, brief: bool = False) -> str:
    caught, total = score.recall()
    recall, precision, median, p90 = caught / total, score.precision, score.delay(0.5), score.delay(0.9)
    if brief:
        sizes = " ".join(f"{size:g}x {score.recall(size)[0]}/{score.recall(size)[1]}" for size in (3, 5, 8, 12))
        return (
            f"{caught:>2}/{total:<2} precision {precision:.2f}  median {median:>4.0f}  p90 {p90:>4.0f}  by size {sizes}"
        )
    met = recall >= 0.95 and precision >= 0.95 and median <= 15
    return (
        f"recall {caught}/{total} = {recall:.3f}, precision {precision:.3f}, delay median {median:.0f} / p90 {p90:.0f}"
        f" min, false alarms {score.falses()}{'   <- meets the goal' if met else ''}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="101-105")
    parser.add_argument("--windows", default="5,10,15,20,30,45,60,90,120", help="minutes, comma-separated")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    windows = [float(w) * MINUTE for w in args.windows.split(",")]
    tasks = [(sc, seed, windows) for seed in seeds(args.seeds) for sc in SCENARIOS]
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = list(pool.imap_unordered(evaluate, tasks))
    print(f"{len(results)} streams (seeds {args.seeds}), windows {args.windows} min; recall and delays over spikes of"
          f" {TARGET_SIZE}x and more, precision over every detection; goal: 0.95, 0.95, 15 min\n")  # fmt: skip
    for oracle, levels in [*((o, LEVELS) for o in ORACLES), (CUSUM, THRESHOLDS)]:
        print(f"oracle ({oracle})")
        for level in levels:
            scores: dict[str, Score] = {}
            for result in results:
                scores.setdefault(result["scenario"], Score()).add(result["outcomes"][(oracle, level)])
                scores.setdefault("all", Score()).add(result["outcomes"][(oracle, level)])
            print(f"  {'h' if oracle == CUSUM else 'level'} {level:.3g}: {summary(scores['all'])}")
            for scenario in SCENARIOS:
                print(f"      {scenario:<22} {summary(scores[scenario], brief=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
