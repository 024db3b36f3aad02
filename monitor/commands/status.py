"""`monitor status`: the running daemon's sources, open incidents and outbox; or one status over shards."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.commands.formats import ago, when
from monitor.commands.sharding import cut
from monitor.config import Config
from monitor.engine.rescoring import history_check
from monitor.loading import load_all
from monitor.sentiment import Scorer
from monitor.service.shard import merged_status, read_status
from monitor.store import Store


def fetch_health(config: Config, timeout: float = 3.0) -> dict[str, Any] | None:
    """The running daemon's /healthz answer, or None when nothing answers."""
    host = "127.0.0.1" if config.health.host in ("0.0.0.0", "::", "") else config.health.host
    url = f"http://{host}:{config.health.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:  # 503 still carries the report
        return dict(json.load(exc))
    except (OSError, ValueError):
        return None


def _sources(health: dict[str, Any], now: float) -> list[str]:
    status = health.get("status")
    if status == "starting":
        waiting = [n for n, info in health.get("sources", {}).items() if not info.get("last_success")]
        lines = [
            f"daemon: starting: {len(waiting)} source(s) not polled successfully yet ({', '.join(waiting)});"
            f" start-up grace until {when(health.get('starting_until'))}"
        ]
    else:
        lines = [f"daemon: {status}"]
    lines += [f"  ! {reason}" for reason in health.get("reasons", [])]
    lines.append("sources:")
    for name, info in health.get("sources", {}).items():
        state = "paused" if info.get("paused") else "failing" if info.get("failing_since") else "ok"
        error = f"  last error: {info['last_error']}" if info.get("last_error") else ""
        lines.append(f"  {name:<12} {state:<8} last success {ago(info.get('last_success'), now)}{error}")
    return lines


def status_text(
    config: Config, store: Store, health: dict[str, Any] | None, now: float, scores: Sequence[str] = ()
) -> str:
    """What `monitor status` prints: sources, open incidents, the outbox, and history scored by another
    scorer (`scores`, from engine.rescoring.history_check)."""
    if health is None:
        lines = [f"daemon: not answering on {config.health.host}:{config.health.port} (not running?)"]
    else:
        lines = _sources(health, now)
    incidents = store.incidents("open")
    lines.append(f"open incidents: {len(incidents)}")
    for incident in incidents:
        lines.append(f"  {incident.id}  since {when(incident.opened_at)}  peak {incident.peak_count}")
    oldest = store.outbox_oldest()
    waiting = store.outbox_size()
    lines.append(f"outbox: {waiting} alert(s) waiting" + (f", oldest {ago(oldest, now)}" if waiting else ""))
    dead = store.count_dead_letters()
    if dead:
        lines.append(f"dead letters: {dead} alert(s) Slack refused for good (not retried; newest first):")
        for item_id, incident_id, kind, failed_at, error in store.dead_letters(limit=5):
            lines.append(f"  #{item_id} {kind} {incident_id}  {ago(failed_at, now)}: {error}")
    lines += [f"scores: {line}" for line in scores]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the daemon answers ok or starting, 1 when it is degraded or does not answer; --merge: 0,
    or 2 for a missing database."""
    if args.merge:
        try:
            print(merged_status([read_status(Path(p)) for p in args.merge], args.clock()))
        except FileNotFoundError as exc:
            print(f"monitor: {exc}", file=sys.stderr)
            return 2
        return 0
    config, rules = load_all(args.config)
    config = cut(config, args.shard)
    store, scorer = Store.open(config.database), Scorer.of(config)
    try:
        health = fetch_health(config)
        horizon = max((r.horizon.total_seconds() for r in rules), default=0.0)
        scores = history_check(store, scorer, [b.id for b in config.brands], horizon, args.clock())
        print(status_text(config, store, health, args.clock(), scores))
    finally:
        store.close()
    return 0 if health is not None and health.get("status") in ("ok", "starting") else 1
