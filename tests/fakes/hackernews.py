"""A fake Hacker News search (Algolia's search_by_date) that filters, sorts and pages as the real one."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hackernews"
REACH = 1000  # Algolia serves at most this many hits of one search, however it is paged
_NUMERIC = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*$")
_OPS = {">=": float.__ge__, "<=": float.__le__, ">": float.__gt__, "<": float.__lt__, "=": float.__eq__,
        "!=": float.__ne__}  # fmt: skip


def recorded(name: str = "search_by_date.json") -> dict[str, Any]:
    """A recorded-shape answer from tests/fixtures/hackernews/."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _words_in(query: str, hit: dict[str, Any]) -> bool:
    text = " ".join(str(hit.get(k) or "") for k in ("title", "story_text", "comment_text", "url")).lower()
    return all(w in text for w in query.replace('"', " ").lower().split())


def _tags_match(tags: str, hit: dict[str, Any]) -> bool:
    """Algolia's tags: comma means AND, a parenthesised group means OR."""
    have = set(hit.get("_tags") or [])
    for group in re.findall(r"\([^)]*\)|[^,()]+", tags):
        options = {t.strip() for t in group.strip("()").split(",") if t.strip()}
        if options and not options & have:
            return False
    return True


def _numeric_match(filters: str, hit: dict[str, Any]) -> bool:
    for part in filter(None, filters.split(",")):
        match = _NUMERIC.match(part)
        if match is None:
            raise ValueError(part)
        name, op, value = match.groups()
        field = hit.get(name)
        if isinstance(field, bool) or not isinstance(field, int | float):
            return False
        if not _OPS[op](float(field), float(value)):
            return False
    return True


def _when(value: Any) -> float:
    """A sort key for a timestamp field that may be missing or malformed (those sort last)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class FakeHackerNews(FakeServer):
    """GET /api/v1/search_by_date: query, tags, numericFilters, hitsPerPage, page; newest first.

    Tests add hits at any time (`add_hit`, `add_story`, or append to `.hits`); `.requests` records
    every request and `.served` the objectIDs each answer carried. `fail_next` scripts failures and
    `answer_next` scripts a whole answer (for shapes the real index never holds).
    """

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/search_by_date", self.search_by_date)

    def add_hit(self, object_id: str, created_at_i: int, text: str, **fields: Any) -> dict[str, Any]:
        """Add a comment hit (any field can be given or overridden by keyword)."""
        # Each hit by its own author unless told: a burst is many people (one author's repeats count once).
        author = fields.get("author", f"someone{object_id}")
        hit = {"objectID": object_id, "created_at_i": created_at_i, "comment_text": text, "author": author,
               "points": None, "num_comments": None, "title": None, "story_text": None, "story_title": "A story",
               "_tags": ["comment", f"author_{author}"], **fields}  # fmt: skip
        self.hits.append(hit)
        return hit

    def add_story(self, object_id: str, created_at_i: int, title: str, text: str | None = None,
                  **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Add a story hit: a title, optional story_text, points and num_comments."""
        author = fields.get("author", f"someone{object_id}")
        hit = {"objectID": object_id, "created_at_i": created_at_i, "title": title, "story_text": text,
               "comment_text": None, "author": author, "points": 1, "num_comments": 0, "url": None,
               "_tags": ["story", f"author_{author}"], **fields}  # fmt: skip
        self.hits.append(hit)
        return hit

    def answer_next(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Answer the next request with this JSON instead of searching."""
        self.fail_next(status, body=json.dumps(data), headers=headers)

    def throttle(self) -> None:
        """Algolia's 429 (no Retry-After, no rate headers)."""
        self.answer_next({"message": "Too many requests", "status": 429}, status=429)

    def served_ids(self) -> list[str]:
        """Every objectID answered so far, in order (repeats mean something was fetched twice)."""
        return [i for ids in self.served for i in ids]

    async def search_by_date(self, request: web.Request) -> web.Response:
        """Algolia's answer: hits, nbHits, page, nbPages, hitsPerPage; a 400 for a bad parameter."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        query = request.query
        try:
            per_page = min(REACH, max(1, int(query.get("hitsPerPage", "20"))))
            page = max(0, int(query.get("page", "0")))
            numeric = query.get("numericFilters", "")
            hits = [h for h in self.hits if _words_in(query.get("query", ""), h)
                    and _tags_match(query.get("tags", ""), h) and _numeric_match(numeric, h)]  # fmt: skip
        except ValueError as exc:
            return web.json_response({"message": f"invalid parameter: {exc}", "status": 400}, status=400)
        hits.sort(key=lambda h: (_when(h.get("created_at_i")), str(h.get("objectID"))), reverse=True)
        reachable = hits[:REACH]
        nb_pages = math.ceil(len(reachable) / per_page)
        chunk = reachable[page * per_page : (page + 1) * per_page]
        self.served.append([str(h.get("objectID")) for h in chunk])
        return json_response({
            "hits": chunk, "nbHits": len(hits), "page": page, "nbPages": nb_pages, "hitsPerPage": per_page,
            "exhaustiveNbHits": True, "exhaustiveTypo": True, "query": query.get("query", ""),
            "params": request.query_string, "processingTimeMS": 1,
        })  # fmt: skip


@pytest.fixture
async def fake_hn(aiohttp_server: ServerFactory) -> AsyncIterator[FakeHackerNews]:
    """A running fake Hacker News; .url is its base URL for config (ends in /api/v1/)."""
    fake = FakeHackerNews()
    yield await serve(fake, fake.app, aiohttp_server, "/api/v1/")
