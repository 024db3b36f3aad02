"""`monitor backtest`: replay mentions through the daemon's own pipeline and rule tick on stream time
and print the alert events that would have been sent (see monitor/engine/replay.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor.alerts.events import iso
from monitor.config import Brand
from monitor.engine import stream
from monitor.engine.replay import event_record, run_backtest, sweep, sweep_values, timeline, tracer
from monitor.loading import load_all
from monitor.mention import to_utc
from monitor.rules import Rule


def run(args: argparse.Namespace) -> int:
    """Replay, print the alert events (text or jsonl), or a --sweep table."""
    config, rules = load_all(args.config, args.rules)
    try:
        since = to_utc(args.since).timestamp() if args.since else float("-inf")
        until = to_utc(args.until).timestamp() if args.until else float("inf")
    except ValueError as exc:
        print(f"--since/--until: {exc}", file=sys.stderr)
        return 2
    replay = (
        stream.of_file(Path(args.input), since, until) if args.input else stream.of_store(config.database, since, until)
    )
    _notes(args, config.brands, rules, replay)
    if args.sweep:
        try:
            field, values = sweep_values(args.sweep, rules)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        for line in sweep(config, rules, replay, field, values, brand_override=args.brand):
            print(line)
        return 0
    trace = tracer(args.trace, sys.stdout if args.format == "text" else sys.stderr) if args.trace else None
    records = []
    for event in run_backtest(config, rules, replay, brand_override=args.brand, trace=trace):
        record = event_record(event)
        if args.format == "jsonl":
            print(json.dumps(record), flush=False)
        records.append(record)
    if args.format == "text":
        for line in timeline(records, rules, replay.span, config.zone):
            print(line)
        print(f"{len(records)} alert event(s) from {replay.count} mention(s)")
    return 0


def _notes(args: argparse.Namespace, brands: Sequence[Brand], rules: list[Rule], replay: stream.Replay) -> None:
    """What to know before the events: brands the replay names that config lacks, rules still learning."""
    if not args.brand:
        unknown = sorted(replay.brands - {b.id for b in brands})
        if unknown:
            print(
                f"note: mentions for brand(s) not in config skipped: {', '.join(unknown)}"
                " (pass --brand ID to count them)",
                file=sys.stderr,
            )
    if replay.count and args.format == "text":
        for rule in rules:
            warm = getattr(rule.detect, "min_history", None)
            if warm is not None and warm.total_seconds() > 0:
                ready = replay.first + min(warm, rule.detect.baseline).total_seconds()  # type: ignore[union-attr]
                print(f"note: {rule.name} learns its baseline first: it can fire from {iso(ready)} on")
