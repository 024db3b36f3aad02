"""Making a mention safe to store: one function for polled and ingested mentions alike.

SQLite refuses an integer outside 64 bits (OverflowError) and a str with a lone surrogate cannot be
encoded to UTF-8 (UnicodeEncodeError): either one raised in the store rolled back its whole page or
batch, so one poisoned item stopped a source for good. A NUL is stored, but SQLite's text functions
stop at it. A time far ahead would sit in every rule's current window until it came, and retention
would never prune it.

What `sanitize` does with each, by where the mention came from:

| problem | polled (`strict=False`) | ingested (`strict=True`) |
|---|---|---|
| a count or follower count outside SQLite's 64-bit range | clamped to the range | refused |
| a lone surrogate or NUL in the text, title, author, url or lang | replaced by U+FFFD, or removed (NUL) | refused |
| created more than CLOCK_SKEW after now (year 9999 too) | stamped now, as the fetch time | refused |
| created before 1970 | refused | refused |
| a lone surrogate, NUL or nothing in the platform or id | refused | refused |

A platform's data is what it is: repairing keeps the post and its neighbours. A sender of /ingest can
fix its data, and a refusal (named in the answer's `rejected`) says what to fix; stamping an export's
future times with now would put them all in the current window. Polled times are clamped as the sweep
watermarks are (sources.sweep.mark), with the same allowance.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.mention import Mention

INT_MAX = 2**63 - 1  # SQLite's INTEGER range
INT_MIN = -(2**63)
CLOCK_SKEW = 300  # seconds a time may lie ahead of our clock (a platform's or a device's clock ahead)
EARLIEST = 0.0  # 1970-01-01: no platform holds anything older
_COUNTS = ("likes", "replies", "reposts", "author_followers")
_TEXTS = ("text", "title", "author", "url", "lang")
_KEYS = ("platform", "id")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Unsafe(ValueError):
    """A mention that cannot be stored: `cause` names the kind (one log line per kind), str() the detail."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Fix:
    """One repair made to a polled mention: its kind and what was changed."""

    cause: str
    detail: str


def sanitize(mention: Mention, now: float, strict: bool = False) -> tuple[Mention, list[Fix]]:
    """The mention as it may be stored, and the repairs made; Unsafe when it must be refused (always for
    a broken key or a time before 1970; with `strict`, for anything that would need a repair)."""
    for name in _KEYS:
        value: str = getattr(mention, name)
        if not value or "\x00" in value or _SURROGATE.search(value):
            raise Unsafe("unusable id", f"{name}: {value!r} is empty or holds a NUL or a lone surrogate")
    fixes: list[Fix] = []
    changes: dict[str, Any] = {}
    for name in _COUNTS:
        count = getattr(mention, name)
        if count is not None and not INT_MIN <= count <= INT_MAX:
            fix = Fix("count out of range", f"{name}: {count} is outside SQLite's 64-bit integer range")
            changes[name] = max(INT_MIN, min(INT_MAX, count))
            fixes.append(fix)
    for name in _TEXTS:
        value = getattr(mention, name)
        if value is None:
            continue
        clean = _clean(value)
        if clean != value:
            changes[name] = clean
            fixes.append(Fix("lone surrogate or NUL", f"{name}: {_where(value)}"))
    at = mention.created_at.timestamp()
    if at < EARLIEST:
        raise Unsafe("time out of range", f"created_at: {_iso(at)} is before 1970")
    if at > now + CLOCK_SKEW:
        fixes.append(Fix("time in the future", f"created_at: {_iso(at)} is more than {CLOCK_SKEW}s ahead of now"))
        changes["created_at"] = datetime.fromtimestamp(now, UTC)
    if fixes and strict:
        raise Unsafe(fixes[0].cause, fixes[0].detail)
    return (dataclasses.replace(mention, **changes) if changes else mention), fixes


def _clean(value: str) -> str:
    """The text without NULs, each lone surrogate replaced by U+FFFD (a pair that came apart is joined)."""
    if "\x00" not in value and not _SURROGATE.search(value):
        return value
    joined = value.replace("\x00", "").encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _SURROGATE.sub("\ufffd", joined)


def _where(value: str) -> str:
    """Where the first bad character is, for messages (never the text itself: it may be long)."""
    for index, char in enumerate(value):
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            name = "a NUL" if char == "\x00" else f"a lone surrogate ({char.encode('unicode_escape').decode()})"
            return f"{name} at position {index}"
    return "a bad character"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
