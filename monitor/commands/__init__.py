"""The command line: one module per command, each with `run(args) -> exit code`.

This module builds the parser (a parent parser carries the options every command shares) and imports
only the command it runs, so `monitor --help` and `monitor check` start without the daemon's imports.
Commands may import every layer; nothing imports them but `monitor.__main__`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from monitor import __version__
from monitor.clock import Clock, system
from monitor.errors import InvalidFiles, Refused, StoreError
from monitor.service.logs import setup_logging

EXIT_INVALID = 2
# The daemon narrates at INFO; one-shot commands print their own results and log only trouble.
NARRATED = ("run", "demo")


def _config_option() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--config", default="config.toml", help="the config file (default: config.toml)")
    return shared


Command = Callable[..., argparse.ArgumentParser]


def parser() -> argparse.ArgumentParser:
    """The argument parser; each command's `module` default names the module that runs it."""
    top = argparse.ArgumentParser(prog="monitor", description="Watch platforms for brand mentions; alert on spikes.")
    top.add_argument("--version", action="version", version=f"monitor {__version__}")
    top.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")
    commands = top.add_subparsers(dest="command", required=True)
    config = _config_option()

    def command(name: str, help: str, shared: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, parents=[config] if shared else [])
        sub.set_defaults(module=name)
        return sub

    _daemon_commands(command)
    _rule_editor_commands(command)
    _operator_commands(command, config)
    command("version", "versions of monitor and what it runs on", shared=False)
    demo = command("demo", "the whole daemon offline, on bundled sample data", shared=False)
    demo.add_argument("--speed", type=float, default=720.0, help="stream seconds per wall second")
    return top


def _daemon_commands(command: Command) -> None:
    run = command("run", "run the daemon")
    run.add_argument("--shard", metavar="I/N", help="run instance I of N: only its brands, its own database")
    check = command("check", "validate config and rule files")
    check.add_argument("--rules", help="rules folder (default: from config)")


def _rule_editor_commands(command: Command) -> None:
    backtest = command("backtest", "replay mentions through the rules, print alert events")
    backtest.add_argument("--input", help="replay JSONL file (default: the mentions in the database)")
    backtest.add_argument("--rules", help="rules folder, or one rule file to try alone (default: from config)")
    backtest.add_argument("--format", choices=("text", "jsonl"), default="text")
    backtest.add_argument("--brand", help="count every input mention for this brand id")
    backtest.add_argument("--since", help="replay mentions created at or after this time (ISO 8601 or epoch)")
    backtest.add_argument("--until", help="replay mentions created before this time")
    backtest.add_argument(
        "--trace",
        nargs="?",
        const="changes",
        choices=("changes", "all"),
        help="print evaluations and why they fired or not: those above the expected count and every change of"
        " state (--trace all: every evaluation)",
    )
    backtest.add_argument(
        "--sweep", metavar="FIELD=V1,V2", help="incidents a week for each value of a numeric detect field"
    )
    score = command("score", "score texts from stdin as the daemon does")
    score.add_argument("--brand", help="apply this brand's lexicon overrides (replay objects may name their own)")
    score.add_argument("--explain", action="store_true", help="also the weightiest words and the confidence")
    rescore = command("rescore", "score stored mentions again with the current scorer (the daemon may run)")
    rescore.add_argument("--since", default="30d", help='how far back, like "30d" (default) or "14d"')
    rescore.add_argument("--brand", help="only this brand's mentions")
    rescore.add_argument("--shard", metavar="I/N", help="on a sharded install: shard I of N")


def _operator_commands(command: Command, config: argparse.ArgumentParser) -> None:
    from monitor.commands.sharding import add_option

    status = command("status", "sources, open incidents and the outbox of the running daemon")
    status.add_argument("--merge", nargs="+", metavar="DB", help="one status over these shard databases")
    add_option(status)
    poll = command("poll", "poll one source for one brand now and print what comes back")
    poll.add_argument("--source", required=True)
    poll.add_argument("--brand", required=True)
    poll.add_argument("--query", help="one query (default: each of the brand's queries)")
    poll.add_argument("--store", action="store_true", help="store what comes back, as the daemon would")
    db = command("db", "database stats and backups")
    db.add_argument("action", choices=("stats", "backup"))
    db.add_argument("target", nargs="?", help="backup: the file to write")
    add_option(db)
    _silences(command("silences", "list, add or end silences"), config)
    rules = command("rules", "how each rule's incidents were received", shared=False)
    actions = rules.add_subparsers(dest="action", required=True)
    stats = actions.add_parser(
        "stats", help="per rule: opened, acknowledged, noise, snoozed, time to ack", parents=[config]
    )
    stats.add_argument("--since", default="30d", help='the period, like "30d" (default) or "12h"')
    stats.add_argument("--format", choices=("text", "json"), default="text")
    add_option(stats)


def _silences(silences: argparse.ArgumentParser, config: argparse.ArgumentParser) -> None:
    from monitor.commands.sharding import add_option

    # --shard before or after the action: `monitor silences --shard 1/2` lists, `... add --shard 1/2` adds.
    add_option(silences)
    shard = argparse.ArgumentParser(add_help=False)
    shard.add_argument("--shard", metavar="I/N", default=argparse.SUPPRESS, help="shard I of N")
    config = argparse.ArgumentParser(add_help=False, parents=[config, shard])
    actions = silences.add_subparsers(dest="action")
    add = actions.add_parser("add", help="mute a rule for a brand (or only mentions with some terms)", parents=[config])
    add.add_argument("--rule", default="*", help='a rule name, or "*" (default)')
    add.add_argument("--brand", default="*", help='a brand id, or "*" (default)')
    add.add_argument("--terms", help="comma-separated: only mentions with one of these stop counting")
    add.add_argument("--for", dest="duration", required=True, help='how long, like "4h" or "2d"')
    add.add_argument("--author", default=os.environ.get("USER", ""), help="who (default: $USER)")
    add.add_argument("--comment", default="", help="why (with --expected: what is announced)")
    add.add_argument(
        "--expected",
        action="store_true",
        help="mark an announced surge (a launch) for --brand: rules with quiet_when_expected stay quiet during it"
        " (written to the rules folder's expected.toml)",
    )
    add.add_argument("--from", dest="start", help="with --expected: when it starts (ISO 8601; default now)")
    end = actions.add_parser("end", help="end a silence now", parents=[config])
    end.add_argument("id", type=int)
    unexclude = actions.add_parser("unexclude", help="remove an exclusion added from Slack", parents=[config])
    unexclude.add_argument("id", type=int)


def main(argv: Sequence[str] | None = None, clock: Clock = system) -> int:
    """Entry point of the `monitor` console script; every command reads the time from `clock`."""
    args = parser().parse_args(argv)
    args.clock = clock

    quiet = args.command not in NARRATED
    setup_logging(logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO)
    try:
        return int(importlib.import_module(f"monitor.commands.{args.module}").run(args))
    except InvalidFiles as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    except (StoreError, Refused) as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
