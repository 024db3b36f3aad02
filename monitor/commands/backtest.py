"""`monitor backtest`: replay mentions through the daemon's own pipeline and rule tick on stream time
and print the alert events that would have been sent (see monitor/engine/replay.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from monitor.alerts.events import iso
from monitor.engine.replay import (
    event_record,
    read_replay,
    run_backtest,
    span_of,
    stored_mentions,
    sweep,
    sweep_values,
    timeline,
    tracer,
)
from monitor.loading import load_all
from monitor.mention import to_utc
from monitor.store import Store


def run(args: argparse.Namespace) -> int:
    """Replay, print the alert events (text or jsonl), or a --sweep table."""
    config, rules = load_all(args.config, args.rules)
    if args.input:
        items = read_replay(Path(args.input))
    else:
        store = Store.open(config.database)
        items = list(stored_mentions(store))
        store.close()
    if not args.brand:
        known = {b.id for b in config.brands}
        unknown = sorted({b for _, b in items if b and b not in known})
        if unknown:
            print(
                f"note: mentions for brand(s) not in config skipped: {', '.join(unknown)}"
                " (pass --brand ID to count them)",
                file=sys.stderr,
            )
    try:
        since = to_utc(args.since).timestamp() if args.since else float("-inf")
        until = to_utc(args.until).timestamp() if args.until else float("inf")
    except ValueError as exc:
        print(f"--since/--until: {exc}", file=sys.stderr)
        return 2
    items = [item for item in items if since <= item[0].created_at.timestamp() < until]
    trace_out = sys.stdout if args.format == "text" else sys.stderr
    if items and args.format == "text":
        first = min(m.created_at.timestamp() for m, _ in items)
        for rule in rules:
            warm = getattr(rule.detect, "min_history", None)
            if warm is not None and warm.total_seconds() > 0:
                ready = first + min(warm, rule.detect.baseline).total_seconds()  # type: ignore[union-attr]
                print(f"note: {rule.name} learns its baseline first: it can fire from {iso(ready)} on")

    trace = tracer(args.trace, trace_out) if args.trace else None
    if args.sweep:
        try:
            field, values = sweep_values(args.sweep, rules)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        for line in sweep(config, rules, items, field, values, brand_override=args.brand):
            print(line)
        return 0
    records = []
    for event in run_backtest(config, rules, items, brand_override=args.brand, trace=trace):
        record = event_record(event)
        if args.format == "jsonl":
            print(json.dumps(record), flush=False)
        records.append(record)
    if args.format == "text":
        for line in timeline(records, rules, span_of(items), config.zone):
            print(line)
        print(f"{len(records)} alert event(s) from {len(items)} mention(s)")
    return 0
