"""Backtests at several densities and spans, through the command line, against the scorer alone.

A stream of realistic posts (bench/corpus.py) about four brands, at a density of D mentions a month
(30 days) over S days, Poisson arrivals, is written to a replay JSONL file (DESIGN.md's replay format;
no `brand` field, so each brand's query decides, as for an export). `monitor backtest --input FILE
--format jsonl` replays it in a fresh process (bench/peak.py), timed from start to exit (start-up,
reading and indexing the file, scoring, storing, the rule tick on every simulated minute, and the tail
ticks after the stream included). Its peak RSS is that process's VmHWM; the pool's workers, which
score large batches, are read from outside while it runs and given apart.

The floor is the scorer the pipeline uses, as a replay calls it: `Scorer.of(config).pairs(...)` on the
same kind of posts in batches of REPLAY_CHUNK, with the brand of each, on as many cores as the backtest
it is set beside: two (the pool's two workers, started and warm) for a backtest run as it is, one (no
pool) for one pinned to one core with taskset. The floor is timed before and after each backtest and
the figure is set against the mean of the two.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402
import procfs  # noqa: E402

from monitor.engine.replay import REPLAY_CHUNK  # noqa: E402
from monitor.loading import load_all  # noqa: E402
from monitor.sentiment import Scorer  # noqa: E402

BRANDS = (("acme", "Acme Cloud"), ("globex", "Globex"), ("initech", "Initech"), ("umbrella", "Umbrella"))
NAMES = [name for _, name in BRANDS]
START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
DAY = 86400.0
FLOOR_SAMPLE = 60_000  # posts the floor scores each time it is timed


def write_config(folder: Path) -> Path:
    """Four brands, each found by its quoted name; the shipped rules."""
    blocks = "".join(f'\n[[brands]]\nid = "{b}"\nname = "{n}"\nqueries = [\'"{n.lower()}"\']\n' for b, n in BRANDS)
    path = folder / "bench.toml"
    path.write_text(f'[monitor]\ndatabase = "{folder / "bench.db"}"\nrules = "{ROOT / "rules"}"\n{blocks}')
    return path


def write_stream(path: Path, per_month: int, days: int, seed: int = 7) -> int:
    """per_month * days / 30 mentions over days, Poisson arrivals, as replay JSONL; the count written."""
    n = per_month * days // 30
    rng = random.Random(seed)
    stamps = sorted(START + rng.random() * days * DAY for _ in range(n))
    platforms = ("hackernews", "reddit", "x", "mastodon")
    with path.open("w") as out:
        for i, ((text, _), ts) in enumerate(zip(corpus.posts(n, NAMES, seed), stamps, strict=True)):
            line = {
                "platform": platforms[i % 4],
                "id": f"p{i}",
                "text": text,
                "created_at": round(ts, 3),
                "author": f"user{rng.randrange(20_000)}",
            }
            out.write(json.dumps(line) + "\n")
    return n


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def _hwm(pid: int) -> float:
    """The process's peak RSS in MB (0 once it is gone)."""
    try:
        return procfs.memory_mb(pid).get("VmHWM", 0.0)
    except OSError:
        return 0.0


@dataclass
class Run:
    """One backtest through the command line."""

    seconds: float
    events: int
    peak_mb: float  # the backtest process's VmHWM
    workers_mb: float  # the pool's workers' peaks, added up (0 when no pool started)


def run_cli(config: Path, replay: Path, cores: int) -> Run:
    """`monitor backtest --input replay --format jsonl` in a fresh process (pinned to core 0 for cores=1)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "peak.json"
        command = [
            sys.executable,
            str(ROOT / "bench" / "peak.py"),
            str(out),
            "backtest",
            "--config",
            str(config),
            "--input",
            str(replay),
            "--format",
            "jsonl",
        ]
        if cores == 1:
            command = ["taskset", "-c", "0", *command]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
        workers: dict[int, float] = {}
        assert child.stdout is not None
        events = 0
        os.set_blocking(child.stdout.fileno(), False)
        while child.poll() is None:
            for pid in _descendants(child.pid):
                workers[pid] = max(workers.get(pid, 0.0), _hwm(pid))
            events += (child.stdout.read() or b"").count(b"\n")
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        events += (child.stdout.read() or b"").count(b"\n")
        if child.returncode:
            raise RuntimeError(f"backtest exited {child.returncode}")
        peak = json.loads(out.read_text())
    return Run(seconds, events, peak["VmHWM"], sum(workers.values()))


class Floor:
    """The scorer as a replay calls it, on cores 1 or 2, timed on FLOOR_SAMPLE realistic posts."""

    def __init__(self, config: Path, sample: int = FLOOR_SAMPLE) -> None:
        loaded, _ = load_all(str(config))
        self.scorer = Scorer.of(loaded)
        ids = [b for b, _ in BRANDS]
        self.items = [(text, None, ids[brand]) for text, brand in corpus.posts(sample, NAMES, seed=11)]
        self.scorer.pairs(self.items[:REPLAY_CHUNK])  # the pool started and warm, as in a replay

    def rate(self, cores: int) -> float:
        """Posts a second."""
        self.scorer.workers = cores
        started = time.perf_counter()
        for i in range(0, len(self.items), REPLAY_CHUNK):
            self.scorer.pairs(self.items[i : i + REPLAY_CHUNK])
        return len(self.items) / (time.perf_counter() - started)

    def close(self) -> None:
        """Stop the pool."""
        self.scorer.close()


def density(per_month: int) -> str:
    """10k, 100k, 1M."""
    return f"{per_month // 1_000_000}M" if per_month >= 1_000_000 else f"{per_month // 1000}k"


def cases(quick: bool) -> list[tuple[int, int, int]]:
    """(mentions a month, days, cores) to run; 300 days at 1M a month (10M mentions) is left out."""
    if quick:
        return [(10_000, 30, 2), (100_000, 30, 2), (100_000, 30, 1)]
    return [
        (10_000, 30, 2),
        (100_000, 30, 2),
        (100_000, 30, 1),
        (1_000_000, 30, 2),
        (10_000, 300, 2),
        (100_000, 300, 2),
    ]


def rows(quick: bool) -> Iterator[tuple[str, str, str, str, str]]:
    """The backtest rows of the table, as each is measured: throughput against the floor, then peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        floor = Floor(config, FLOOR_SAMPLE // 3 if quick else FLOOR_SAMPLE)
        for per_month, days, cores in cases(quick):
            replay = folder / f"{per_month}-{days}.jsonl"
            n = per_month * days // 30
            if not replay.exists():
                write_stream(replay, per_month, days)
            before = floor.rate(cores)
            run = run_cli(config, replay, cores)
            after = floor.rate(cores)
            base, ours = (before + after) / 2, n / run.seconds
            goal = ">= 0.8" if per_month >= 100_000 or days >= 300 else "none below 100k a month"
            met = "" if goal.startswith("none") else (": met" if ours / base >= 0.8 else ": NOT met")
            name = f"backtest, {density(per_month)} a month x {days} days ({n:,} mentions, {run.events} events)"
            where = f"{cores} core{'s' if cores > 1 else ''}" + (", taskset" if cores == 1 else "")
            yield (
                f"{name}, {where}",
                f"{ours:,.0f}/s ({run.seconds:.0f} s)",
                f"{base:,.0f}/s",
                f"{ours / base:.2f}",
                goal + met,
            )
            workers = f" + workers {run.workers_mb:.0f} MB" if run.workers_mb else ""
            rss_goal = "< 200 MB" + (": met" if run.peak_mb < 200 else ": NOT met") if n >= 1_000_000 else "-"
            yield (
                f"  peak RSS of that backtest (VmHWM){workers}",
                f"{run.peak_mb:.0f} MB",
                "200 MB",
                f"{run.peak_mb / 200:.2f}",
                rss_goal,
            )
        floor.close()


if __name__ == "__main__":
    for row in rows("--quick" in sys.argv):
        print(" | ".join(row))
