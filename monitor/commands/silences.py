"""`monitor silences`: list the silences in force and recent ones; add one, end one; remove an exclusion
added from Slack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from monitor.commands.expected import add_expected_surge
from monitor.commands.formats import ago, when
from monitor.commands.sharding import brand_elsewhere, cut
from monitor.config import Config
from monitor.durations import parse_duration
from monitor.loading import load_all, load_config
from monitor.rules.calendar import expected_text
from monitor.store import Store


def silences_text(silences: list[Any], now: float, exclusions: Sequence[Any] = ()) -> str:
    """What `monitor silences` prints: those in force, then those that ended in the last week; then the
    exclusions added from Slack (applied on top of config's `exclude`)."""
    current = [s for s in silences if s.created_at <= now < s.expires_at]
    recent = [s for s in silences if now - 7 * 86400 < s.expires_at <= now]
    lines = [f"{len(current)} silence(s) in force"]
    for s in current + recent:
        state = f"until {when(s.expires_at)}" if s in current else f"ended {ago(s.expires_at, now)}"
        terms = f" terms {', '.join(s.terms)}" if s.terms else ""
        lines.append(
            f"  #{s.id}  rule {s.rule}  brand {s.brand}{terms}  {state}  by {s.author or '?'}"
            + (f": {s.comment}" if s.comment else "")
        )
    if exclusions:
        lines.append(f"{len(exclusions)} exclusion(s) added from Slack (on top of config's exclude)")
    for e in exclusions:
        lines.append(
            f"  #{e.id}  brand {e.brand}  term {e.term!r}  by {e.author or '?'} on {e.incident or '?'}"
            f"  since {when(e.created_at)}"
        )
    return "\n".join(lines)


def _add(args: argparse.Namespace, config: Config, store: Store, now: float) -> int:
    try:
        expires = now + parse_duration(args.duration).total_seconds()
    except ValueError as exc:
        print(f"--for: {exc}", file=sys.stderr)
        return 2
    full, rules = load_all(args.config)
    elsewhere = brand_elsewhere(full, config, args.shard, args.brand)
    if elsewhere:
        print(f"--brand: {elsewhere}", file=sys.stderr)
        return 2
    known_rules = {r.name for r in rules}
    for value, known, what in ((args.rule, known_rules, "rule"), (args.brand, {b.id for b in config.brands}, "brand")):
        if value != "*" and value not in known:
            print(f"--{what}: unknown {what} {value!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
            return 2
    terms = [t.strip() for t in (args.terms or "").split(",") if t.strip()]
    silence_id = store.add_silence(args.rule, args.brand, terms, args.author, args.comment, now, expires)
    print(f"silence #{silence_id} added")
    return 0


def _end(args: argparse.Namespace, store: Store, now: float) -> int:
    if not store.end_silence(args.id, now):
        print(f"no silence #{args.id} is in force", file=sys.stderr)
        return 1
    print(f"silence #{args.id} ended")
    return 0


def _unexclude(args: argparse.Namespace, store: Store) -> int:
    if not store.remove_exclusion(args.id):
        print(f"no exclusion #{args.id} was added from Slack", file=sys.stderr)
        return 1
    print(f"exclusion #{args.id} removed (the running daemon applies this on reload)")
    return 0


def run(args: argparse.Namespace) -> int:
    """List (no action), add, end or unexclude; exit 1 when there is nothing to end, 2 on a bad argument."""
    config = cut(load_config(args.config), args.shard)
    now = args.clock()
    if args.action == "add" and args.expected:
        return add_expected_surge(args, config, now)
    store = Store.open(config.database)
    try:
        if args.action == "add":
            return _add(args, config, store, now)
        if args.action == "end":
            return _end(args, store, now)
        if args.action == "unexclude":
            return _unexclude(args, store)
        print(silences_text(store.silences(), now, store.exclusions()))
        print(expected_text(config.rules_dir, [b.id for b in config.brands], now, config.zone))
        return 0
    finally:
        store.close()
