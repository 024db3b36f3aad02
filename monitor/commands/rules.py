"""`monitor rules stats`: how each rule's incidents were received, so rule editors see which rules
earn their keep (a rule whose alerts are mostly marked noise wants tightening)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from monitor.commands.sharding import cut
from monitor.durations import format_duration, parse_duration
from monitor.loading import load_all
from monitor.store import RuleStats, Store


def collect(stats: Iterable[RuleStats], rule_names: Iterable[str]) -> list[RuleStats]:
    """Stats for every configured rule (zeros for those that opened nothing) and for any other rule
    that still has incidents in the period (a removed or renamed one), by name."""
    found = {s.rule: s for s in stats}
    for name in rule_names:
        found.setdefault(name, RuleStats(name, 0, 0, 0, 0, None))
    return [found[name] for name in sorted(found)]


def _share(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.0%})" if whole else str(part)


def _wait(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(timedelta(seconds=round(seconds)))


def stats_text(stats: list[RuleStats], since: str) -> str:
    """A text table, one rule a line."""
    header = ("rule", "opened", "acknowledged", "noise", "snoozed", "median to ack")
    rows = [
        (
            s.rule,
            str(s.opened),
            _share(s.acknowledged, s.opened),
            _share(s.noise, s.opened),
            _share(s.snoozed, s.opened),
            _wait(s.median_ack_seconds),
        )
        for s in stats
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"incidents opened in the last {since}, per rule"]
    for row in [header, *rows]:
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
    return "\n".join(lines)


def stats_json(stats: list[RuleStats], since: str, start: float) -> str:
    """One JSON document: the period and each rule's counts (median_ack_seconds null when none was acked)."""
    data: dict[str, Any] = {
        "since": since,
        "start": start,
        "rules": [
            {
                "rule": s.rule,
                "opened": s.opened,
                "acknowledged": s.acknowledged,
                "noise": s.noise,
                "snoozed": s.snoozed,
                "median_ack_seconds": s.median_ack_seconds,
            }
            for s in stats
        ],
    }
    return json.dumps(data, indent=2)


def run(args: argparse.Namespace) -> int:
    """`monitor rules stats`; exit 2 on a bad --since."""
    try:
        period = parse_duration(args.since).total_seconds()
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    config, rules = load_all(args.config)
    config = cut(config, args.shard)
    start = args.clock() - period
    store = Store.open(config.database)
    try:
        stats = collect(store.rule_stats(start), (r.name for r in rules))
    finally:
        store.close()
    print(stats_json(stats, args.since, start) if args.format == "json" else stats_text(stats, args.since))
    return 0
