"""`monitor silences add --expected`: an announced surge (a launch), appended to the rules folder's
expected.toml, during which rules with `quiet_when_expected` stay quiet (see monitor/rules/calendar.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from monitor.config import Config
from monitor.durations import parse_duration
from monitor.errors import InvalidFiles
from monitor.rules.calendar import add_expected


def add_expected_surge(args: argparse.Namespace, config: Config, now: float) -> int:
    """Append the surge; exit 2 (one line) for a bad brand, duration or start, or a file that cannot be written."""
    brands = [b.id for b in config.brands]
    if args.brand != "*" and args.brand not in brands:
        print(f"--brand: unknown brand {args.brand!r} (known: {', '.join(sorted(brands))})", file=sys.stderr)
        return 2
    if args.terms or args.rule != "*":
        print("--expected: marks a surge for the rules that stay quiet for one; no --rule or --terms", file=sys.stderr)
        return 2
    try:
        length = parse_duration(args.duration)
        start = datetime.fromisoformat(args.start) if args.start else None
    except ValueError as exc:
        print(f"--for/--from: {exc}", file=sys.stderr)
        return 2
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=config.zone)  # a plain time is the configured zone's
    begin = start.timestamp() if start is not None else now
    try:
        path = add_expected(config.rules_dir, args.brand, begin, length, args.comment, config.zone, brands)
    except InvalidFiles as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{config.rules_dir}: {exc}", file=sys.stderr)
        return 2
    print(
        f"expected surge added to {path} (rules with quiet_when_expected stay quiet for {args.brand} then;"
        " a running daemon reloads its rules when the file changes)"
    )
    return 0
