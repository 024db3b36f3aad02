"""The database (sqlite-utils, WAL): schema and migrations, mentions, cursors, incidents, outbox.

All SQL lives here; other modules call named methods.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.mention import Mention, ScoredMention

MENTION_COLUMNS = (
    "brand, platform, id, text, title, author, author_followers, url, lang, likes, replies, reposts,"
    " created_at, compound, label, backfill"
)


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("mentions").create(
        {
            "rowid": int,
            "brand": str,
            "platform": str,
            "id": str,
            "text": str,
            "title": str,
            "author": str,
            "author_followers": int,
            "url": str,
            "lang": str,
            "likes": int,
            "replies": int,
            "reposts": int,
            "created_at": float,
            "fetched_at": float,
            "compound": float,
            "label": str,
            "backfill": int,
        },
        pk="rowid",
        not_null={"brand", "platform", "id", "created_at"},
    )
    db.table("mentions").create_index(["brand", "platform", "id"], unique=True)
    db.table("mentions").create_index(["brand", "created_at"])
    db.table("mentions").create_index(["created_at"])
    db.table("cursors").create(
        {"source": str, "brand": str, "query": str, "state": str, "updated_at": float},
        pk=("source", "brand", "query"),
    )
    db.table("incidents").create(
        {
            "id": str,
            "rule": str,
            "brand": str,
            "status": str,
            "opened_at": float,
            "updated_at": float,
            "resolved_at": float,
            "below_since": float,
            "cooldown_until": float,
            "last_posted_count": int,
            "peak_count": int,
            "thread_ts": str,
            "figures": str,
        },
        pk="id",
        not_null={"rule", "brand", "status", "opened_at"},
    )
    db.table("incidents").create_index(["rule", "brand", "opened_at"])
    db.table("outbox").create(
        {
            "id": int,
            "incident": str,
            "event": str,
            "payload": str,
            "created_at": float,
            "attempts": int,
            "next_attempt_at": float,
            "last_error": str,
        },
        pk="id",
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1]


def epoch(moment: datetime) -> float:
    """Seconds since the epoch for an aware datetime."""
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    """Aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(slots=True)
class IncidentRow:
    """An incident as stored: the state the rule tick needs to carry across restarts."""

    id: str
    rule: str
    brand: str
    status: str  # "open" | "resolved"
    opened_at: float
    updated_at: float
    resolved_at: float | None = None
    below_since: float | None = None
    cooldown_until: float | None = None
    last_posted_count: int = 0
    peak_count: int = 0
    thread_ts: str | None = None
    figures: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An alert event waiting for delivery."""

    id: int
    incident: str
    event: dict[str, Any]
    attempts: int
    created_at: float


class Store:
    """The one owner of the SQLite database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path | str) -> Store:
        """Open (creating and migrating as needed) the database at path, or ":memory:"."""
        if str(path) == ":memory:":
            db = sqlite_utils.Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=10, check_same_thread=False))
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA busy_timeout = 10000")
        store = cls(db)
        store.migrate()
        return store

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def migrate(self) -> None:
        """Apply migrations newer than PRAGMA user_version, each in its own transaction."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.db.atomic():
                migration(self.db)
                self.db.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        """The applied migration number."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic transaction (nested calls become savepoints)."""
        with self.db.atomic():
            yield

    # mentions

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
        rows = [_mention_row(m, fetched_at) for m in mentions]
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
        return [_scored(row) for row in self.db.execute(sql + " ORDER BY created_at, rowid", params)]

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
                yield _scored(row[:-1])
            last = (rows[-1][12], rows[-1][-1])

    def first_mention_at(self, brand: str) -> float | None:
        """When the oldest stored mention of a brand was created."""
        row = self.db.execute("SELECT MIN(created_at) FROM mentions WHERE brand = ?", [brand]).fetchone()
        return None if row[0] is None else float(row[0])

    def count_mentions(self) -> int:
        """How many mentions are stored."""
        return int(self.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])

    # cursors

    def cursor(self, source: str, brand: str, query: str) -> str | None:
        """The stored poll cursor for (source, brand, query), or None before the first poll."""
        row = self.db.execute(
            "SELECT state FROM cursors WHERE source = ? AND brand = ? AND query = ?", [source, brand, query]
        ).fetchone()
        return None if row is None else str(row[0])

    def set_cursor(self, source: str, brand: str, query: str, state: str, now: float) -> None:
        """Store a poll cursor (call inside the transaction that stores the mentions it covers)."""
        self.db.execute(
            "INSERT INTO cursors (source, brand, query, state, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (source, brand, query) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            [source, brand, query, state, now],
        )

    # incidents

    def incidents(self, status: str | None = None) -> list[IncidentRow]:
        """Incidents, newest first, optionally only those with a status."""
        sql = "SELECT * FROM incidents"
        params: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [_incident(row) for row in self.db.query(sql + " ORDER BY opened_at DESC", params)]

    def latest_incidents(self) -> dict[tuple[str, str], IncidentRow]:
        """The newest incident of each (rule, brand)."""
        rows = self.db.query(
            "SELECT * FROM incidents i WHERE opened_at = (SELECT MAX(opened_at) FROM incidents j"
            " WHERE j.rule = i.rule AND j.brand = i.brand)"
        )
        return {(r["rule"], r["brand"]): _incident(r) for r in rows}

    def save_incident(self, incident: IncidentRow) -> None:
        """Insert or update an incident (call inside the transaction that enqueues its alert)."""
        row = {k: getattr(incident, k) for k in IncidentRow.__slots__}
        row["figures"] = json.dumps(incident.figures) if incident.figures is not None else None
        self.db.table("incidents").upsert(row, pk="id")

    def set_thread(self, incident_id: str, thread_ts: str) -> None:
        """Remember the Slack thread of an incident (the ts of its opening message)."""
        self.db.execute("UPDATE incidents SET thread_ts = ? WHERE id = ?", [thread_ts, incident_id])

    def thread_of(self, incident_id: str) -> str | None:
        """The Slack thread ts of an incident, once its opening alert was delivered."""
        row = self.db.execute("SELECT thread_ts FROM incidents WHERE id = ?", [incident_id]).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    # outbox

    def enqueue(self, incident_id: str, event: dict[str, Any], now: float) -> int:
        """Add an alert event to the outbox; returns its id."""
        cursor = self.db.execute(
            "INSERT INTO outbox (incident, event, payload, created_at, attempts, next_attempt_at)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            [incident_id, event["event"], json.dumps(event), now, now],
        )
        return int(cursor.lastrowid or 0)

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        """Outbox items in the order they were written."""
        rows = self.db.execute(
            "SELECT id, incident, payload, attempts, created_at, next_attempt_at FROM outbox ORDER BY id LIMIT ?",
            [limit],
        ).fetchall()
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def next_attempt_at(self) -> float | None:
        """When the oldest outbox item may next be tried (None when the outbox is empty)."""
        row = self.db.execute("SELECT next_attempt_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def delivered(self, item_id: int) -> None:
        """Remove an item Slack accepted."""
        self.db.execute("DELETE FROM outbox WHERE id = ?", [item_id])

    def delivery_failed(self, item_id: int, error: str, next_attempt_at: float) -> None:
        """Record a failed attempt and when to try again."""
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
            [error, next_attempt_at, item_id],
        )

    def outbox_oldest(self) -> float | None:
        """When the oldest waiting alert event was written (None: the outbox is empty)."""
        row = self.db.execute("SELECT MIN(created_at) FROM outbox").fetchone()
        return None if row[0] is None else float(row[0])

    def count_open_incidents(self) -> int:
        """How many incidents are open."""
        return int(self.db.execute("SELECT COUNT(*) FROM incidents WHERE status = 'open'").fetchone()[0])

    def outbox_size(self) -> int:
        """How many alert events wait for delivery."""
        return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


def _mention_row(scored: ScoredMention, fetched_at: float) -> dict[str, Any]:
    m = scored.mention
    return {
        "brand": scored.brand,
        "platform": m.platform,
        "id": m.id,
        "text": m.text,
        "title": m.title,
        "author": m.author,
        "author_followers": m.author_followers,
        "url": m.url,
        "lang": m.lang,
        "likes": m.likes,
        "replies": m.replies,
        "reposts": m.reposts,
        "created_at": m.created_at.timestamp(),
        "fetched_at": fetched_at,
        "compound": scored.compound,
        "label": scored.label,
        "backfill": int(scored.backfill),
    }


def _scored(row: tuple[Any, ...]) -> ScoredMention:
    (brand, platform, id_, text, title, author, followers, url, lang, likes, replies, reposts,
     created_at, compound, label, backfill) = row  # fmt: skip
    mention = Mention(
        platform=platform,
        id=id_,
        text=text or "",
        created_at=from_epoch(created_at),
        title=title or "",
        author=author or "",
        author_followers=followers,
        url=url or "",
        lang=lang,
        likes=likes or 0,
        replies=replies or 0,
        reposts=reposts or 0,
    )
    return ScoredMention(mention, brand, compound, label, bool(backfill))


def _incident(row: dict[str, Any]) -> IncidentRow:
    values: dict[str, Any] = {k: row.get(k) for k in IncidentRow.__slots__}
    values["figures"] = json.loads(row["figures"]) if row.get("figures") else None
    return IncidentRow(**values)
