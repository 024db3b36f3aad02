"""Rows as the rest of the program sees them, and their conversions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.mention import Mention, ScoredMention
from monitor.store.copies import group_keys


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
    channel: str | None = None
    figures: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An alert event waiting for delivery."""

    id: int
    incident: str
    event: dict[str, Any]
    attempts: int
    created_at: float
    sending_at: float | None = None  # a post was started then and its outcome is not known


def mention_row(scored: ScoredMention, fetched_at: float) -> tuple[Any, ...]:
    """The mentions row for an insert, in the order add_mentions inserts them."""
    m = scored.mention
    url_key, title_key = group_keys(m)
    return (
        scored.brand,
        m.platform,
        m.id,
        m.text,
        m.title,
        m.author,
        m.author_followers,
        m.url,
        m.lang,
        m.likes,
        m.replies,
        m.reposts,
        m.created_at.timestamp(),
        fetched_at,
        scored.compound,
        scored.label,
        int(scored.backfill),
        url_key or None,
        title_key or None,
        scored.copy_of,
        scored.scorer,
    )


def scored(row: tuple[Any, ...]) -> ScoredMention:
    (
        brand,
        platform,
        id_,
        text,
        title,
        author,
        followers,
        url,
        lang,
        likes,
        replies,
        reposts,
        created_at,
        compound,
        label,
        backfill,
        copy_of,
        scorer,
    ) = row
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
    return ScoredMention(mention, brand, compound, label, bool(backfill), copy_of, scorer)


def incident_from_row(row: dict[str, Any]) -> IncidentRow:
    values: dict[str, Any] = {k: row.get(k) for k in IncidentRow.__slots__}
    values["figures"] = json.loads(row["figures"]) if row.get("figures") else None
    return IncidentRow(**values)


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes a rule (or all, "*") for a brand (or all) until it expires.

    Without terms it stops new incidents and their updates; with terms, only mentions containing
    one of them stop counting toward the rule.
    """

    id: int
    rule: str
    brand: str
    terms: tuple[str, ...]
    author: str
    comment: str
    created_at: float
    expires_at: float

    def covers(self, rule: str, brand: str) -> bool:
        """Whether this silence is about that rule and brand."""
        return self.rule in ("*", rule) and self.brand in ("*", brand)
