"""`monitor db stats` and `monitor db backup FILE`: what the database holds, and a consistent copy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.commands.formats import when
from monitor.commands.sharding import cut
from monitor.loading import load_config
from monitor.store import Store


def stats_text(store: Store) -> str:
    """What `monitor db stats` prints."""
    stats = store.stats()
    size = sum(stats["bytes"].values())
    wal = f", of which WAL {stats['bytes']['-wal'] / 1e6:.1f} MB" if "-wal" in stats["bytes"] else ""
    lines = [
        f"database: {stats['path']} ({size / 1e6:.1f} MB{wal}), schema {stats['schema_version']},"
        f" {stats['free_pages']} free page(s)",
        "rows: " + ", ".join(f"{table} {count}" for table, count in stats["rows"].items()),
        f"{'brand':<16}{'platform':<14}{'mentions':>10}  {'oldest':<21}{'newest':<21}",
    ]
    for row in stats["mentions"]:
        lines.append(
            f"{row['brand']:<16}{row['platform']:<14}{row['count']:>10}  "
            f"{when(row['oldest']):<21}{when(row['newest']):<21}"
        )
    return "\n".join(lines)


def backup(store: Store, target: Path) -> str:
    """Copy the live database to target; returns a one-line report."""
    if target.exists():
        raise FileExistsError(f"{target} exists: give a new file name")
    store.backup(target)
    return f"backed up to {target} ({target.stat().st_size / 1e6:.1f} MB)"


def run(args: argparse.Namespace) -> int:
    """Exit 1 without a database or onto an existing file, 2 without a backup target."""
    config = cut(load_config(args.config), args.shard)
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
