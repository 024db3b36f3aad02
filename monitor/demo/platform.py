"""The demo's local fake platform: Hacker News (Algolia) and Reddit search, serving sample data
whose clock runs fast, so that days of mentions play out in seconds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from monitor.clock import Clock
from monitor.mention import Mention

_FILTER = re.compile(r"(\w+)\s*(>=|<=|>|<|=)\s*(\d+)")
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def _matches(query: str, mention: Mention) -> bool:
    words = query.replace('"', " ").lower().split()
    text = mention.full_text.lower()
    return all(w in text for w in words)


class DemoPlatform:
    """Serves the sample mentions created up to clock() in each platform's documented shape."""

    def __init__(self, mentions: list[Mention], clock: Clock) -> None:
        self.mentions = sorted(mentions, key=lambda m: m.created_at, reverse=True)
        self.clock = clock
        self.app = web.Application()
        self.app.router.add_get("/hn/search_by_date", self.hn_search)
        self.app.router.add_get("/reddit/search.json", self.reddit_search)

    def _visible(self, platform: str, query: str) -> list[Mention]:
        now = self.clock()
        return [
            m
            for m in self.mentions
            if m.platform == platform and m.created_at.timestamp() <= now and _matches(query, m)
        ]

    async def hn_search(self, request: web.Request) -> web.Response:
        """Algolia's search_by_date: numericFilters on created_at_i, hitsPerPage, page."""
        hits = self._visible("hackernews", request.query.get("query", ""))
        for name, op, value in _FILTER.findall(request.query.get("numericFilters", "")):
            if name == "created_at_i":
                hits = [m for m in hits if _OPS[op](int(m.created_at.timestamp()), int(value))]
        per_page = int(request.query.get("hitsPerPage", "20"))
        page = int(request.query.get("page", "0"))
        chunk = hits[page * per_page : (page + 1) * per_page]
        return web.json_response(
            {
                "hits": [_hn_hit(m) for m in chunk],
                "nbHits": len(hits),
                "page": page,
                "nbPages": (len(hits) + per_page - 1) // per_page,
                "hitsPerPage": per_page,
            }
        )

    async def reddit_search(self, request: web.Request) -> web.Response:
        """Reddit's search.json, newest first, paged by `after`."""
        posts = self._visible("reddit", request.query.get("q", ""))
        after = request.query.get("after")
        if after:
            ids = [m.id for m in posts]
            posts = posts[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", "25"))
        chunk = posts[:limit]
        next_after = chunk[-1].id if len(posts) > limit else None
        children = [{"kind": "t3", "data": _reddit_post(m)} for m in chunk]
        return web.json_response({"kind": "Listing", "data": {"after": next_after, "children": children}})


def _hn_hit(m: Mention) -> dict[str, Any]:
    return {
        "objectID": m.id,
        "created_at_i": int(m.created_at.timestamp()),
        "created_at": m.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "author": m.author,
        "title": m.title or None,
        "story_text": None,
        "comment_text": m.text,
        "points": m.likes,
        "num_comments": m.replies,
        "_tags": ["comment", f"author_{m.author}"],
    }


def _reddit_post(m: Mention) -> dict[str, Any]:
    return {
        "name": m.id,
        "id": m.id.removeprefix("t3_"),
        "title": m.title or m.text,
        "selftext": m.text if m.title else "",
        "author": m.author,
        "subreddit": "devops",
        "permalink": m.url.removeprefix("https://www.reddit.com"),
        "created_utc": m.created_at.timestamp(),
        "score": m.likes,
        "num_comments": m.replies,
    }
