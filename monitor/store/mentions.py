"""Stored mentions: dedup on (brand, platform, id), reads by time for windows, backtests and history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import sqlite_utils

from monitor.mention import ScoredMention
from monitor.store.records import mention_row, scored
from monitor.store.schema import MENTION_COLUMNS


class MentionsTable:
    """The mentions part of the Store."""

    db: sqlite_utils.Database

    def known_ids(self, brand: str, platform: str, ids: Iterable[str]) -> set[str]:
        """Which of these mention ids are already stored for brand and platform."""
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT id FROM mentions WHERE brand = ? AND platform = ? AND id IN ({marks})",
                [brand, platform, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def add_mentions(self, mentions: Iterable[ScoredMention], fetched_at: float) -> int:
        """Insert mentions, ignoring ones already stored; returns how many rows were inserted."""
        rows = [mention_row(m, fetched_at) for m in mentions]
        if not rows:
            return 0
        with self.db.atomic():
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO mentions (brand, platform, id, text, title, author, author_followers,"
                " url, lang, likes, replies, reposts, created_at, fetched_at, compound, label, backfill)"
                " VALUES (:brand, :platform, :id, :text, :title, :author, :author_followers, :url, :lang,"
                " :likes, :replies, :reposts, :created_at, :fetched_at, :compound, :label, :backfill)",
                rows,
            )
            return self.db.conn.total_changes - before

    def mentions_between(self, start: float, end: float, brand: str | None = None) -> list[ScoredMention]:
        """Mentions created in [start, end), oldest first, for one brand or all."""
        sql = f"SELECT {MENTION_COLUMNS} FROM mentions WHERE created_at >= ? AND created_at < ?"
        params: list[Any] = [start, end]
        if brand is not None:
            sql += " AND brand = ?"
            params.append(brand)
        return [scored(row) for row in self.db.execute(sql + " ORDER BY created_at, rowid", params)]

    def iter_mentions(self, since: float | None = None, batch: int = 5000) -> Iterator[ScoredMention]:
        """All mentions (created at or after since), oldest first, read in batches."""
        last = (float("-inf") if since is None else since, -1)
        while True:
            rows = self.db.execute(
                f"SELECT {MENTION_COLUMNS}, rowid FROM mentions"
                " WHERE (created_at, rowid) > (?, ?) ORDER BY created_at, rowid LIMIT ?",
                [last[0], last[1], batch],
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield scored(row[:-1])
            last = (rows[-1][12], rows[-1][-1])

    def first_mention_at(self, brand: str) -> float | None:
        """When the oldest stored mention of a brand was created."""
        row = self.db.execute("SELECT MIN(created_at) FROM mentions WHERE brand = ?", [brand]).fetchone()
        return None if row[0] is None else float(row[0])

    def count_mentions(self) -> int:
        """How many mentions are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])

    def period_summary(self, brand: str, start: float, end: float) -> dict[str, dict[str, float]]:
        """Per platform: mentions, scored mentions, negatives and summed compound, created in [start, end)."""
        rows = self.db.execute(
            "SELECT platform, COUNT(*), COUNT(compound), SUM(label = 'negative'), COALESCE(SUM(compound), 0)"
            " FROM mentions WHERE brand = ? AND created_at >= ? AND created_at < ? GROUP BY platform",
            [brand, start, end],
        ).fetchall()
        return {r[0]: {"count": r[1], "scored": r[2], "negative": r[3] or 0, "compound_sum": r[4]} for r in rows}

    def most_engaged(self, brand: str, start: float, end: float, limit: int = 200) -> list[ScoredMention]:
        """The mentions with the most engagement in [start, end), most first."""
        rows = self.db.execute(
            f"SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = ? AND created_at >= ? AND created_at < ?"
            " ORDER BY likes + replies + 2 * reposts DESC, compound LIMIT ?",
            [brand, start, end, limit],
        )
        return [scored(row) for row in rows]

    def mark_watched(self, brand: str, hours: Iterable[int]) -> None:
        """Record hours (epoch hours) in which the brand was polled successfully."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO watched (brand, hour) VALUES (?, ?)", [(brand, h) for h in hours]
            )

    def watched_hours(self, since_hour: int) -> dict[str, set[int]]:
        """Per brand, the watched hours from since_hour on."""
        found: dict[str, set[int]] = {}
        for brand, hour in self.db.execute("SELECT brand, hour FROM watched WHERE hour >= ?", [since_hour]):
            found.setdefault(brand, set()).add(int(hour))
        return found
