"""Keeping the database healthy for months: retention, incremental vacuum, checkpoints, stats, backups."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

PRUNE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a retention run removed."""

    mentions: int
    incidents: int
    pages_freed: int


class Maintenance:
    """The maintenance part of the Store."""

    db: sqlite_utils.Database
    _rewrites: int

    def prune(self, before: float) -> Pruned:
        """Delete mentions created before `before` and incidents resolved before it, in small batches
        (so the daemon's writes are never held up long), then give the freed pages back to the disk."""
        mentions = 0
        self._rewrites += 1
        while True:
            with self.db.atomic():
                cursor = self.db.execute(
                    "DELETE FROM mentions WHERE rowid IN (SELECT rowid FROM mentions WHERE created_at < ? LIMIT ?)",
                    [before, PRUNE_BATCH],
                )
            mentions += cursor.rowcount
            if cursor.rowcount < PRUNE_BATCH:
                break
        with self.db.atomic():
            self.db.execute("DELETE FROM watched WHERE hour < ?", [int(before // 3600)])
            incidents = self.db.execute(
                "DELETE FROM incidents WHERE status = 'resolved' AND resolved_at < ?"
                " AND id NOT IN (SELECT incident FROM outbox)",
                [before],
            ).rowcount
            self.db.execute("DELETE FROM actions WHERE incident NOT IN (SELECT id FROM incidents)")
        free_before = self._pragma("freelist_count")
        # executescript steps the pragma to completion; execute() would free a single page.
        self.db.conn.executescript("PRAGMA incremental_vacuum;")
        self.checkpoint()
        return Pruned(mentions, incidents, max(0, free_before - self._pragma("freelist_count")))

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file and truncate it."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _pragma(self, name: str) -> int:
        return int(self.db.execute(f"PRAGMA {name}").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """Rows per table, file sizes, and mentions per brand and platform with their time span."""
        path = self.db.execute("PRAGMA database_list").fetchone()[2]
        files = {
            suffix or "db": Path(path + suffix).stat().st_size
            for suffix in ("", "-wal")
            if path and Path(path + suffix).exists()
        }
        per = self.db.execute(
            "SELECT brand, platform, COUNT(*), MIN(created_at), MAX(created_at) FROM mentions"
            " GROUP BY brand, platform ORDER BY brand, platform"
        ).fetchall()
        return {
            "path": path or ":memory:",
            "bytes": files,
            "rows": {
                t: int(self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
                for t in ("mentions", "cursors", "incidents", "outbox")
            },
            "schema_version": self._pragma("user_version"),
            "free_pages": self._pragma("freelist_count"),
            "mentions": [
                {"brand": b, "platform": p, "count": n, "oldest": lo, "newest": hi} for b, p, n, lo, hi in per
            ],
        }

    def backup(self, target: Path) -> None:
        """A consistent copy of the live database (SQLite's online backup), safe while the daemon writes."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(target)) as copy:
            self.db.conn.backup(copy)
        copy.close()
