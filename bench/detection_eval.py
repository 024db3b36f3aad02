"""Detection quality, measured: synthetic brand streams by scenario, our rules against two peers.

The streams (bench/streams.py) cover what makes spike detection hard: low-volume brands (0.5-2
negative mentions an hour), spikes at the quietest hour, 30-minute spikes, slow ramps over six hours,
a spike that starts during another brand's launch, bursts of near-duplicates from one author, a weekly
peak that is normal, and crises that start with neutral "is it down?" posts; every stream also has
launches its brand announced and a news burst, which are not crises.

Every detector reads the same mentions at one-minute ticks:
- ours: shipped rules run through `run_backtest` (the daemon's own engine); its alerts are the
  `opened` events and the reopenings (an incident firing again within its cooldown);
- ElastAlert's spike rule: the count in the last hour against the hour before, alert when
  cur >= 5 and cur > 3 x ref, once the reference window has filled;
- Huginn's peak detector: the last hour's count, sampled every 10 minutes, alert when it exceeds the
  mean plus 3 standard deviations of the samples of the last 14 days.
The peers count the negative mentions (as labelled by our scorer) of each brand. Peer alerts are grouped
into episodes (a new episode after an hour without firing), so a peer is not charged for repeating
itself during one spike.

A detection is true when it starts between a spike's start and its end plus an hour, for the spike's
brand; a spike is caught when a true detection starts in that span; delay = detection - spike start.
Where "is it down?" questions came before the complaints, the crisis starts with the first question:
a detection during them is an early catch, at a delay of 0.
Recall and delays are over spikes of 5x and more (the issue's goal; 3x spikes are reported apart);
precision is true detections / detections, whatever the size.

With --storm, every stream is replayed once more through negative-spike and mention-storm together (as
the daemon runs them, with the announced launches in the calendar): the report says, crisis by crisis of
the "neutral start" scenario, how long before negative-spike the storm rule opened, and where all of
the storm rule's openings fell (a crisis, a news burst, an announced launch, nothing).

Usage: python bench/detection_eval.py [--seeds 101-105] [--scenarios all] [--rules negative-spike]
Tune on seeds 1-5 (`--seeds 1-5`); the default seeds, 101-105, are the held-out set the figures in
docs/rules.md come from.
"""

from __future__ import annotations

import argparse
import bisect
import math
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from streams import HOUR, MINUTE, SCENARIOS, START, TARGET_SIZE, WARMUP_DAYS, Burst, Stream, generate

from monitor.config import Brand, Config
from monitor.durations import parse_duration
from monitor.engine.replay import run_backtest
from monitor.rules import load_rules
from monitor.rules.calendar import Calendar, Expected
from monitor.sentiment import Scorer

ROOT = Path(__file__).resolve().parent.parent
MATCH_SLACK = HOUR  # a detection up to an hour after a spike ends still belongs to it
PLATFORMS = ["reddit", "hackernews", "mastodon"]
Detections = dict[str, list[float]]  # brand -> alert times


def _config(stream: Stream) -> Config:
    brands = tuple(Brand(p.id, p.name, (f'"{p.name.lower()}"',)) for p in stream.brands)
    return Config(path=ROOT / "config.toml", database=Path(":memory:"), rules_dir=ROOT / "rules", brands=brands,
                  sources=MappingProxyType({}))  # fmt: skip


def calendar(stream: Stream) -> Calendar:
    """The launches the stream's brands announced, as a calendar of expected surges."""
    return Calendar(tuple(Expected(b.brand, b.start, b.end, "launch") for b in stream.expected()))


def run_ours(
    stream: Stream, names: list[str], overrides: dict[str, Any], per_rule: dict[str, dict[str, Any]] | None = None
) -> dict[str, Detections]:
    """Shipped rules through the daemon's engine in one replay: rule -> brand -> the times incidents opened.
    overrides apply to every rule that has the field, per_rule's to the rule named."""
    brands = [p.id for p in stream.brands]
    rules = [r for r in load_rules(ROOT / "rules", brands, PLATFORMS) if r.name in names]
    per_rule = per_rule or {}
    rules = [replace(r, detect=tuned(r.detect, per_rule.get(r.name, overrides)), calendar=calendar(stream))
             for r in rules]  # fmt: skip
    out: dict[str, Detections] = {r.name: {b: [] for b in brands} for r in rules}
    for event in run_backtest(_config(stream), rules, ((m, None) for m in stream.mentions), scorer=SCORER):
        # An incident that fires again within its cooldown is reopened in its thread: an alert too.
        if event["event"] == "opened" or event.get("reopened"):
            out[event["rule"]][event["brand"]].append(datetime.fromisoformat(event["at"]).timestamp())
    return out


def tuned(detect: Any, overrides: dict[str, Any]) -> Any:
    """The detect table with the --set fields it has ("windows" sets all of a spike rule's windows)."""
    changes = {k: v for k, v in overrides.items() if k in detect.__dataclass_fields__}
    if "windows" in overrides and "more_windows" in detect.__dataclass_fields__:
        windows = sorted(overrides["windows"])
        changes.update(window=windows[-1], more_windows=tuple(windows[:-1]), fast_window=None, long_window=None)
    return replace(detect, **changes)


def _count(times: list[float], start: float, end: float) -> int:
    return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)


def _episodes(firing: list[float], gap: float = HOUR) -> list[float]:
    starts: list[float] = []
    last = -math.inf
    for t in firing:
        if t - last > gap:
            starts.append(t)
        last = t
    return starts


def elastalert(ticks: range, negatives: list[float]) -> list[float]:
    """ElastAlert's spike rule: timeframe 1h, spike_height 3, threshold_cur 5, spike_type up."""
    first = negatives[0] if negatives else 0.0
    firing = []
    for now in ticks:
        if now - first < 2 * HOUR:
            continue  # the reference window has not filled yet
        cur = _count(negatives, now - HOUR, now)
        ref = _count(negatives, now - 2 * HOUR, now - HOUR)
        if cur >= 5 and cur > 3 * ref:
            firing.append(now)
    return _episodes(firing)


def huginn(ticks: range, negatives: list[float]) -> list[float]:
    """Huginn's PeakDetectorAgent on the hourly count: above mean + 3 std of a 14-day window."""
    samples: list[tuple[float, int]] = []
    firing = []
    for i, now in enumerate(ticks):
        if i % 10:
            continue
        value = _count(negatives, now - HOUR, now)
        window = [v for t, v in samples if t >= now - 14 * 86400]
        if len(window) >= 12:
            mean = statistics.fmean(window)
            std = statistics.pstdev(window)
            if value > mean + 3 * std:
                firing.append(now)
        samples.append((now, value))
    return _episodes(firing)


PEERS: dict[str, Callable[[range, list[float]], list[float]]] = {
    "ElastAlert spike (1h, x3, >=5)": elastalert,
    "Huginn peak (mean + 3 sd, 14d)": huginn,
}


# scoring


@dataclass
class Outcome:
    """One detector on one stream: each spike's size and delay (None: missed), and each detection's
    verdict ("true", or the decoy it fell in)."""

    spikes: list[tuple[float, float | None]] = field(default_factory=list)
    detections: list[str] = field(default_factory=list)


def judge(stream: Stream, found: Detections) -> Outcome:
    live = START.timestamp() + WARMUP_DAYS * 86400
    outcome = Outcome()
    for brand, times in found.items():
        times = [t for t in times if t >= live]
        spikes = stream.spikes(brand)
        for spike in spikes:
            hits = [t for t in times if crisis_start(stream, spike) <= t <= spike.end + MATCH_SLACK]
            outcome.spikes.append((spike.size, max(0.0, min(hits) - spike.start) if hits else None))
        for t in times:
            if any(crisis_start(stream, s) <= t <= s.end + MATCH_SLACK for s in spikes):
                outcome.detections.append("true")
                continue
            decoy = next((b for b in stream.bursts if b.brand == brand and b.start <= t <= b.end + MATCH_SLACK), None)
            outcome.detections.append(_decoy_name(stream, brand, decoy, t))
    return outcome


def crisis_start(stream: Stream, spike: Burst) -> float:
    """When the crisis behind a spike began: its first "is it down?" post where questions came before the
    complaints (the neutral-start scenario), else the spike's start. A detection during the questions is
    an early catch of the crisis, not a false alarm (a scorer that reads the questions as negative, as
    the learned one does, fires then); its delay counts as 0."""
    questions = (b.start for b in stream.bursts if b.kind == "question" and b.brand == spike.brand
                 and b.start <= spike.start < b.end)  # fmt: skip
    return min(questions, default=spike.start)


def _decoy_name(stream: Stream, brand: str, decoy: Burst | None, t: float) -> str:
    if decoy is not None:
        return f"{decoy.kind}{' (expected)' if decoy.expected else ''}"
    if any(b.kind == "launch" and b.brand != brand and b.start <= t <= b.end + MATCH_SLACK for b in stream.bursts):
        return "other brand's launch"
    if any(p.weekly_peak for p in stream.brands):
        moment = datetime.fromtimestamp(t, tz=START.tzinfo)
        if moment.weekday() == 3 and 16 <= moment.hour < 19:
            return "weekly peak"
    return "noise"


@dataclass
class Score:
    spikes: list[tuple[float, float | None]] = field(default_factory=list)
    detections: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.spikes += outcome.spikes
        self.detections += outcome.detections

    def target(self) -> list[float | None]:
        return [d for size, d in self.spikes if size >= TARGET_SIZE]

    def recall(self, size: float | None = None) -> tuple[int, int]:
        delays = self.target() if size is None else [d for s, d in self.spikes if s == size]
        return sum(d is not None for d in delays), len(delays)

    @property
    def precision(self) -> float:
        return self.detections.count("true") / len(self.detections) if self.detections else math.nan

    def delay(self, quantile: float) -> float:
        caught = sorted(d for d in self.target() if d is not None)
        if not caught:
            return math.nan
        return caught[min(len(caught) - 1, max(0, math.ceil(quantile * len(caught)) - 1))] / MINUTE

    def falses(self) -> str:
        counts: dict[str, int] = {}
        for verdict in self.detections:
            if verdict != "true":
                counts[verdict] = counts.get(verdict, 0) + 1
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


SCORER: Scorer | None = None
_LABELS: dict[str, str | None] = {}
TRUTH: dict[str, str] = {}  # the stream's own labels, when the evaluation measures detection alone


class TruthScorer(Scorer):
    """Labels each generated mention as the pool it was drawn from says (a complaint, praise, a question),
    so that the evaluation measures detection alone: bench/sentiment_eval.py measures the scorer, and
    `--scorer learned` runs both together. Texts it does not know are scored by the real scorer."""

    VALUES: ClassVar[dict[str, float]] = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}

    def pairs_later(self, items: Any) -> Callable[[], list[tuple[float | None, str | None]]]:
        # The one way the pipeline scores (Scorer.pairs is pairs_later collected at once).
        known = [TRUTH.get(text) for text, _, _ in items]
        if all(known):
            return lambda: [(self.VALUES[label], label) for label in known if label]
        scoring = super().pairs_later(items)
        return lambda: [(self.VALUES[label], label) if label else pair
                        for label, pair in zip(known, scoring(), strict=True)]  # fmt: skip


def _label(text: str) -> str | None:
    """The label of a generated text: the stream's own, or our scorer's (its "#n" suffix does not change it)."""
    if text in TRUTH:
        return TRUTH[text]
    body = text.rsplit(" #", 1)[0]
    if body not in _LABELS:
        assert SCORER is not None
        _LABELS[body] = SCORER.score(body).label
    return _LABELS[body]


def _scorer(workers: int, truth: bool = True) -> Scorer:
    config = Config(path=ROOT / "config.toml", database=Path(":memory:"), rules_dir=ROOT / "rules", brands=(),
                    sources=MappingProxyType({}))  # fmt: skip
    scorer = TruthScorer.of(config) if truth else Scorer.of(config)
    scorer.workers = workers
    return scorer


def evaluate(task: tuple[str, int, list[str], dict[str, Any], dict[str, Any] | None, bool, bool]) -> dict[str, Any]:
    """One stream through every detector: outcomes by detector, and the storm lead times."""
    global SCORER
    scenario, seed, names, overrides, storm, peers, truth = task
    if SCORER is None:
        SCORER = _scorer(1, truth)
    started = time.perf_counter()
    stream = generate(scenario, seed)
    TRUTH.clear()
    if truth:
        TRUTH.update(stream.labels)
    outcomes: dict[str, Outcome] = {}
    for name in names:  # one replay a rule: a graver rule's open incident would keep a lesser one quiet
        found = run_ours(stream, [name], overrides)[name]
        outcomes[f"ours: {name}"] = judge(stream, found)
    first = int(stream.mentions[0].created_at.timestamp() // MINUTE * MINUTE + MINUTE)
    ticks = range(first, int(stream.mentions[-1].created_at.timestamp()) + 1, int(MINUTE))
    for peer, detect in PEERS.items() if peers else ():
        found = {}
        for p in stream.brands:
            name = p.name.lower()
            found[p.id] = detect(ticks, [m.created_at.timestamp() for m in stream.mentions
                                         if name in m.text.lower() and _label(m.text) == "negative"])  # fmt: skip
        outcomes[peer] = judge(stream, found)
    leads, storms = storm_run(stream, overrides, storm) if storm is not None else ([], [])
    return {"scenario": scenario, "seed": seed, "mentions": len(stream.mentions), "outcomes": outcomes,
            "leads": leads, "storms": storms, "seconds": time.perf_counter() - started}  # fmt: skip


def storm_run(
    stream: Stream, overrides: dict[str, Any], storm_overrides: dict[str, Any]
) -> tuple[list[tuple[float, float | None, float | None]], list[str]]:
    """negative-spike and mention-storm in one replay. Returns, per "is it down?" crisis, (size, minutes from
    its first post to mention-storm opening, to negative-spike opening); and what each storm opening fell in."""
    found = run_ours(stream, ["negative-spike", "mention-storm"], overrides, {"mention-storm": storm_overrides})
    live = START.timestamp() + WARMUP_DAYS * 86400
    storms = []
    for brand, times in found["mention-storm"].items():
        for t in (t for t in times if t >= live):
            crisis = any(b.brand == brand and b.kind in ("spike", "question") and b.start <= t <= b.end + MATCH_SLACK
                         for b in stream.bursts)  # fmt: skip
            decoy = next((b for b in stream.bursts if b.brand == brand and b.start <= t <= b.end + MATCH_SLACK), None)
            storms.append("crisis" if crisis else _decoy_name(stream, brand, decoy, t))
    leads = []
    for question in (b for b in stream.bursts if b.kind == "question"):
        spike = next(s for s in stream.spikes("acme") if s.start >= question.start)

        def first(rule: str, q: Burst = question, s: Burst = spike) -> float | None:
            hits = [t for t in found[rule]["acme"] if q.start <= t <= s.end + MATCH_SLACK]
            return (min(hits) - q.start) / MINUTE if hits else None

        leads.append((spike.size, first("mention-storm"), first("negative-spike")))
    return leads, storms


def seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def _override(item: str) -> tuple[str, Any]:
    key, _, text = item.partition("=")
    if key == "windows":
        return key, tuple(parse_duration(t) for t in text.split("+"))
    if key.endswith("window") or key in ("baseline", "min_history"):
        return key, parse_duration(text)
    if key in ("seasonal",):
        return key, text == "true"
    if key in ("dispersion",):
        return key, text
    return key, int(text) if key == "min_count" else float(text)


def _fmt(value: float, spec: str = ".0f") -> str:
    return "-" if math.isnan(value) else format(value, spec)


def report(results: list[dict[str, Any]], detectors: list[str]) -> None:
    by: dict[tuple[str, str], Score] = {}
    for result in results:
        for name, outcome in result["outcomes"].items():
            by.setdefault((result["scenario"], name), Score()).add(outcome)
            by.setdefault(("all", name), Score()).add(outcome)
    scenarios = [s for s in SCENARIOS if any(r["scenario"] == s for r in results)] + ["all"]
    width = max(len(d) for d in detectors) + 2
    print(f"recall and delays over spikes of {TARGET_SIZE}x and more; precision over every detection\n")
    for scenario in scenarios:
        print(f"{scenario}")
        for name in detectors:
            s = by[(scenario, name)]
            caught, total = s.recall()
            recall = caught / total if total else math.nan
            print(f"  {name:<{width}} recall {caught:>3}/{total:<3} {_fmt(recall, '.3f'):>5}  precision"
                  f" {_fmt(s.precision, '.3f'):>5}  delay median {_fmt(s.delay(0.5)):>3} min, p90"
                  f" {_fmt(s.delay(0.9)):>3} min  false alarms: {s.falses()}")  # fmt: skip
    sizes = sorted({size for (_, _), s in by.items() for size, _ in s.spikes})
    print("\nall scenarios, spikes caught by size")
    for name in detectors:
        s = by[("all", name)]
        cells = [f"{size:g}x {s.recall(size)[0]}/{s.recall(size)[1]}" for size in sizes]
        print(f"  {name:<{width}} " + "   ".join(cells))


def storm_report(results: list[dict[str, Any]]) -> None:
    storms: dict[str, int] = {}
    for verdict in (v for r in results for v in r["storms"]):
        storms[verdict] = storms.get(verdict, 0) + 1
    print(f"\nmention-storm openings, by what they fell in: {', '.join(f'{k} {v}' for k, v in sorted(storms.items()))}")
    leads = [lead for r in results for lead in r["leads"]]
    if not leads:
        return
    print("\nneutral-start crises: minutes from the first 'is it down?' post to each rule opening")
    good = 0
    for size, storm, negative in leads:
        ahead = storm is not None and (negative is None or negative - storm >= 10)
        good += ahead
        if storm is None:
            lead = "neither opened" if negative is None else "the storm did not open"
        else:
            lead = "negative-spike did not open" if negative is None else f"{negative - storm:+.0f} min"
        print(f"  {size:g}x  mention-storm {_fmt(storm if storm is not None else math.nan):>4}  negative-spike"
              f" {_fmt(negative if negative is not None else math.nan):>4}  storm ahead by {lead}")  # fmt: skip
    print(f"  the storm rule opened at least 10 minutes ahead (or alone) in {good} of {len(leads)} crises")


def main(argv: list[str] | None = None) -> int:
    global SCORER
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="101-105")
    parser.add_argument("--scenarios", default="all", help="comma-separated, or all: " + ", ".join(SCENARIOS))
    parser.add_argument("--rules", default="negative-spike")
    parser.add_argument("--set", default="", help="detect fields to override, e.g. min_ratio=2,windows=10m+1h")
    parser.add_argument("--storm", action="store_true", help="also replay negative-spike with mention-storm")
    parser.add_argument("--storm-set", default="", help="detect fields to override in mention-storm only")
    parser.add_argument("--no-peers", action="store_true", help="only our rules (while tuning)")
    parser.add_argument("--jobs", type=int, default=1, help="streams replayed at once (one process each)")
    what = "labels from the stream (detection alone; default) or from the shipped scorer"
    parser.add_argument("--scorer", choices=("truth", "learned"), default="truth", help=what)
    args = parser.parse_args(argv)
    overrides = dict(_override(item) for item in args.set.split(",") if item)
    names = args.rules.split(",")
    scenarios = list(SCENARIOS) if args.scenarios == "all" else args.scenarios.split(",")
    storm = dict(_override(item) for item in args.storm_set.split(",") if item) if args.storm else None
    truth = args.scorer == "truth"
    tasks = [(sc, seed, names, overrides, storm, not args.no_peers, truth)
             for seed in seeds(args.seeds) for sc in scenarios]  # fmt: skip
    results = []
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            for result in pool.imap_unordered(evaluate, tasks):
                results.append(result)
                _progress(result)
    else:
        SCORER = _scorer(1, truth)
        for task in tasks:
            results.append(evaluate(task))
            _progress(results[-1])
    detectors = [f"ours: {name}" for name in names] + ([] if args.no_peers else list(PEERS))
    spikes = sum(len(o.spikes) for r in results for o in [r["outcomes"][detectors[0]]])
    print(f"{len(results)} streams ({len(scenarios)} scenarios x seeds {args.seeds}),"
          f" {sum(r['mentions'] for r in results):,} mentions, {spikes} spikes\n")  # fmt: skip
    report(results, detectors)
    if args.storm:
        storm_report(results)
    return 0


def _progress(result: dict[str, Any]) -> None:
    print(f"{result['scenario']} seed {result['seed']}: {result['mentions']:,} mentions,"
          f" {result['seconds']:.0f}s", file=sys.stderr, flush=True)  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
