"""Benchmarks at scale (not tests): rule tick against stored history, memory (backtests are
bench/backtests.py, through the command line).

Each is a function returning its figures; bench/run.py prints them in one table. Posts are
bench/corpus.py's realistic ones. `python bench/scale.py memory N` is the child process the memory
figure is read from (its peak RSS is its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
import procfs  # noqa: E402

from monitor.config import Brand, Config  # noqa: E402
from monitor.engine.core import Engine  # noqa: E402
from monitor.mention import Mention, ScoredMention  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.sentiment import Scorer  # noqa: E402
from monitor.store import Store  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
BRANDS = ("acme", "globex", "initech", "umbrella")


def config(folder: Path) -> Config:
    """Four brands, the shipped rules."""
    return Config(
        path=folder / "config.toml",
        database=folder / "bench.db",
        rules_dir=ROOT / "rules",
        brands=tuple(Brand(b, b.title(), (b,)) for b in BRANDS),
        sources=MappingProxyType({}),
    )


def engine(folder: Path, store: Store | None = None) -> Engine:
    """An engine over a file database in folder, with the shipped rules."""
    cfg = config(folder)
    rules = load_rules(ROOT / "rules", list(BRANDS), ["hackernews", "reddit"])
    return Engine(cfg, rules, store or Store.open(cfg.database), Scorer.of(cfg))


def iter_stream(
    n: int, span: timedelta = timedelta(days=30), seed: int = 1, start: datetime = START
) -> Iterator[tuple[Mention, str]]:
    """n distinct realistic mentions spread evenly over span from start, each naming one of BRANDS."""
    step = span.total_seconds() / n
    names = [b.title() for b in BRANDS]
    for i, (text, brand) in enumerate(corpus.posts(n, names, seed)):
        mention = Mention(
            platform=("hackernews", "reddit")[i % 2],
            id=f"m{seed}-{i}",
            text=text,
            created_at=start + timedelta(seconds=i * step),
            author=f"user{i % 5000}",
        )
        yield mention, BRANDS[brand]


def stream(n: int, span: timedelta = timedelta(days=30), seed: int = 1) -> list[tuple[Mention, str]]:
    """iter_stream as a list."""
    return list(iter_stream(n, span, seed))


def _loaded(folder: Path, rows: list[ScoredMention], now: float) -> Engine:
    eng = engine(folder)
    for i in range(0, len(rows), 20_000):  # stored as polls would have stored them, scored
        eng.store.add_mentions(rows[i : i + 20_000], fetched_at=0.0)
    eng.load_history(now)  # what the daemon does at start
    eng.tick(now)  # the first tick forgets buckets past the horizon: not a steady one
    return eng


def _interleaved(engines: dict[str, tuple[Engine, float]], ticks: int, rounds: int = 5) -> dict[str, float]:
    """Median over rounds of each engine's mean tick (ms), the engines taking turns round by round so
    that a busy moment of the machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    for r in range(rounds):
        for name, (eng, now) in engines.items():
            started = time.perf_counter()
            for k in range(1, ticks + 1):
                eng.tick(now + 60 * (r * ticks + k))
            times[name].append((time.perf_counter() - started) / ticks * 1000)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def _scored(items: Iterable[tuple[Mention, str]]) -> list[ScoredMention]:
    labels = ("negative", "neutral", "positive")
    return [ScoredMention(m, b, 0.0, labels[i % 3]) for i, (m, b) in enumerate(items)]


def tick_against_history(sizes: tuple[int, int], ticks: int = 60) -> dict[str, float]:
    """Rule-tick time (ms: the median over 5 rounds of the mean of 60 ticks a minute apart, an hourly
    prune in each round) with sizes[0] and sizes[1] mentions stored (4 brands, 30 days):

    - "small", "large": the same last 15 days (sizes[0] mentions; every rule's horizon is shorter),
      the large store holding the rest as older history: what stored history costs a tick;
    - "dense": sizes[1] mentions spread over all 30 days: a hundred times the activity in every
      window, for what activity (not history) costs.
    """
    small, large = sizes
    recent = list(iter_stream(small, timedelta(days=15), seed=2, start=START + timedelta(days=15)))
    now = recent[-1][0].created_at.timestamp()
    older = iter_stream(large - small, timedelta(days=15), seed=6, start=START)
    dense = stream(large, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / name for name in ("small", "large", "dense")]
        for folder in folders:
            folder.mkdir()
        engines = {
            "small": (_loaded(folders[0], _scored(recent), now), now),
            "large": (_loaded(folders[1], _scored([*older, *recent]), now), now),
            "dense": (
                _loaded(folders[2], _scored(dense), dense[-1][0].created_at.timestamp()),
                dense[-1][0].created_at.timestamp(),
            ),
        }
        del dense
        figures = _interleaved(engines, ticks)
        for eng, _ in engines.values():
            eng.store.close()
    return figures


def _rss_mb() -> float:
    """Peak RSS of this process image (VmHWM: see bench/procfs.py)."""
    return procfs.memory_mb()["VmHWM"]


def _current_rss_mb() -> float:
    return procfs.memory_mb()["VmRSS"]


def memory_child(n: int) -> dict[str, float]:
    """In this process: ingest n mentions over 30 days (batches of 1,000 as a busy poll or the ingest
    endpoint brings them, a rule tick after each), then a soak of as many more over the next 30 days;
    peak and current RSS after each."""
    with tempfile.TemporaryDirectory() as tmp:
        eng = engine(Path(tmp))
        figures = {"start": _current_rss_mb()}
        for stage, seed, start in (("after", 4, START), ("soak", 5, START + timedelta(days=30))):
            next_tick, chunk = 0.0, []
            for m, b in iter_stream(n, seed=seed, start=start):
                chunk.append((m, b))
                if len(chunk) < 1000:
                    continue
                now = m.created_at.timestamp()
                by_brand: dict[str, list[Mention]] = {}
                for cm, cb in chunk:
                    by_brand.setdefault(cb, []).append(cm)
                for brand, mentions in by_brand.items():
                    eng.ingest(brand, mentions, now, check_query=False)
                chunk = []
                if now >= next_tick:
                    eng.tick(now)
                    next_tick = now + 60
            figures[f"{stage}_peak"] = _rss_mb()
            figures[f"{stage}_now"] = _current_rss_mb()
        figures["stored"] = float(eng.store.count_mentions())
        eng.store.close()
    return figures


def memory(n: int) -> dict[str, float]:
    """memory_child(n) in a fresh process, so that its peak RSS is the daemon's work alone."""
    out = subprocess.run([sys.executable, __file__, "memory", str(n)], capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        print(json.dumps(memory_child(int(sys.argv[2]))))
