"""Mention: the one record every source produces, and the replay (JSONL) format."""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def joined_text(title: str, text: str) -> str:
    """A post's title and body together (Mention.full_text), as matched and scored."""
    if title and text:
        return f"{title}\n{text}"
    return title or text


@dataclass(frozen=True, slots=True)
class Mention:
    """A post, comment or article that may mention a brand, as fetched from one platform."""

    platform: str
    id: str
    text: str
    created_at: datetime  # timezone-aware, UTC
    title: str = ""
    author: str = ""
    author_followers: int | None = None
    url: str = ""
    lang: str | None = None
    likes: int = 0
    replies: int = 0
    reposts: int = 0

    @property
    def full_text(self) -> str:
        """Title and body together, as matched and scored."""
        return joined_text(self.title, self.text)


@dataclass(frozen=True, slots=True)
class ScoredMention:
    """A stored mention: the mention, the brand it counts for, and its sentiment (None: unscored).

    copy_of is "platform:id" of the mention this one copies (the same story or link, stored first from
    another site or source): a copy is stored, linked, and not counted again toward rules.
    """

    mention: Mention
    brand: str
    compound: float | None
    label: str | None
    backfill: bool = False
    copy_of: str | None = None
    scorer: str | None = None  # the version of the scorer that gave compound and label (Scorer.version_of)


def to_utc(value: Any) -> datetime:
    """Normalise epoch seconds (int, float or numeric string) or ISO 8601 text to an aware UTC datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime without a time zone")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value), value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return _from_epoch(float(text), value)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time or epoch seconds: {value!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"time without a zone: {value!r}")
        return parsed.astimezone(UTC)
    raise ValueError(f"not a time: {value!r}")


def _from_epoch(seconds: float, value: Any) -> datetime:
    """Epoch seconds as UTC; ValueError (never OverflowError or OSError) for a time no calendar holds."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"time out of range: {value!r}") from None


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|p|/div|li)\b[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\r\f\v]+")


def html_to_text(value: str) -> str:
    """Turn HTML or HTML-escaped text from a platform into plain text, once, in one place."""
    text = _BLOCK.sub("\n", value)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


_INT_FIELDS = ("likes", "replies", "reposts")


def from_replay(obj: dict[str, Any]) -> tuple[Mention, str | None]:
    """Build a Mention (and the optional brand id) from one replay JSONL object; ValueError if invalid."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("platform", "id", "text", "created_at"):
        if obj.get(key) in (None, ""):
            raise ValueError(f"missing required field {key!r}")
    created_at = to_utc(obj["created_at"])
    followers = obj.get("author_followers")
    if followers is not None and (not isinstance(followers, int) or isinstance(followers, bool)):
        raise ValueError("author_followers: expected an integer")
    counts: dict[str, int] = {}
    for key in _INT_FIELDS:
        value = obj.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{key}: expected an integer")
        counts[key] = value
    brand = obj.get("brand")
    mention = Mention(
        platform=str(obj["platform"]),
        id=str(obj["id"]),
        text=str(obj["text"]),
        created_at=created_at,
        title=str(obj.get("title") or ""),
        author=str(obj.get("author") or ""),
        author_followers=followers,
        url=str(obj.get("url") or ""),
        lang=obj.get("lang") or None,
        **counts,
    )
    return mention, (str(brand) if brand else None)


def to_replay(mention: Mention, brand: str | None = None) -> dict[str, Any]:
    """The replay JSONL object for a mention (the inverse of from_replay)."""
    obj: dict[str, Any] = dataclasses.asdict(mention)
    obj["created_at"] = mention.created_at.isoformat().replace("+00:00", "Z")
    if brand:
        obj["brand"] = brand
    return {k: v for k, v in obj.items() if v not in (None, "")}
