"""Fake Hacker News (Algolia) and Reddit search servers that filter, sort and page like the real ones."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_FILTER = re.compile(r"(\w+)\s*(>=|<=|>|<|=)\s*(\d+)")


def _compare(a: float, op: str, b: float) -> bool:
    return {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "=": a == b}[op]


def _words_in(query: str, text: str) -> bool:
    text = text.lower()
    return all(w in text for w in query.replace('"', " ").lower().split())


class FakeHackerNews(FakeServer):
    """GET /api/v1/search_by_date: query, tags, numericFilters on created_at_i, hitsPerPage, page."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/search_by_date", self.search)

    def add_hit(self, object_id: str, created_at_i: int, text: str, **fields: Any) -> dict[str, Any]:
        """Add a comment hit (override any field with keyword arguments)."""
        hit = {"objectID": object_id, "created_at_i": created_at_i, "comment_text": text, "author": "someone",
               "points": None, "num_comments": None, "title": None, "story_text": None, **fields}  # fmt: skip
        self.hits.append(hit)
        return hit

    async def search(self, request: web.Request) -> web.Response:
        """Algolia's answer shape: hits, nbHits, page, nbPages, hitsPerPage."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        query = request.query.get("query", "")
        hits = [h for h in self.hits if _words_in(query, " ".join(str(h.get(k) or "") for k in
                                                                 ("title", "story_text", "comment_text")))]  # fmt: skip
        for name, op, value in _FILTER.findall(request.query.get("numericFilters", "")):
            hits = [h for h in hits if isinstance(h.get(name), int) and _compare(h[name], op, int(value))]
        hits.sort(key=lambda h: h.get("created_at_i") or 0, reverse=True)
        per_page = int(request.query.get("hitsPerPage", "20"))
        page = int(request.query.get("page", "0"))
        nb_pages = min((len(hits) + per_page - 1) // per_page, max(1, 1000 // per_page))
        chunk = hits[page * per_page : (page + 1) * per_page] if page < nb_pages else []
        return json_response({"hits": chunk, "nbHits": len(hits), "page": page, "nbPages": nb_pages,
                              "hitsPerPage": per_page, "exhaustiveNbHits": True, "query": query})  # fmt: skip


class FakeReddit(FakeServer):
    """search.json (anonymous), /search (OAuth bearer) and /api/v1/access_token (client credentials)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.rate_headers: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_get("/search.json", self.search)
        self.app.router.add_get("/search", self.oauth_search)
        self.app.router.add_post("/api/v1/access_token", self.access_token)

    def add_post(self, name: str, created_utc: float, title: str, selftext: str = "", **fields: Any) -> dict[str, Any]:
        """Add a link post (t3_ name)."""
        post = {"name": name, "id": name.removeprefix("t3_"), "created_utc": created_utc, "title": title,
                "selftext": selftext, "author": "someone", "subreddit": "devops", "score": 1,
                "num_comments": 0, "permalink": f"/r/devops/comments/{name.removeprefix('t3_')}/x/",
                **fields}  # fmt: skip
        self.posts.append(post)
        return post

    async def access_token(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        token = f"token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        self.valid_tokens.add(token)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    async def oauth_search(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("bearer ") not in self.valid_tokens:
            await self.record(request)
            return web.Response(status=401, text=json.dumps({"message": "Unauthorized", "error": 401}))
        return await self.search(request)

    async def search(self, request: web.Request) -> web.Response:
        """A Listing, newest first, paged by `after`."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        query = request.query.get("q", "")
        posts = [p for p in self.posts if _words_in(query, f"{p.get('title', '')} {p.get('selftext', '')}")]
        posts.sort(key=lambda p: p.get("created_utc") or 0, reverse=True)
        after = request.query.get("after")
        if after:
            names = [p["name"] for p in posts]
            posts = posts[names.index(after) + 1 :] if after in names else []
        limit = int(request.query.get("limit", "25"))
        chunk = posts[:limit]
        next_after = chunk[-1]["name"] if len(posts) > limit else None
        listing = {"kind": "Listing", "data": {"after": next_after, "before": None, "dist": len(chunk),
                                               "children": [{"kind": "t3", "data": p} for p in chunk]}}  # fmt: skip
        return json_response(listing, headers=self.rate_headers)


def fixture(platform: str, name: str) -> Any:
    """A recorded-shape fixture from tests/fixtures/<platform>/<name>."""
    return json.loads((FIXTURES / platform / name).read_text())


@pytest.fixture
async def fake_hn(aiohttp_server: ServerFactory) -> AsyncIterator[FakeHackerNews]:
    """A running fake Hacker News; .url is its base URL for config (ends in /api/v1/)."""
    fake = FakeHackerNews()
    yield await serve(fake, fake.app, aiohttp_server, "/api/v1/")


@pytest.fixture
async def fake_reddit(aiohttp_server: ServerFactory) -> AsyncIterator[FakeReddit]:
    """A running fake Reddit; .url serves both www and oauth paths."""
    fake = FakeReddit()
    yield await serve(fake, fake.app, aiohttp_server, "/")
