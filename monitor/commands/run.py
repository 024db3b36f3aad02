"""`monitor run`: the daemon, as one instance or one shard of several."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.loading import load_all
from monitor.service.daemon import run as run_daemon
from monitor.service.logs import redact_environment
from monitor.service.shard import Shard, for_shard, parse_shard


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; exit 2 on a bad --shard."""
    config, rules = load_all(args.config)
    shard: Shard | None = None
    if args.shard:
        try:
            shard = parse_shard(args.shard)
            config = for_shard(config, shard)
        except ValueError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            return 2
    redact_environment(config.secret_names)
    return asyncio.run(run_daemon(config, rules, config_path=Path(args.config), clock=args.clock, shard=shard))
