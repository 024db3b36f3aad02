"""The command line: run, check, backtest, score, demo."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor import __version__
from monitor.clock import Clock, system
from monitor.config import Config, load_config
from monitor.errors import InvalidFiles, Problem
from monitor.rules import Rule, load_rules
from monitor.store.lock import StoreError
from monitor.tomlfile import TomlFile

EXIT_INVALID = 2


def load_all(config_path: str, rules_dir: str | None = None) -> tuple[Config, list[Rule]]:
    """Config and rules, validated together; InvalidFiles lists every problem."""
    from monitor.sources import PLATFORMS

    config = load_config(config_path)
    directory = Path(rules_dir) if rules_dir else config.rules_dir
    rules = load_rules(directory, (b.id for b in config.brands), PLATFORMS)
    longest = max(rules, key=lambda r: r.horizon, default=None)
    if longest is not None and longest.horizon.total_seconds() > config.keep_days * 86400:
        line = TomlFile.load(config.path).line_of("monitor.keep_days")
        raise InvalidFiles([Problem(str(config.path), line, "monitor.keep_days",
                                    f"{config.keep_days} days is shorter than what rule {longest.name!r} reads back"
                                    f" ({longest.horizon.days} days and more): raise keep_days")])  # fmt: skip
    return config, rules


def _check(args: argparse.Namespace) -> int:
    config, rules = load_all(args.config, args.rules)
    enabled = [s for s in config.sources.values() if s.enabled]
    print(
        f"ok: {len(config.brands)} brand(s), {len(enabled)} of {len(config.sources)} source(s) enabled,"
        f" {len(rules)} rule(s)"
    )
    if not os.environ.get(config.slack.token_env):
        print(f"note: {config.slack.token_env} is not set: alerts will print to the console", file=sys.stderr)
    from monitor.ops import check_warnings

    for warning in check_warnings(config):
        print(warning, file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.daemon import run
    from monitor.logs import redact_environment
    from monitor.shard import Shard, for_shard, parse_shard

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
    return asyncio.run(run(config, rules, config_path=Path(args.config), clock=args.clock, shard=shard))


def _backtest(args: argparse.Namespace) -> int:
    from monitor.alerts import iso
    from monitor.backtest import (
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
    from monitor.mention import to_utc
    from monitor.store import Store

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


def _score(args: argparse.Namespace) -> int:
    from monitor.sentiment import Scorer

    config = load_config(args.config)
    if args.brand and config.brand(args.brand) is None:
        print(
            f"--brand: unknown brand {args.brand!r} (known: {', '.join(b.id for b in config.brands)})", file=sys.stderr
        )
        return 2
    scorer = Scorer.of(config)
    for line in sys.stdin:
        text, lang, extra, brand = line.rstrip("\n"), None, {}, args.brand
        if not text.strip():
            continue
        if text.lstrip().startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                text = "\n".join(str(obj[k]) for k in ("title", "text") if obj.get(k))
                lang = obj.get("lang")
                extra = {"id": obj["id"]} if "id" in obj else {}
                brand = obj.get("brand") or brand
        score = scorer.score(text, lang, brand)
        print(json.dumps({**extra, "text": text, "compound": score.compound, "label": score.label}))
    return 0


def _status(args: argparse.Namespace) -> int:
    from monitor.ops import fetch_health, status_text
    from monitor.store import Store

    if args.merge:
        from monitor.shard import merged_status, read_status

        try:
            print(merged_status([read_status(Path(p)) for p in args.merge], args.clock()))
        except FileNotFoundError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            return 2
        return 0
    config = load_config(args.config)
    store = Store.open(config.database)
    try:
        health = fetch_health(config)
        print(status_text(config, store, health, args.clock()))
    finally:
        store.close()
    return 0 if health is not None and health.get("status") == "ok" else 1


def _poll(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.ops import poll_command

    config, rules = load_all(args.config)
    code, lines = asyncio.run(
        poll_command(config, rules, args.source, args.brand, args.query, args.store, clock=args.clock)
    )
    print("\n".join(lines), file=sys.stdout if code == 0 else sys.stderr)
    return code


def _db(args: argparse.Namespace) -> int:
    from monitor.ops import backup, stats_text
    from monitor.store import Store

    config = load_config(args.config)
    if not config.database.exists():
        print(f"{config.database}: no database yet (the daemon creates it)", file=sys.stderr)
        return 1
    store = Store.open(config.database)
    try:
        if args.action == "backup":
            if not args.target:
                print("monitor db backup needs a target file", file=sys.stderr)
                return 2
            print(backup(store, Path(args.target)))
        else:
            print(stats_text(store))
    except FileExistsError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _silences(args: argparse.Namespace) -> int:
    from monitor.durations import parse_duration
    from monitor.ops import silences_text
    from monitor.rules.calendar import expected_text
    from monitor.store import Store

    config = load_config(args.config)
    now = args.clock()
    if args.action == "add" and args.expected:
        return _expected(args, config, now)
    store = Store.open(config.database)
    try:
        if args.action == "add":
            try:
                expires = now + parse_duration(args.duration).total_seconds()
            except ValueError as exc:
                print(f"--for: {exc}", file=sys.stderr)
                return 2
            known_rules = {r.name for r in load_all(args.config)[1]}
            for value, known, what in (
                (args.rule, known_rules, "rule"),
                (args.brand, {b.id for b in config.brands}, "brand"),
            ):
                if value != "*" and value not in known:
                    print(f"--{what}: unknown {what} {value!r} (known: {', '.join(sorted(known))})", file=sys.stderr)
                    return 2
            terms = [t.strip() for t in (args.terms or "").split(",") if t.strip()]
            silence_id = store.add_silence(args.rule, args.brand, terms, args.author, args.comment, now, expires)
            print(f"silence #{silence_id} added")
        elif args.action == "end":
            if not store.end_silence(args.id, now):
                print(f"no silence #{args.id} is in force", file=sys.stderr)
                return 1
            print(f"silence #{args.id} ended")
        elif args.action == "unexclude":
            if not store.remove_exclusion(args.id):
                print(f"no exclusion #{args.id} was added from Slack", file=sys.stderr)
                return 1
            print(f"exclusion #{args.id} removed (the running daemon applies this on reload)")
        else:
            print(silences_text(store.silences(), now, store.exclusions()))
            print(expected_text(config.rules_dir, [b.id for b in config.brands], now, config.zone))
    finally:
        store.close()
    return 0


def _expected(args: argparse.Namespace, config: Config, now: float) -> int:
    """`silences add --expected`: an announced surge, appended to the rules folder's expected.toml."""
    from datetime import datetime

    from monitor.durations import parse_duration
    from monitor.rules.calendar import add_expected

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
    print(f"expected surge added to {path} (rules with quiet_when_expected stay quiet for {args.brand} then;"
          " a running daemon reloads its rules when the file changes)")  # fmt: skip
    return 0


def _rules(args: argparse.Namespace) -> int:
    from monitor.durations import parse_duration
    from monitor.rulestats import collect, stats_json, stats_text
    from monitor.store import Store

    try:
        period = parse_duration(args.since).total_seconds()
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return EXIT_INVALID
    config, rules = load_all(args.config)
    start = args.clock() - period
    store = Store.open(config.database)
    try:
        stats = collect(store.rule_stats(start), (r.name for r in rules))
    finally:
        store.close()
    print(stats_json(stats, args.since, start) if args.format == "json" else stats_text(stats, args.since))
    return 0


def _version(args: argparse.Namespace) -> int:
    from monitor.ops import version_text

    print(version_text())
    return 0


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.demo.runner import run_demo

    return asyncio.run(run_demo(speed=args.speed, start=args.clock()))


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(prog="monitor", description="Watch platforms for brand mentions; alert on spikes.")
    top.add_argument("--version", action="version", version=f"monitor {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("--config", default="config.toml")
    run.add_argument("--shard", metavar="I/N", help="run instance I of N: only its brands, its own database")
    run.set_defaults(func=_run)

    check = commands.add_parser("check", help="validate config and rule files")
    check.add_argument("--config", default="config.toml")
    check.add_argument("--rules", help="rules folder (default: from config)")
    check.set_defaults(func=_check)

    backtest = commands.add_parser("backtest", help="replay mentions through the rules, print alert events")
    backtest.add_argument("--config", default="config.toml")
    backtest.add_argument("--input", help="replay JSONL file (default: the mentions in the database)")
    backtest.add_argument("--rules", help="rules folder, or one rule file to try alone (default: from config)")
    backtest.add_argument("--format", choices=("text", "jsonl"), default="text")
    backtest.add_argument("--brand", help="count every input mention for this brand id")
    backtest.add_argument("--since", help="replay mentions created at or after this time (ISO 8601 or epoch)")
    backtest.add_argument("--until", help="replay mentions created before this time")
    backtest.add_argument(
        "--trace", nargs="?", const="changes", choices=("changes", "all"),
        help="print evaluations and why they fired or not: those above the expected count and every change of"
        " state (--trace all: every evaluation)",
    )  # fmt: skip
    backtest.add_argument(
        "--sweep", metavar="FIELD=V1,V2", help="incidents a week for each value of a numeric detect field"
    )
    backtest.set_defaults(func=_backtest)

    score = commands.add_parser("score", help="score texts from stdin as the daemon does")
    score.add_argument("--config", default="config.toml")
    score.add_argument("--brand", help="apply this brand's lexicon overrides (replay objects may name their own)")
    score.set_defaults(func=_score)

    status = commands.add_parser("status", help="sources, open incidents and the outbox of the running daemon")
    status.add_argument("--config", default="config.toml")
    status.add_argument("--merge", nargs="+", metavar="DB", help="one status over these shard databases")
    status.set_defaults(func=_status)

    poll = commands.add_parser("poll", help="poll one source for one brand now and print what comes back")
    poll.add_argument("--config", default="config.toml")
    poll.add_argument("--source", required=True)
    poll.add_argument("--brand", required=True)
    poll.add_argument("--query", help="one query (default: each of the brand's queries)")
    poll.add_argument("--store", action="store_true", help="store what comes back, as the daemon would")
    poll.set_defaults(func=_poll)

    db = commands.add_parser("db", help="database stats and backups")
    db.add_argument("action", choices=("stats", "backup"))
    db.add_argument("target", nargs="?", help="backup: the file to write")
    db.add_argument("--config", default="config.toml")
    db.set_defaults(func=_db)

    silences = commands.add_parser("silences", help="list, add or end silences")
    silences.add_argument("--config", default="config.toml")
    silence_actions = silences.add_subparsers(dest="action")
    add = silence_actions.add_parser("add", help="mute a rule for a brand (or only mentions with some terms)")
    add.add_argument("--config", default="config.toml")
    add.add_argument("--rule", default="*", help='a rule name, or "*" (default)')
    add.add_argument("--brand", default="*", help='a brand id, or "*" (default)')
    add.add_argument("--terms", help="comma-separated: only mentions with one of these stop counting")
    add.add_argument("--for", dest="duration", required=True, help='how long, like "4h" or "2d"')
    add.add_argument("--author", default=os.environ.get("USER", ""), help="who (default: $USER)")
    add.add_argument("--comment", default="", help="why (with --expected: what is announced)")
    add.add_argument(
        "--expected", action="store_true",
        help="mark an announced surge (a launch) for --brand: rules with quiet_when_expected stay quiet during it"
        " (written to the rules folder's expected.toml)",
    )  # fmt: skip
    add.add_argument("--from", dest="start", help="with --expected: when it starts (ISO 8601; default now)")
    end = silence_actions.add_parser("end", help="end a silence now")
    end.add_argument("--config", default="config.toml")
    end.add_argument("id", type=int)
    unexclude = silence_actions.add_parser("unexclude", help="remove an exclusion added from Slack")
    unexclude.add_argument("--config", default="config.toml")
    unexclude.add_argument("id", type=int)
    silences.set_defaults(func=_silences)

    rules_command = commands.add_parser("rules", help="how each rule's incidents were received")
    rules_actions = rules_command.add_subparsers(dest="action", required=True)
    rule_stats = rules_actions.add_parser("stats", help="per rule: opened, acknowledged, noise, snoozed, time to ack")
    rule_stats.add_argument("--config", default="config.toml")
    rule_stats.add_argument("--since", default="30d", help='the period, like "30d" (default) or "12h"')
    rule_stats.add_argument("--format", choices=("text", "json"), default="text")
    rule_stats.set_defaults(func=_rules)

    version = commands.add_parser("version", help="versions of monitor and what it runs on")
    version.set_defaults(func=_version)

    demo = commands.add_parser("demo", help="the whole daemon offline, on bundled sample data")
    demo.add_argument("--speed", type=float, default=720.0, help="stream seconds per wall second")
    demo.set_defaults(func=_demo)
    return top


def main(argv: Sequence[str] | None = None, clock: Clock = system) -> int:
    """Entry point of the `monitor` console script; every command reads the time from `clock`."""
    args = parser().parse_args(argv)
    args.clock = clock
    from monitor.logs import setup_logging

    # The daemon narrates at INFO; one-shot commands print their own results and log only trouble.
    quiet = args.command not in ("run", "demo")
    setup_logging(logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO)
    try:
        return int(args.func(args))
    except InvalidFiles as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
