"""What people did from Slack: actions on incidents (once each), exclusions, and per-rule stats."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from monitor.store.records import IncidentRow, incident_from_row


@dataclass(frozen=True, slots=True)
class Action:
    """A button a person pressed on an incident's alert."""

    incident: str
    action: str  # "ack" | "noise" | "snooze_1h" | "snooze_4h" | "snooze_24h" | "exclude"
    user: str
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A term added to a brand's exclusions from Slack (on top of config's `exclude`)."""

    id: int
    brand: str
    term: str
    author: str
    incident: str
    created_at: float


@dataclass(frozen=True, slots=True)
class RuleStats:
    """How one rule's incidents were received over a period."""

    rule: str
    opened: int
    acknowledged: int
    noise: int
    snoozed: int
    median_ack_seconds: float | None


class ActionsTable:
    """The actions, exclusions and kept-alert part of the Store."""

    db: sqlite_utils.Database

    def incident(self, incident_id: str) -> IncidentRow | None:
        """One incident by id, or None."""
        rows = list(self.db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        return incident_from_row(rows[0]) if rows else None

    def keep_alert(self, incident_id: str, event: dict[str, Any]) -> None:
        """Keep the opening alert as delivered (without its chart), so that it can be redrawn."""
        kept = {k: v for k, v in event.items() if k != "chart"}
        self.db.execute("UPDATE incidents SET alert = ? WHERE id = ?", [json.dumps(kept), incident_id])

    def kept_alert(self, incident_id: str) -> dict[str, Any] | None:
        """The opening alert kept by keep_alert."""
        row = self.db.execute("SELECT alert FROM incidents WHERE id = ?", [incident_id]).fetchone()
        return None if row is None or row[0] is None else dict(json.loads(row[0]))

    def record_action(self, action: Action) -> bool:
        """Record that a person took an action on an incident; False if it was recorded before."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO actions (incident, action, user, at, detail) VALUES (?, ?, ?, ?, ?)",
            [action.incident, action.action, action.user, action.at, action.detail],
        )
        return cursor.rowcount > 0

    def actions_on(self, incident_id: str) -> dict[str, Action]:
        """The actions taken on an incident, by action."""
        rows = self.db.execute(
            "SELECT incident, action, user, at, detail FROM actions WHERE incident = ?", [incident_id]
        ).fetchall()
        return {r[1]: Action(r[0], r[1], r[2], r[3], r[4] or "") for r in rows}

    def handled(self, incident_id: str) -> bool:
        """Whether someone acknowledged the incident or marked it noise (its follow-ups stop @-mentioning)."""
        row = self.db.execute(
            "SELECT 1 FROM actions WHERE incident = ? AND action IN ('ack', 'noise') LIMIT 1", [incident_id]
        ).fetchone()
        return row is not None

    def add_exclusion(self, brand: str, term: str, author: str, incident: str, now: float) -> bool:
        """Add a term to a brand's exclusions; False if the brand already excludes it."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO exclusions (brand, term, author, incident, created_at) VALUES (?, ?, ?, ?, ?)",
            [brand, term, author, incident, now],
        )
        return cursor.rowcount > 0

    def exclusions(self) -> list[Exclusion]:
        """Every exclusion added from Slack, oldest first."""
        rows = self.db.execute(
            "SELECT id, brand, term, author, incident, created_at FROM exclusions ORDER BY id"
        ).fetchall()
        return [Exclusion(r[0], r[1], r[2], r[3], r[4] or "", r[5]) for r in rows]

    def remove_exclusion(self, exclusion_id: int) -> bool:
        """Remove an exclusion added from Slack; False if there is none with that id."""
        return self.db.execute("DELETE FROM exclusions WHERE id = ?", [exclusion_id]).rowcount > 0

    def rule_stats(self, since: float) -> list[RuleStats]:
        """Per rule, over incidents opened since `since`: how many were acknowledged, noise, snoozed."""
        rows = self.db.execute(
            "SELECT i.rule, i.opened_at, MAX(CASE WHEN a.action = 'ack' THEN a.at END),"
            " MAX(a.action = 'noise'), MAX(a.action LIKE 'snooze%')"
            " FROM incidents i LEFT JOIN actions a ON a.incident = i.id WHERE i.opened_at >= ?"
            " GROUP BY i.id ORDER BY i.rule",
            [since],
        ).fetchall()
        by_rule: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_rule.setdefault(row[0], []).append(row)
        stats = []
        for rule, incidents in by_rule.items():
            waits = [acked - opened for _, opened, acked, _, _ in incidents if acked is not None]
            stats.append(
                RuleStats(
                    rule=rule,
                    opened=len(incidents),
                    acknowledged=len(waits),
                    noise=sum(1 for r in incidents if r[3]),
                    snoozed=sum(1 for r in incidents if r[4]),
                    median_ack_seconds=statistics.median(waits) if waits else None,
                )
            )
        return stats
