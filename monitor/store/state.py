"""What the daemon must carry across restarts: poll cursors, incidents and the alert outbox."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from monitor.store.records import IncidentRow, OutboxItem, Silence, incident_from_row


class DaemonState:
    """The cursors, incidents and outbox part of the Store."""

    db: sqlite_utils.Database
    _silence_writes: int

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

    def incidents(self, status: str | None = None) -> list[IncidentRow]:
        """Incidents, newest first, optionally only those with a status."""
        sql = "SELECT * FROM incidents"
        params: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [incident_from_row(row) for row in self.db.query(sql + " ORDER BY opened_at DESC", params)]

    def incidents_opened(self, brand: str, start: float, end: float) -> list[IncidentRow]:
        """A brand's incidents opened in [start, end), oldest first."""
        rows = self.db.query(
            "SELECT * FROM incidents WHERE brand = ? AND opened_at >= ? AND opened_at < ? ORDER BY opened_at",
            [brand, start, end],
        )
        return [incident_from_row(r) for r in rows]

    def latest_incidents(self) -> dict[tuple[str, str], IncidentRow]:
        """The newest incident of each (rule, brand)."""
        rows = self.db.query(
            "SELECT * FROM incidents i WHERE opened_at = (SELECT MAX(opened_at) FROM incidents j"
            " WHERE j.rule = i.rule AND j.brand = i.brand)"
        )
        return {(r["rule"], r["brand"]): incident_from_row(r) for r in rows}

    def save_incident(self, incident: IncidentRow) -> None:
        """Insert or update an incident's state (call inside the transaction that enqueues its alert).

        Its Slack thread and channel are left as stored: set_thread owns them, and the engine's copy of
        an incident may predate them.
        """
        row = {k: getattr(incident, k) for k in IncidentRow.__slots__ if k not in ("thread_ts", "channel")}
        row["figures"] = json.dumps(incident.figures) if incident.figures is not None else None
        self.db.table("incidents").upsert(row, pk="id")

    def set_thread(self, incident_id: str, thread_ts: str, channel: str | None = None) -> None:
        """Remember the Slack thread of an incident (the ts of its opening message, and its channel)."""
        self.db.execute(
            "UPDATE incidents SET thread_ts = ?, channel = COALESCE(?, channel) WHERE id = ?",
            [thread_ts, channel, incident_id],
        )

    def last_channel(self) -> str | None:
        """The channel id the latest delivered incident was posted to."""
        row = self.db.execute(
            "SELECT channel FROM incidents WHERE channel IS NOT NULL ORDER BY opened_at DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def thread_of(self, incident_id: str) -> str | None:
        """The Slack thread ts of an incident, once its opening alert was delivered."""
        row = self.db.execute("SELECT thread_ts FROM incidents WHERE id = ?", [incident_id]).fetchone()
        return None if row is None or row[0] is None else str(row[0])

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
            "SELECT id, incident, payload, attempts, created_at, sending_at FROM outbox ORDER BY id LIMIT ?",
            [limit],
        ).fetchall()
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]

    def sending(self, item_id: int, now: float) -> None:
        """Record, durably, that a post of this item starts now (its outcome may be lost in a crash)."""
        with self.db.atomic():
            self.db.execute("UPDATE outbox SET sending_at = ? WHERE id = ?", [now, item_id])

    def next_attempt_at(self) -> float | None:
        """When the oldest outbox item may next be tried (None when the outbox is empty)."""
        row = self.db.execute("SELECT next_attempt_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def delivered(self, item_id: int) -> None:
        """Remove an item Slack accepted."""
        self.db.execute("DELETE FROM outbox WHERE id = ?", [item_id])

    def delivery_failed(self, item_id: int, error: str, next_attempt_at: float, maybe_sent: bool) -> None:
        """Record a failed attempt and when to try again (maybe_sent: Slack may have posted it anyway)."""
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " sending_at = CASE WHEN ? THEN sending_at ELSE NULL END WHERE id = ?",
            [error, next_attempt_at, maybe_sent, item_id],
        )

    def retry_outbox_now(self, now: float) -> None:
        """Make every waiting alert due now (after a fix to the Slack settings)."""
        with self.db.atomic():
            self.db.execute("UPDATE outbox SET next_attempt_at = ? WHERE next_attempt_at > ?", [now, now])

    def dead_letter(self, item_id: int, error: str, now: float) -> None:
        """Move an outbox item Slack refused for good to the dead letters, in one transaction."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO dead_letters (id, incident, event, payload, created_at, failed_at, attempts, error)"
                " SELECT id, incident, event, payload, created_at, ?, attempts + 1, ? FROM outbox WHERE id = ?",
                [now, error, item_id],
            )
            self.db.execute("DELETE FROM outbox WHERE id = ?", [item_id])

    def dead_letters(self, limit: int = 20) -> list[tuple[int, str, str, float, str]]:
        """The newest dead letters: (outbox id, incident, event kind, failed_at, error)."""
        rows = self.db.execute(
            "SELECT id, incident, event, failed_at, error FROM dead_letters ORDER BY failed_at DESC, id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), float(r[3]), str(r[4])) for r in rows]

    def count_dead_letters(self) -> int:
        """How many alert events Slack refused for good."""
        return int(self.db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])

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

    def add_silence(
        self, rule: str, brand: str, terms: Sequence[str], author: str, comment: str, now: float, expires_at: float
    ) -> int:
        """Store a silence; returns its id."""
        self._silence_writes += 1
        cursor = self.db.execute(
            "INSERT INTO silences (rule, brand, terms, author, comment, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [rule, brand, json.dumps(list(terms)), author, comment, now, expires_at],
        )
        return int(cursor.lastrowid or 0)

    def silences(self, active_at: float | None = None) -> list[Silence]:
        """Silences, newest first; only those in force at active_at when it is given."""
        sql, params = "SELECT * FROM silences", []
        if active_at is not None:
            sql += " WHERE created_at <= ? AND expires_at > ?"
            params = [active_at, active_at]
        rows = self.db.query(sql + " ORDER BY id DESC", params)
        return [
            Silence(
                r["id"],
                r["rule"],
                r["brand"],
                tuple(json.loads(r["terms"] or "[]")),
                r["author"] or "",
                r["comment"] or "",
                r["created_at"],
                r["expires_at"],
            )
            for r in rows
        ]

    def silences_in_force(self, now: float) -> tuple[list[Silence], tuple[float, float, tuple[int, int]]]:
        """The silences in force at now, and while that answer holds: from now until the next time a silence
        starts or ends (inf if none will), as long as silences_token() stays the same."""
        row = self.db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(created_at) AS t FROM silences WHERE created_at > ?"
            " UNION ALL SELECT MIN(expires_at) FROM silences WHERE expires_at > ?)",
            [now, now],
        ).fetchone()
        until = math.inf if row[0] is None else float(row[0])
        return self.silences(active_at=now), (now, until, self.silences_token())

    def silences_token(self) -> tuple[int, int]:
        """Changes whenever silences may have been written: by another connection (PRAGMA data_version,
        which any commit there moves) or through this one."""
        return self.data_version(), self._silence_writes

    def data_version(self) -> int:
        """PRAGMA data_version: moves whenever another connection commits to the database."""
        return int(self.db.conn.execute("PRAGMA data_version").fetchone()[0])

    def end_silence(self, silence_id: int, now: float) -> bool:
        """Make a silence expire now; False if there is no such silence in force."""
        self._silence_writes += 1
        cursor = self.db.execute(
            "UPDATE silences SET expires_at = ? WHERE id = ? AND expires_at > ?", [now, silence_id, now]
        )
        return cursor.rowcount > 0
