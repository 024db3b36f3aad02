"""Stored mentions: dedup on (brand, platform, id), copies linked to the first of their group, reads by
time for windows, backtests and history (copies left out unless asked for)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import chain
from typing import Any

import sqlite_utils

from monitor.mention import ScoredMention, joined_text
from monitor.store.copies import GROUP_WINDOW, NEWS_PLATFORMS, group_keys, same_story_by_title
from monitor.store.records import mention_row, scored
from monitor.store.schema import MENTION_COLUMNS

# Rows go in several to a statement: one statement a row (executemany) costs about a microsecond a row
# more in SQLite's statement setup and teardown. 25 rows are 500 parameters, within the 999 of the
# oldest SQLite builds; one statement per chunk size, so all stay in the connection's statement cache.
_ROWS_PER_INSERT = 25
# A post as an alert's baseline reads it: (rowid, created_at, label, text, title).
PostRow = tuple[int, float, str | None, str, str]
_POST_COLUMNS = "rowid, created_at, label, text, title"
_POSTS = "brand = ? AND copy_of IS NULL"

_INSERTS = [""] + [
    "INSERT OR IGNORE INTO mentions (brand, platform, id, text, title, author, author_followers, url, lang, likes,"
    " replies, reposts, created_at, fetched_at, compound, label, backfill, url_key, title_key, copy_of, scorer)"
    " VALUES " + ", ".join(["(" + ", ".join("?" * 21) + ")"] * n)
    for n in range(1, _ROWS_PER_INSERT + 1)
]


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

    def link_copies(self, mentions: Sequence[ScoredMention], window: float = GROUP_WINDOW) -> list[ScoredMention]:
        """The mentions, each copy (see monitor.engine.filters: same canonical URL, or same normalised title
        across platforms or in the news, as a mention of its brand stored or earlier in the batch, created
        within window of it) with copy_of set to that first one."""
        firsts: dict[tuple[str, str], list[tuple[str, float, str]]] = {}  # (brand, key) -> (ref, created, platform)
        links: dict[int, str] = {}
        for index in sorted(range(len(mentions)), key=lambda i: mentions[i].mention.created_at):
            scored_mention = mentions[index]
            if scored_mention.copy_of is not None:
                continue
            m, brand = scored_mention.mention, scored_mention.brand
            url_key, title_key = group_keys(m)
            if not url_key and not title_key:  # most posts: no link, no title
                continue
            ts = m.created_at.timestamp()
            keys = [k for k in (f"u {url_key}" if url_key else "", f"t {title_key}" if title_key else "") if k]
            original = next(
                (
                    ref
                    for k in keys
                    for ref, created, platform in firsts.get((brand, k), ())
                    if ts - created <= window and (k[0] == "u" or same_story_by_title(m.platform, platform))
                ),
                None,
            )
            if original is None and url_key:
                original = self._first_with("url_key", brand, url_key, ts, window)
            if original is None and title_key:
                platforms = None if m.platform in NEWS_PLATFORMS else m.platform
                original = self._first_with("title_key", brand, title_key, ts, window, platforms)
            if original is not None:
                links[index] = original
                continue
            for k in keys:
                firsts.setdefault((brand, k), []).append((f"{m.platform}:{m.id}", ts, m.platform))
        if not links:
            return list(mentions)
        return [replace(s, copy_of=links[i]) if i in links else s for i, s in enumerate(mentions)]

    def _first_with(
        self, column: str, brand: str, key: str, ts: float, window: float, not_only_on: str | None = None
    ) -> str | None:
        """The "platform:id" of the earliest original of brand with this key near ts (on a platform other
        than not_only_on, unless that one is news)."""
        sql = (
            f"SELECT platform, id FROM mentions INDEXED BY idx_mentions_brand_{column}"
            f" WHERE brand = ? AND {column} = ? AND created_at >= ? AND created_at <= ? AND copy_of IS NULL"
        )
        params: list[Any] = [brand, key, ts - window, ts + window]
        if not_only_on is not None:
            sql += f" AND (platform != ? OR platform IN ({','.join('?' * len(NEWS_PLATFORMS))}))"
            params += [not_only_on, *sorted(NEWS_PLATFORMS)]
        row = self.db.execute(sql + " ORDER BY created_at, rowid LIMIT 1", params).fetchone()
        return None if row is None else f"{row[0]}:{row[1]}"

    def copies_of(self, brand: str, platform: str, mention_id: str) -> list[ScoredMention]:
        """The stored copies of a mention, oldest first."""
        rows = self.db.execute(
            f"SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = ? AND copy_of = ? ORDER BY created_at, rowid",
            [brand, f"{platform}:{mention_id}"],
        )
        return [scored(row) for row in rows]

    def add_mentions(self, mentions: Iterable[ScoredMention], fetched_at: float) -> int:
        """Insert mentions, ignoring ones already stored; returns how many rows were inserted."""
        rows = [mention_row(m, fetched_at) for m in mentions]
        if not rows:
            return 0
        with self.db.atomic():
            before = self.db.conn.total_changes
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[start : start + _ROWS_PER_INSERT]
                self.db.conn.execute(_INSERTS[len(chunk)], list(chain.from_iterable(chunk)))
            return self.db.conn.total_changes - before

    def mentions_between(
        self, start: float, end: float, brand: str | None = None, copies: bool = False, label: str | None = None
    ) -> list[ScoredMention]:
        """Mentions created in [start, end), oldest first, for one brand or all (copies only if asked), with
        one label only if asked."""
        return [scored(row) for row in self._between(MENTION_COLUMNS, start, end, brand, copies, label)]

    def texts_between(self, brand: str, start: float, end: float, label: str | None = None) -> list[tuple[int, str]]:
        """(rowid, full text) of each of mentions_between(start, end, brand, label=label), in its order."""
        rows = self._between("rowid, title, text", start, end, brand, False, label)
        return [(rowid, joined_text(title or "", text or "")) for rowid, title, text in rows]

    def _between(
        self, columns: str, start: float, end: float, brand: str | None, copies: bool, label: str | None
    ) -> Iterator[tuple[Any, ...]]:
        """The columns of the mentions mentions_between reads, in its order."""
        sql = f"SELECT {columns} FROM mentions WHERE created_at >= ? AND created_at < ?"
        if not copies:
            sql += " AND copy_of IS NULL"
        params: list[Any] = [start, end]
        if brand is not None:
            sql += " AND brand = ?"
            params.append(brand)
        if label is not None:
            sql += " AND label = ?"
            params.append(label)
        return iter(self.db.execute(sql + " ORDER BY created_at, rowid", params))

    def mentions_by_rowid(self, rowids: Sequence[int]) -> list[ScoredMention]:
        """The stored mentions with these rowids (those still stored), in the order given."""
        found: dict[int, ScoredMention] = {}
        for start in range(0, len(rowids), 500):
            chunk = rowids[start : start + 500]
            sql = f"SELECT rowid, {MENTION_COLUMNS} FROM mentions WHERE rowid IN ({','.join('?' * len(chunk))})"
            for row in self.db.execute(sql, chunk):
                found[row[0]] = scored(row[1:])
        return [found[rowid] for rowid in rowids if rowid in found]

    def tally(self, brand: str, start: float, end: float) -> tuple[int, int]:
        """How many of the brand's mentions created in [start, end) an alert's figures count (copies and
        backfill left out), and how many of those are labelled negative."""
        row = self.db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(label = 'negative'), 0) FROM mentions WHERE {_POSTS}"
            " AND created_at >= ? AND created_at < ? AND COALESCE(backfill, 0) = 0",
            [brand, start, end],
        ).fetchone()
        return int(row[0]), int(row[1])

    def count_posts(self, brand: str, start: float, end: float, cap: int) -> int:
        """How many of the brand's mentions were created in [start, end), copies left out, counting to cap."""
        return int(
            self.db.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM mentions WHERE {_POSTS} AND created_at >= ? AND created_at < ?"
                " LIMIT ?)",
                [brand, start, end, cap],
            ).fetchone()[0]
        )

    def posts_between(self, brand: str, start: float, end: float) -> list[PostRow]:
        """The brand's mentions created in [start, end), copies left out, as PostRows in no set order."""
        return self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM mentions WHERE {_POSTS} AND created_at >= ? AND created_at < ?",
            [brand, start, end],
        ).fetchall()

    def posts_after(self, brand: str, after: int, until: int, created: tuple[float, float]) -> list[PostRow]:
        """The brand's mentions stored with rowid in (after, until] and created in [created[0], created[1]),
        copies left out, as PostRows."""
        return self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM mentions WHERE rowid > ? AND rowid <= ? AND {_POSTS}"
            " AND created_at >= ? AND created_at < ?",
            [after, until, brand, *created],
        ).fetchall()

    def first_posts(self, brand: str, start: float, end: float, width: int, slots: tuple[int, int]) -> list[PostRow]:
        """In each slot k (first to last of slots) of a grid of width seconds, the first (by created_at, then
        rowid) of the brand's mentions created in [k * width, (k + 1) * width) within [start, end), copies
        left out: one index seek a slot."""
        return self.db.execute(
            "WITH RECURSIVE slot(k) AS (SELECT ? UNION ALL SELECT k + 1 FROM slot WHERE k < ?)"
            f" SELECT {_POST_COLUMNS} FROM mentions WHERE rowid IN (SELECT (SELECT rowid FROM mentions"
            f" INDEXED BY idx_mentions_brand_created_at WHERE {_POSTS} AND created_at >= MAX(?, k * ?)"
            " AND created_at < MIN(?, (k + 1) * ?) ORDER BY created_at, rowid LIMIT 1) FROM slot)",
            [slots[0], slots[1], brand, start, width, end, width],
        ).fetchall()

    def span_of_mentions(self, since: float, until: float) -> tuple[int, float, float, list[str]]:
        """(count, first and last created_at, brands) of the mentions created in [since, until), copies left out."""
        bounds = [max(since, -1e18), min(until, 1e18)]
        where = "created_at >= ? AND created_at < ? AND copy_of IS NULL"
        count, first, last = self.db.execute(
            f"SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM mentions WHERE {where}", bounds
        ).fetchone()
        brands = [str(row[0]) for row in self.db.execute(f"SELECT DISTINCT brand FROM mentions WHERE {where}", bounds)]
        return int(count), float(first or 0.0), float(last or 0.0), brands

    def iter_mentions(
        self, since: float | None = None, batch: int = 5000, copies: bool = False
    ) -> Iterator[ScoredMention]:
        """All mentions (created at or after since), oldest first, read in batches (copies only if asked)."""
        last = (float("-inf") if since is None else since, -1)
        only = "" if copies else " AND copy_of IS NULL"
        while True:
            rows = self.db.execute(
                f"SELECT {MENTION_COLUMNS}, rowid FROM mentions"
                f" WHERE (created_at, rowid) > (?, ?){only} ORDER BY created_at, rowid LIMIT ?",
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
            " FROM mentions WHERE brand = ? AND created_at >= ? AND created_at < ? AND copy_of IS NULL"
            " GROUP BY platform",
            [brand, start, end],
        ).fetchall()
        return {r[0]: {"count": r[1], "scored": r[2], "negative": r[3] or 0, "compound_sum": r[4]} for r in rows}

    def volume(self, brand: str, start: float, width: float, buckets: int) -> tuple[list[int], list[int]]:
        """Mentions and negative mentions per bucket of `width` seconds from start (copies not counted)."""
        volume, negative = [0] * buckets, [0] * buckets
        rows = self.db.execute(
            "SELECT CAST((created_at - ?) / ? AS INTEGER) AS bucket, COUNT(*), SUM(label = 'negative')"
            " FROM mentions WHERE brand = ? AND created_at >= ? AND created_at < ? AND copy_of IS NULL"
            " GROUP BY bucket",
            [start, width, brand, start, start + width * buckets],
        ).fetchall()
        for bucket, count, negatives in rows:
            if 0 <= bucket < buckets:
                volume[bucket], negative[bucket] = int(count), int(negatives or 0)
        return volume, negative

    def most_engaged(self, brand: str, start: float, end: float, limit: int = 200) -> list[ScoredMention]:
        """The mentions with the most engagement in [start, end), most first."""
        rows = self.db.execute(
            f"SELECT {MENTION_COLUMNS} FROM mentions WHERE brand = ? AND created_at >= ? AND created_at < ?"
            " AND copy_of IS NULL ORDER BY likes + replies + 2 * reposts DESC, compound LIMIT ?",
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
