"""How the operator commands write times: a UTC stamp, or how long ago."""

from __future__ import annotations

from datetime import UTC, datetime


def when(ts: float | None) -> str:
    """A UTC time as `2026-11-25 10:00:00Z`, or "never"."""
    return "never" if not ts else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def ago(ts: float | None, now: float) -> str:
    """How long before now, in its largest unit ("3h ago"), or "never"."""
    if not ts:
        return "never"
    seconds = int(now - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
