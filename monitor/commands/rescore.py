"""`monitor rescore`: stored mentions scored again by the current scorer, in batches, while the daemon runs."""

from __future__ import annotations

import argparse
import sys

from monitor.commands.sharding import cut
from monitor.durations import parse_duration
from monitor.engine.rescoring import Rescored, rescore
from monitor.loading import load_config
from monitor.sentiment import Scorer
from monitor.store import Store


def run(args: argparse.Namespace) -> int:
    """Rescore the mentions of --since that another scorer version scored; exit 2 on a bad argument."""
    try:
        since = args.clock() - parse_duration(args.since).total_seconds()
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return 2
    config = cut(load_config(args.config), args.shard)
    brands = [b.id for b in config.brands]
    if args.brand:
        if args.brand not in brands:
            print(f"--brand: unknown brand {args.brand!r} (known: {', '.join(brands)})", file=sys.stderr)
            return 2
        brands = [args.brand]
    scorer = Scorer.of(config)
    store = Store.open(config.database)
    shown = [0]

    def progress(done: dict[str, Rescored]) -> None:
        total = sum(r.rescored for r in done.values())
        if total - shown[0] >= 50_000:
            shown[0] = total
            print(f"  {total:,} rescored so far", file=sys.stderr, flush=True)

    try:
        done = rescore(store, scorer, brands, since, progress=progress)
    finally:
        store.close()
        scorer.close()
    for brand, result in done.items():
        print(
            f"{brand}: {result.rescored:,} mention(s) rescored by {scorer.version_of(brand)},"
            f" {result.changed:,} with another label"
        )
    if any(r.rescored for r in done.values()):
        print("a running daemon counts the new labels from its next reload (systemctl reload monitor, or SIGHUP)")
    return 0
