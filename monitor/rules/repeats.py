"""One voice counts once: a mention that repeats, nearly word for word, what its author said about the
brand shortly before does not count toward rules again (one angry customer or a bot posting twenty
copies of a complaint is not twenty people). Different authors who write the same words each count:
that is what a crisis sounds like."""

from __future__ import annotations

import re
import sys
from collections.abc import Collection

REPEAT_WINDOW = 6 * 3600.0  # a repeat within this long of the author's earlier post
MIN_SIMILARITY = 0.6  # Jaccard similarity of the two posts' word sets
KEPT = 20  # an author's posts remembered, newest
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only: ticket numbers, counters and emoji do not tell posts apart


def words(text: str) -> frozenset[str]:
    """The set of words a post is compared by."""
    return frozenset(map(sys.intern, _WORD.findall(_URL.sub(" ", text.lower()))))


def similar(a: frozenset[str], b: Collection[str]) -> bool:
    """Whether two word sets (b's words distinct) are near-identical posts."""
    if not a or not b:
        return not a and not b
    common = len(a.intersection(b))
    return common >= MIN_SIMILARITY * (len(a) + len(b) - common)


class Repeats:
    """Each (brand, author)'s recent posts, to tell a repeat from a new voice.

    Kept small, as every author of the last hours has an entry: a post's words as a tuple of interned
    strings (a frozenset of 10 words takes 730 bytes, the tuple 136 and the words are shared), an
    author's posts in a list (a deque takes 600 bytes however short)."""

    __slots__ = ("recent",)

    def __init__(self) -> None:
        self.recent: dict[tuple[str, str], list[tuple[float, tuple[str, ...]]]] = {}

    def repeat(self, brand: str, author: str, text: str, ts: float) -> bool:
        """Whether this post repeats one its author made about the brand within REPEAT_WINDOW before ts
        (remembered when it does not)."""
        if not author:
            return False
        key = (brand, author.lower())
        posts = self.recent.get(key)
        current = words(text)
        if posts is None:
            self.recent[key] = [(ts, tuple(current))]
            return False
        if any(abs(ts - when) <= REPEAT_WINDOW and similar(current, earlier) for when, earlier in posts):
            return True
        posts.append((ts, tuple(current)))
        if len(posts) > KEPT:
            del posts[0]
        return False

    def prune(self, before: float) -> None:
        """Forget authors whose last post is older than before (minus the window)."""
        stale = [key for key, posts in self.recent.items() if posts[-1][0] < before - REPEAT_WINDOW]
        for key in stale:
            del self.recent[key]
