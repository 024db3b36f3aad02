"""Backtest: replay mentions through the daemon's own pipeline and rule tick on stream time."""

from __future__ import annotations

import dataclasses
import itertools
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from monitor.alerts.events import iso
from monitor.config import Brand, Config
from monitor.engine import stream
from monitor.engine.core import Engine
from monitor.engine.stream import Item
from monitor.mention import Mention, ScoredMention
from monitor.rules.detectors import Evaluation
from monitor.rules.model import Rule
from monitor.sentiment import Scorer
from monitor.store import Store
from monitor.wording import duration_words


def read_replay(path: Path) -> list[Item]:
    """A replay JSONL file's mentions in created_at order, all in memory (stream.of_file reads them as
    they are replayed); InvalidFiles naming each bad line."""
    return list(stream.of_file(path))


def with_brand(config: Config, brand_id: str) -> Config:
    """The config with brand_id present (made up with default settings if config lacks it)."""
    if config.brand(brand_id) is not None:
        return config
    made_up = Brand(id=brand_id, name=brand_id, queries=(brand_id,))
    return replace(config, brands=(*config.brands, made_up))


def event_record(event: dict[str, Any]) -> dict[str, Any]:
    """The backtest JSONL record for an alert event (the contract's fields first)."""
    figures = event.get("figures") or {}
    record: dict[str, Any] = {
        "event": event["event"],
        "rule": event["rule"],
        "brand": event["brand"],
        "at": event["at"],
        "incident": event["incident"],
    }
    for key in ("count", "expected", "ratio", "p_value", "threshold", "sentiment_mean", "negative_share"):
        if figures.get(key) is not None:
            record[key] = figures[key]
    if "top" in event:
        record["top"] = [m["id"] for m in event["top"]]
    for key in ("severity", "summary", "terms", "reopened", "growth", "resolved_after"):
        if key in event:
            record[key] = event[key]
    return record


# A replay is stored ahead in chunks of this many mentions (one store transaction and one scoring batch
# per brand and chunk: large enough for the process pool) and counted toward the rules at stream time.
# Reads of the store are bounded by the tick's time, so mentions stored ahead are not seen early.
REPLAY_CHUNK = 20_000


def run_backtest(
    config: Config,
    rules: list[Rule],
    items: Iterable[Item],
    brand_override: str | None = None,
    scorer: Scorer | None = None,
    trace: Callable[[Rule, str, float, Evaluation], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Replay items in created_at order; yield each alert event the daemon would have sent. A Replay is
    read as it goes (its memory does not grow with it); other items are sorted in memory first. The
    replay runs on a throwaway database in a temporary folder, not in memory, for the same reason."""
    if brand_override:
        config = with_brand(config, brand_override)
    replay = items if isinstance(items, stream.Replay) else stream.of_items(items)
    if not replay.count:
        return
    with tempfile.TemporaryDirectory(prefix="monitor-replay-") as folder:
        store = Store.scratch(Path(folder) / "replay.db")
        try:
            engine = Engine(config, rules, store, scorer or Scorer.of(config))
            engine.trace = trace
            yield from _replay(engine, rules, replay, brand_override, config.tick.total_seconds())
        finally:
            store.close()


def _replay(
    engine: Engine, rules: list[Rule], replay: stream.Replay, override: str | None, tick: float
) -> Iterator[dict[str, Any]]:
    next_tick = math.floor(replay.first / tick) * tick + tick
    # Each chunk is selected against what is stored (the chunks before it), then scored in the process
    # pool while the engine ticks through the chunk before it; then stored, to be counted one mention at
    # a time as the stream time reaches it.
    ahead: list[ScoredMention] = []
    items = iter(replay.items())
    while chunk := list(itertools.islice(items, REPLAY_CHUNK)):
        store = _store_later(engine, chunk, override)
        next_tick = yield from _stream(engine, ahead, next_tick, tick)
        ahead = store()
        ahead.sort(key=lambda scored: scored.mention.created_at)
    next_tick = yield from _stream(engine, ahead, next_tick, tick)
    # Keep ticking after the stream ends so that open incidents can resolve.
    tail = max((r.horizon.total_seconds() + r.alert.resolve_after.total_seconds() for r in rules), default=0)
    end = next_tick + min(tail, 2 * 86400)
    while next_tick <= end:
        yield from engine.tick(next_tick)
        next_tick += tick
        if not engine.store.incidents("open") and next_tick > replay.last + 3600:
            break


def _stream(
    engine: Engine, stored: list[ScoredMention], next_tick: float, tick: float
) -> Generator[dict[str, Any], None, float]:
    """Count stored mentions in created_at order, ticking whenever the stream time passes a tick; the
    next tick's time."""
    for scored in stored:
        ts = scored.mention.created_at.timestamp()
        while ts >= next_tick:
            # A tick before the engine's quiet_until would change nothing (counting a mention that may
            # wake a pair forgets it).
            if next_tick >= engine.quiet_until:
                yield from engine.tick(next_tick)
            next_tick += tick
        engine.count((scored,))
    return next_tick


def _store_later(engine: Engine, chunk: list[Item], override: str | None) -> Callable[[], list[ScoredMention]]:
    """Filter a chunk of the replay per brand, as polls would, and start scoring it in one batch: calling
    the result stores it (not counted) and gives the stored mentions."""
    batches: dict[tuple[str, bool], list[Mention]] = {}
    for mention, brand in chunk:
        for brand_id, explicit in _brands_of(engine, mention, brand, override):
            batches.setdefault((brand_id, explicit), []).append(mention)
    now = chunk[-1][0].created_at.timestamp()
    return engine.ingest_later(
        [(brand, mentions, not explicit) for (brand, explicit), mentions in batches.items()], now
    )


def _brands_of(engine: Engine, mention: Mention, brand: str | None, override: str | None) -> list[tuple[str, bool]]:
    if override:
        return [(override, True)]
    if brand:
        return [(brand, True)] if brand in engine.brands else []
    return [(b, False) for b in engine.pipeline.brands_for(mention)]


def timeline(records: list[dict[str, Any]], rules: list[Rule], span: tuple[float, float], zone: tzinfo) -> list[str]:
    """The text report: per rule, its incidents' events in order, then a summary line.

    The summary gives incidents per week over the replayed span, the longest incident (opened to
    resolved; still open at the end counts to the end) and the busiest hour of day for openings.
    """
    lines: list[str] = []
    weeks = max(span[1] - span[0], 3600.0) / (7 * 86400)
    for rule in rules:
        own = [r for r in records if r["rule"] == rule.name]
        opened = {r["incident"]: _epoch(r["at"]) for r in own if r["event"] == "opened"}
        if not opened:
            lines.append(f"== {rule.name}: no incidents")
            continue
        resolved = {r["incident"]: _epoch(r["at"]) for r in own if r["event"] == "resolved"}
        longest = max(resolved.get(i, span[1]) - t for i, t in opened.items())
        hours = Counter(datetime.fromtimestamp(t, zone).hour for t in opened.values())
        busiest, n = max(sorted(hours.items()), key=lambda kv: kv[1])
        lines.append(
            f"== {rule.name}: {len(opened)} incident(s), {len(opened) / weeks:.1f} a week;"
            f" longest {duration_words(longest)};"
            f" busiest hour {busiest:02d}:00 ({n} opened)"
        )
        lines.extend(f"  {text_line(r)}" for r in own)
    return lines


def text_line(record: dict[str, Any]) -> str:
    """One alert event as a line of the text report."""
    figures = " ".join(
        f"{k}={record[k]}" for k in ("count", "expected", "ratio", "p_value", "threshold") if k in record
    )
    note = f"  {record['summary']}" if record.get("summary") and record["event"] != "resolved" else ""
    return f"{record['at']}  {record['event']:<8}  {record['brand']}  {figures}  [{record['incident']}]{note}"


def sweep_values(text: str, rules: list[Rule]) -> tuple[str, list[float]]:
    """Parse --sweep FIELD=V1,V2,...; the field must be a numeric detect field of at least one rule."""
    field, _, values = text.partition("=")
    field = field.strip()
    numeric = {
        f.name
        for rule in rules
        for f in dataclasses.fields(rule.detect)
        if isinstance(getattr(rule.detect, f.name), int | float) and not isinstance(getattr(rule.detect, f.name), bool)
    }
    if field not in numeric:
        known = ", ".join(sorted(numeric)) or "none"
        raise ValueError(f"--sweep: {field!r} is not a numeric detect field of these rules (known: {known})")
    try:
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--sweep: expected numbers after '=', got {values!r}") from None
    if not numbers:
        raise ValueError("--sweep: give values, e.g. min_ratio=2,3,4")
    return field, numbers


def sweep(
    config: Config,
    rules: list[Rule],
    items: Iterable[Item],
    field: str,
    values: list[float],
    brand_override: str | None = None,
) -> list[str]:
    """Incidents a week per rule for each value of one detect field, side by side (rules without the
    field keep theirs), so an editor can pick a threshold from an alert budget."""
    replay = items if isinstance(items, stream.Replay) else stream.of_items(items)
    span = replay.span
    weeks = max(span[1] - span[0], 3600.0) / (7 * 86400)
    scorer = Scorer.of(config)
    table: dict[str, list[str]] = {r.name: [] for r in rules}
    for value in values:
        varied = [_with(rule, field, value) for rule in rules]
        opened = Counter(
            e["rule"] for e in run_backtest(config, varied, replay, brand_override, scorer) if e["event"] == "opened"
        )
        for rule in rules:
            has = any(f.name == field for f in dataclasses.fields(rule.detect))
            table[rule.name].append(f"{opened[rule.name] / weeks:.1f}" if has else "-")
    width = max(len(field) + 8, *(len(n) + 2 for n in table))
    head = f"{'incidents a week':<{width}}" + "".join(f"{field}={v:g}".rjust(16) for v in values)
    return [head] + [f"{name:<{width}}" + "".join(c.rjust(16) for c in cells) for name, cells in table.items()]


def _with(rule: Rule, field: str, value: float) -> Rule:
    if not any(f.name == field for f in dataclasses.fields(rule.detect)):
        return rule
    current = getattr(rule.detect, field)
    changes: dict[str, Any] = {field: int(value) if isinstance(current, int) else value}
    return replace(rule, detect=replace(rule.detect, **changes))


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# backtest --trace: by default only the evaluations worth reading: every change of a rule's state for
# a brand (learning, quiet, firing), and an evaluation with a count above what was expected, when its
# count differs from the last one shown (a count that stays put for an hour is one line, not sixty).
# --trace all shows every evaluation.
MODES = ("changes", "all")


def state(result: Evaluation) -> str:
    """learning | quiet | firing."""
    if result.firing:
        return "firing"
    return "learning" if result.reason.startswith("learning") else "quiet"


def above_usual(result: Evaluation) -> bool:
    """Whether the count is above the expected value (above the expected share for share rules; for
    kinds with no expectation, whether it fires)."""
    figures = result.figures
    if isinstance(figures.get("expected_share"), int | float):
        return float(figures.get("share", 0.0)) > float(figures["expected_share"])
    if isinstance(figures.get("expected"), int | float):
        return result.count > float(figures["expected"])
    return result.firing


class TraceFilter:
    """Decides, evaluation by evaluation, whether --trace shows it."""

    def __init__(self, mode: str = "changes") -> None:
        self.everything = mode == "all"
        self.states: dict[tuple[str, str], str] = {}
        self.shown: dict[tuple[str, str], int] = {}  # the count of the last line shown

    def __call__(self, rule: Rule, brand: str, result: Evaluation) -> bool:
        """Whether to show this evaluation (it also notes the rule's new state)."""
        key, now = (rule.name, brand), state(result)
        changed = self.states.get(key) != now
        self.states[key] = now
        show = self.everything or changed
        show = show or (now != "learning" and above_usual(result) and self.shown.get(key) != result.count)
        if show:
            self.shown[key] = result.count
        return show


def trace_line(rule: Rule, brand: str, now: float, result: Evaluation) -> str:
    """One evaluation as a trace line."""
    figures = " ".join(f"{k}={v}" for k, v in result.figures.items())
    verdict = "FIRING" if result.firing else f"quiet: {result.reason}"
    return f"  trace {iso(now)} {rule.name} {brand} {figures} {verdict}"


def tracer(mode: str, out: TextIO) -> Callable[[Rule, str, float, Evaluation], None]:
    """The engine's trace hook for a --trace mode, printing the lines it keeps to out."""
    keep = TraceFilter(mode)

    def trace(rule: Rule, brand: str, now: float, result: Evaluation) -> None:
        if keep(rule, brand, result):
            print(trace_line(rule, brand, now, result), file=out)

    return trace
