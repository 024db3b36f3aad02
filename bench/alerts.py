"""Alert building (not a test): the time the engine takes to build one alert event (the mentions in the
window, the sample of the brand's earlier ones, figures, terms, top posts explained, drafts, chart) on
a realistic store: a month of mentions over 4 brands, events forced at random times of its last day.

The first alert of each brand since the engine started reads that brand's earlier posts from the store
(engine/earlier.py) and is timed apart ("first of a brand"); p50 and p99 are of the alerts after it.
Of each, the time spent explaining the top posts (Scorer.explain, kept per post) is also given.

The same figures are also read inside a real replay (replay_alerts: the events a 6-day backtest at a
million mentions a month opens and updates, at stream time, through the command line's own path).

`python bench/alerts.py [--quick]` prints them in ms; bench/run.py calls both.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale  # noqa: E402

from monitor.alerts.events import Explanations  # noqa: E402
from monitor.engine.core import Engine  # noqa: E402
from monitor.mention import ScoredMention  # noqa: E402
from monitor.rules.detectors import Evaluation  # noqa: E402
from monitor.sentiment import Explanation  # noqa: E402
from monitor.store import IncidentRow  # noqa: E402

LABELS = ("negative", "neutral", "positive")


def _store(eng: Engine, n: int) -> float:
    """n mentions over 30 days stored and counted as the daemon holds them; returns the last one's time."""
    last, chunk = 0.0, []
    for i, (m, brand) in enumerate(scale.iter_stream(n, timedelta(days=30), seed=8)):
        # A number of its own in every post: no two texts alike, as in real posts (a cache of terms by
        # text would otherwise find the demo sentences again and again).
        m = replace(m, text=f"{m.text} ({1000 + i})")
        chunk.append(ScoredMention(m, brand, (-0.6, 0.0, 0.6)[i % 3], LABELS[i % 3]))
        if len(chunk) == 20_000:
            eng.store.add_mentions(chunk, fetched_at=0.0)
            chunk = []
        last = m.created_at.timestamp()
    eng.store.add_mentions(chunk, fetched_at=0.0)
    return last


class _Timed(Explanations):
    """Explanations that add up the time they take."""

    spent = 0.0

    def many(self, texts: Sequence[str], brand: str) -> list[Explanation]:
        started = time.perf_counter()
        try:
            return super().many(texts, brand)
        finally:
            self.spent += time.perf_counter() - started


def _build(eng: Engine, rng: random.Random, now: float, brand_id: str | None = None) -> float:
    """Seconds to build one event of the negative-spike rule for a random brand at now."""
    rule = next(r for r in eng.rules if r.name == "negative-spike")
    brand = eng.brands[brand_id or rng.choice(scale.BRANDS)]
    count = eng.counts[(rule.name, brand.id)].window(now - 3600, now)
    figures = {"count": count, "expected": count / 3, "ratio": 3.0, "p_value": 1e-6, "window_seconds": 3600}
    kind = "opened" if rng.random() < 0.7 else "updated"
    incident = IncidentRow(
        id=f"negative-spike/{brand.id}/{int(now)}",
        rule=rule.name,
        brand=brand.id,
        status="open",
        opened_at=now - (0 if kind == "opened" else 1800),
        updated_at=now,
        last_posted_count=count,
        peak_count=count,
        figures=figures,
    )
    result = Evaluation(True, count, figures, "", 3600.0)
    eng.evaluate(rule, brand.id, now)  # as the tick does before it builds an event (the baseline is kept)
    started = time.perf_counter()
    eng._event(kind, rule, brand, incident, result, now)
    return time.perf_counter() - started


def alert_building(quick: bool = False) -> dict[str, float]:
    """p50 and p99 (ms) of building an alert event, over events forced on a store of a month of mentions
    (1,000,000 over 4 brands; 200,000 with quick), after the first of each brand (its mean given apart),
    and the share of explaining."""
    n, events = (200_000, 60) if quick else (1_000_000, 200)
    rng = random.Random(19)
    with tempfile.TemporaryDirectory() as tmp:
        eng = scale.engine(Path(tmp))
        eng.explanations = timed = _Timed(eng.scorer)
        last = _store(eng, n)
        eng.load_history(last)
        eng.tick(last)
        firsts = [_build(eng, rng, last, brand) for brand in scale.BRANDS]
        timed.spent = 0.0
        times = [_build(eng, rng, last - rng.uniform(0, 86400)) for _ in range(events)]
        explaining = timed.spent / events
        eng.store.close()
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1e3,
        "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))] * 1e3,
        "first_ms": statistics.mean(firsts) * 1e3,
        "explaining_ms": explaining * 1e3,
        "events": float(len(times)),
        "mentions": float(n),
    }


def replay_alerts(quick: bool = False) -> dict[str, float]:
    """p50 and p99 (ms) of building the alert events of a real replay, as `monitor backtest` builds them:
    6 days at 1,000,000 mentions a month over 4 brands (2 days with quick), the shipped rules.
    Its events are those the rules open and update, at stream time; resolutions (no posts read) are left
    out of the figures."""
    import contextlib
    import io

    import backtests

    from monitor.commands import main

    spent: list[float] = []
    build = Engine._event

    def timed(self: Engine, kind: str, *args: object) -> dict[str, object]:
        started = time.perf_counter()
        try:
            return build(self, kind, *args)  # type: ignore[arg-type]
        finally:
            if kind != "resolved":
                spent.append(time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = backtests.write_config(folder)
        backtests.write_stream(folder / "replay.jsonl", 1_000_000, 2 if quick else 6)
        Engine._event = timed  # type: ignore[method-assign,assignment]
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                main(
                    ["backtest", "--config", str(config), "--input", str(folder / "replay.jsonl"), "--format", "jsonl"]
                )
        finally:
            Engine._event = build  # type: ignore[method-assign]
    spent.sort()
    return {
        "p50_ms": statistics.median(spent) * 1e3 if spent else 0.0,
        "p99_ms": spent[min(len(spent) - 1, round(0.99 * (len(spent) - 1)))] * 1e3 if spent else 0.0,
        "events": float(len(spent)),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    figures = alert_building(parser.parse_args().quick)
    print(
        f"alert building, {figures['events']:.0f} events on {figures['mentions']:,.0f} mentions:"
        f" p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms (goal: p99 under 5 ms);"
        f" explaining the top posts {figures['explaining_ms']:.1f} ms of the mean;"
        f" the first alert of a brand since start {figures['first_ms']:.1f} ms"
    )
    replayed = replay_alerts(parser.parse_args().quick)
    print(
        f"inside a replay, {replayed['events']:.0f} openings and updates:"
        f" p50 {replayed['p50_ms']:.1f} ms, p99 {replayed['p99_ms']:.1f} ms"
    )
