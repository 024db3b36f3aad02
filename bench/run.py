"""Benchmarks (not tests): each figure against a floor measured in the same run, printed as one markdown
table with the machine and the date (`make bench`; `--quick` for smaller sizes in a few minutes;
`--only backtest,ingest` for some sections: ingest, tick, backtest, live, alerts, memory).

Floors are the scorer the pipeline uses (`Scorer.of(config).pairs`, as the pipeline calls it) on the
same realistic posts (bench/corpus.py: 40 to 280 characters, varied wording), on as many cores as the
figure beside it: a row on one core against one core, a row through the process pool (two cores)
against the pool. Floors and ours are timed in turns on this shared machine.

Ingest: mentions a second through filter, dedup, scoring, storing and rule counting (Engine.ingest).
Rule tick: its time at two history sizes (bench/scale.py). Backtest: `monitor backtest --input FILE`
in a fresh process at densities of 10k, 100k and 1M mentions a month over 30 and 300 days, and its peak
RSS (bench/backtests.py). Live: alert latency, idle cost, polling, daemon RSS and CLI start
(bench/live.py). Alerts: alert building (bench/alerts.py, where present). Memory: peak RSS of a child
process ingesting mentions, then a soak of as many more.
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus  # noqa: E402

from monitor.config import Brand, Config  # noqa: E402
from monitor.engine.core import Engine  # noqa: E402
from monitor.mention import Mention  # noqa: E402
from monitor.rules import load_rules  # noqa: E402
from monitor.sentiment import POOL_MIN, Scorer  # noqa: E402
from monitor.store import Store  # noqa: E402

START = datetime(2026, 11, 1, tzinfo=UTC)
SECTIONS = ("ingest", "tick", "backtest", "live", "alerts", "memory")
Row = tuple[str, str, str, str, str]


def mentions(n: int, seed: int = 1, span: timedelta = timedelta(days=30)) -> list[Mention]:
    """n distinct realistic mentions of Acme Cloud spread over span."""
    step = span.total_seconds() / n
    return [
        Mention(
            platform=("hackernews", "reddit")[i % 2],
            id=f"m{seed}-{i}",
            text=text,
            created_at=START + timedelta(seconds=i * step),
            author=f"user{i % 5000}",
        )
        for i, (text, _) in enumerate(corpus.posts(n, ["Acme Cloud"], seed))
    ]


def engine(folder: Path) -> Engine:
    """One brand, the shipped rules."""
    config = Config(
        path=folder / "config.toml",
        database=folder / "bench.db",
        rules_dir=ROOT / "rules",
        brands=(Brand("acme", "Acme Cloud", ('"acme cloud"',)),),
        sources=MappingProxyType({}),
    )
    rules = load_rules(ROOT / "rules", ["acme"], ["hackernews", "reddit"])
    return Engine(config, rules, Store.open(config.database), Scorer.of(config))


def bench_ingest(n: int, batch_size: int = 100, rounds: int = 10) -> tuple[float, float, int]:
    """(floor rate, our rate, cores) in mentions a second, ingesting batch_size mentions a call; the
    floor is the engine's own scorer on the same texts in the same batches (so on the same cores: the
    pool's two for a batch of POOL_MIN or more, one below). Timed in turns, a tenth at a time."""
    batch = mentions(n)
    floor_time = ours_time = 0.0
    step = max(batch_size, n // rounds // batch_size * batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        eng = engine(Path(tmp))
        scorer = eng.scorer
        # The daemon loads its models once, at start, and keeps its workers: time them loaded and warm.
        scorer.pairs([("Acme Cloud: kein Kommentar", None, "acme")])
        if batch_size >= POOL_MIN:
            scorer.pairs([(m.full_text, None, "acme") for m in batch[:POOL_MIN]])
        for start in range(0, n, step):
            part = batch[start : start + step]
            started = time.perf_counter()
            for i in range(0, len(part), batch_size):
                scorer.pairs([(m.full_text, m.lang, "acme") for m in part[i : i + batch_size]])
            floor_time += time.perf_counter() - started
            started = time.perf_counter()
            for i in range(0, len(part), batch_size):
                chunk = part[i : i + batch_size]
                eng.ingest("acme", chunk, chunk[-1].created_at.timestamp())
            ours_time += time.perf_counter() - started
        cores = scorer.workers if batch_size >= POOL_MIN else 1
        eng.store.close()
        scorer.close()
    return n / floor_time, n / ours_time, cores


def machine() -> str:
    """The machine the figures come from."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown")
    return f"{os.cpu_count()} core(s), {model}, Python {platform.python_version()}"


def verdict(ok: bool, goal: str) -> str:
    """'goal: met' or 'goal: NOT met'."""
    return f"{goal}: {'met' if ok else 'NOT met'}"


def ingest_rows(quick: bool) -> list[Row]:
    """In polls of 100 on one core, and in bulk through the pool, each against the scorer alike."""
    n = 20_000 if quick else 50_000
    floor, ours, _ = bench_ingest(n)
    rows = [
        (
            f"ingest, polls of 100, 1 core ({n:,} posts)",
            f"{ours:,.0f}/s",
            f"{floor:,.0f}/s",
            f"{ours / floor:.2f}",
            "none set (pipeline vs its scorer)",
        )
    ]
    floor, ours, cores = bench_ingest(n * 2, batch_size=n)
    rows.append(
        (
            f"ingest, bulk batches of {n:,}, {cores} cores (pool) against the pool",
            f"{ours:,.0f}/s",
            f"{floor:,.0f}/s",
            f"{ours / floor:.2f}",
            "none set (pipeline vs its scorer)",
        )
    )
    return rows


def tick_rows(quick: bool) -> list[Row]:
    """Rule tick against stored history (bench/scale.py)."""
    import scale

    big = 100_000 if quick else 1_000_000
    tick = scale.tick_against_history((10_000, big))
    return [
        (
            f"rule tick, {big:,} vs 10,000 stored",
            f"{tick['large']:.2f} ms",
            f"{tick['small']:.2f} ms",
            f"{tick['large'] / tick['small']:.2f}",
            verdict(tick["large"] / tick["small"] <= 1.2, "<= 1.2"),
        ),
        (
            f"rule tick, {big:,} in the last 30 days",
            f"{tick['dense']:.2f} ms",
            f"{tick['small']:.2f} ms",
            f"{tick['dense'] / tick['small']:.2f}",
            "(activity, not history)",
        ),
    ]


def backtest_rows(quick: bool) -> Iterable[Row]:
    """bench/backtests.py, row by row as each is measured."""
    import backtests

    return backtests.rows(quick)


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def live_rows(quick: bool) -> list[Row]:
    """The daemon against loopback fakes (bench/live.py): latency, idle, polling, RSS, CLI start."""
    import live

    samples = live.latency(10 if quick else 30)
    p99, p50 = _percentile(samples, 0.99), _percentile(samples, 0.5)
    rows = [
        (
            f"alert latency p99 ({len(samples)} spikes; p50 {p50 * 1000:.0f} ms)",
            f"{p99 * 1000:.0f} ms",
            "1000 ms",
            f"{p99:.3f}",
            verdict(p99 <= 1, "<= 1"),
        )
    ]
    # live.idle takes the real minute where it can (interval=60 by default); before, a compressed 6 s.
    interval = float(inspect.signature(live.idle).parameters["interval"].default)
    idle: dict[str, Any] = live.idle(brands=100, interval=interval, rounds=2 if quick else 5)
    per_minute = idle["cpu_per_poll"] * 100  # CPU seconds for one round of 100 polls
    rows += [
        (
            f"idle: 100 queries a minute, CPU ({idle['cpu_share'] * 100:.2f}% at {interval:g} s)",
            f"{per_minute / 60 * 100:.2f}% core",
            "1% core",
            f"{per_minute / 60 / 0.01:.2f}",
            verdict(per_minute / 60 <= 0.01, "<= 1"),
        ),
        (
            "polling: requests per empty poll",
            f"{idle['requests_per_poll']:.2f}",
            "1",
            f"{idle['requests_per_poll']:.2f}",
            verdict(idle["requests_per_poll"] <= 1.0, "1"),
        ),
        (
            "polling: items fetched twice, quiet queries",
            f"{idle['refetched']}",
            "0",
            f"{idle['refetched'] / max(idle['polls'], 1):.2f}/poll",
            verdict(idle["refetched"] == 0, "0"),
        ),
        (
            "polling: busy query, fetched again (overlap)",
            f"{idle['busy_refetched_per_poll']:.1f}/poll",
            "-",
            "-",
            "by design",
        ),
        (
            "polling: requests during Retry-After",
            f"{idle['during_retry_after']}",
            "0",
            "-",
            verdict(idle["during_retry_after"] == 0, "0"),
        ),
    ]
    if "rss_mb" in idle:
        peak = idle.get("peak_rss_mb", idle["rss_mb"])
        rows.append(
            (
                f"daemon RSS, 100 brands (peak {peak:.0f} MB)",
                f"{idle['rss_mb']:.0f} MB",
                "100 MB",
                f"{idle['rss_mb'] / 100:.2f}",
                verdict(idle["rss_mb"] < 100, "< 100 MB"),
            )
        )
    else:
        rows.append(("daemon RSS, 100 brands", "not measured", "100 MB", "-", "< 100 MB (live.idle has no rss_mb)"))
    cli_start: Callable[[], dict[str, float]] | None = getattr(live, "cli_start", None)
    if cli_start is None:
        rows.append(("CLI start", "not measured", "150 ms", "-", "< 150 ms (no live.cli_start)"))
    else:
        for name, ms in cli_start().items():
            rows.append(
                (f"CLI start: {name}", f"{ms:.0f} ms", "150 ms", f"{ms / 150:.2f}", verdict(ms < 150, "< 150 ms"))
            )
    return rows


def alerts_rows(quick: bool) -> list[Row]:
    """Alert building (bench/alerts.py, written on another branch: a row saying so until it is here)."""
    try:
        import alerts
    except ImportError:
        return [("alert building p99", "not measured", "5 ms", "-", "< 5 ms (no bench/alerts.py)")]
    figures = alerts.alert_building(quick)
    replayed = alerts.replay_alerts(quick)
    p99 = figures["p99_ms"]
    return [
        (
            f"alert building p99 ({figures['events']:.0f} events; p50 {figures['p50_ms']:.1f} ms; explaining"
            f" {figures['explaining_ms']:.1f} ms of the mean; first of a brand {figures['first_ms']:.0f} ms)",
            f"{p99:.1f} ms",
            "5 ms",
            f"{p99 / 5:.2f}",
            verdict(p99 < 5, "< 5 ms"),
        ),
        (
            f"alert building p99 inside a replay at 1M a month ({replayed['events']:.0f} openings and updates;"
            f" p50 {replayed['p50_ms']:.1f} ms)",
            f"{replayed['p99_ms']:.1f} ms",
            "5 ms",
            f"{replayed['p99_ms'] / 5:.2f}",
            verdict(replayed["p99_ms"] < 5, "< 5 ms"),
        ),
    ]


def memory_rows(quick: bool) -> list[Row]:
    """Peak RSS of a child process ingesting mentions, then a soak (bench/scale.py)."""
    import scale

    n = 100_000 if quick else 1_000_000
    mem = scale.memory(n)
    return [
        (
            f"peak RSS after {n:,} ingested",
            f"{mem['after_peak']:.0f} MB",
            "150 MB",
            f"{mem['after_peak'] / 150:.2f}",
            verdict(mem["after_peak"] <= 150, "<= 150 MB"),
        ),
        (
            f"RSS over a soak of {n:,} more (peak {mem['soak_peak']:.0f} MB)",
            f"{mem['soak_now']:.0f} MB",
            f"{mem['after_now']:.0f} MB",
            f"{mem['soak_now'] / mem['after_now']:.2f}",
            verdict(mem["soak_now"] / mem["after_now"] <= 1.1, "flat (<= 1.1)"),
        ),
    ]


RUNNERS: dict[str, Callable[[bool], Iterable[Row]]] = {
    "ingest": ingest_rows,
    "tick": tick_rows,
    "backtest": backtest_rows,
    "live": live_rows,
    "alerts": alerts_rows,
    "memory": memory_rows,
}


def table(rows: list[Row]) -> str:
    """The rows as a markdown table."""
    head = "| benchmark | figure | floor | ratio | goal |\n|---|---:|---:|---:|---|\n"
    return head + "".join(f"| {' | '.join(row)} |\n" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections, comma-separated: {', '.join(SECTIONS)}")
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in RUNNERS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    started = time.perf_counter()
    rows: list[Row] = []
    for section in sections:
        print(f"{section} ...", file=sys.stderr, flush=True)
        for row in RUNNERS[section](args.quick):
            print("  " + " | ".join(row), file=sys.stderr, flush=True)
            rows.append(row)
    took = time.perf_counter() - started
    command = "python bench/run.py" + (" --quick" if args.quick else "")
    command += f" --only {','.join(sections)}" if sections != list(SECTIONS) else ""
    day = datetime.now(UTC).date().isoformat()
    print(f"\nMachine: {machine()}, {day}; `{command}`, {took // 60:.0f} min {took % 60:.0f} s.")
    print(f"Posts (bench/corpus.py): {corpus.summary([t for t, _ in corpus.posts(20_000, ['Acme Cloud'])])}.\n")
    print(table(rows), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
