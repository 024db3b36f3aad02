"""A fake Reddit: search.json (anonymous), /search (OAuth bearer) and the client-credentials token endpoint."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reddit"
REACH = 1000  # a listing goes back at most this far, however it is paged
UNAUTHORIZED = {"message": "Unauthorized", "error": 401}
TOO_MANY = {"message": "Too Many Requests", "error": 429}


def recorded(name: str = "search.json") -> dict[str, Any]:
    """A recorded-shape answer from tests/fixtures/reddit/."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _words_in(query: str, post: dict[str, Any]) -> bool:
    text = f"{post.get('title') or ''} {post.get('selftext') or ''}".lower()
    return all(w in text for w in query.replace('"', " ").lower().split())


def _when(value: Any) -> float:
    """A sort key for a timestamp field that may be missing or malformed (those sort last)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class FakeReddit(FakeServer):
    """Link search newest first, paged by `after` (limit up to 100), with OAuth as Reddit does it.

    Tests add posts at any time (`add_post`, or append to `.posts`); `.requests` records every
    request and `.served` the names each search answer carried. `client_id`/`client_secret`, when
    set, are the only credentials the token endpoint accepts; `rate_headers` go on every search
    answer; `fail_next` scripts failures (Reddit's 429-in-a-200 is `fail_next(200, body=...)`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.client_id: str | None = None
        self.client_secret: str | None = None
        self.token_lifetime = 86400
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.tokens_work = True  # False: tokens are issued but the search refuses them (401)
        self.rate_headers: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_get("/search.json", self.search)
        self.app.router.add_get("/search", self.oauth_search)
        self.app.router.add_post("/api/v1/access_token", self.access_token)

    def add_post(self, name: str, created_utc: float, title: str, selftext: str = "", **fields: Any) -> dict[str, Any]:
        """Add a link post (name is its t3_ fullname; any field can be given or overridden by keyword)."""
        short = name.removeprefix("t3_")
        post = {"name": name, "id": short, "created_utc": created_utc, "title": title, "selftext": selftext,
                "author": f"someone{short}", "subreddit": "devops", "subreddit_subscribers": 250000, "score": 1,
                "upvote_ratio": 1.0, "num_comments": 0, "permalink": f"/r/devops/comments/{short}/x/",
                "is_self": True, **fields}  # fmt: skip
        self.posts.append(post)
        return post

    def throttle(self, wait: int = 120, in_a_200: bool = False) -> None:
        """Reddit's refusal: {"message": "Too Many Requests", "error": 429} with the window used up for
        `wait` seconds, as a 429 or (as Reddit sometimes does) with HTTP 200."""
        headers = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(wait)}
        self.fail_next(200 if in_a_200 else 429, body=json.dumps(TOO_MANY), headers=headers)

    def served_names(self) -> list[str]:
        """Every post name answered so far, in order (repeats mean something was fetched twice)."""
        return [n for names in self.served for n in names]

    def searches(self) -> list[Any]:
        """Recorded search requests, anonymous and OAuth."""
        return [r for r in self.requests if r.path in ("/search.json", "/search")]

    async def access_token(self, request: web.Request) -> web.Response:
        """POST /api/v1/access_token with HTTP basic auth and grant_type=client_credentials."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        form = await request.post()
        client = _basic(request.headers.get("Authorization", ""))
        expected = (self.client_id, self.client_secret)
        if client is None or (self.client_id is not None and client != expected):
            return web.json_response(UNAUTHORIZED, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"})
        token = f"token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        if self.tokens_work:
            self.valid_tokens.add(token)
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime,
                              "scope": "*"})  # fmt: skip

    async def oauth_search(self, request: web.Request) -> web.Response:
        """GET /search on the OAuth host: a valid bearer token or 401."""
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        if kind.lower() != "bearer" or token not in self.valid_tokens:
            failure = await self.record(request)
            return failure or web.json_response(UNAUTHORIZED, status=401, headers={"www-authenticate": "Bearer"})
        return await self.search(request)

    async def search(self, request: web.Request) -> web.Response:
        """A Listing of t3 children, newest first, paged by `after`."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        query = request.query
        try:
            limit = min(100, max(1, int(query.get("limit", "25"))))
        except ValueError:
            return web.json_response({"message": "Bad Request", "error": 400}, status=400)
        posts = [p for p in self.posts if _words_in(query.get("q", ""), p)]
        posts.sort(key=lambda p: _when(p.get("created_utc")), reverse=True)
        posts = posts[:REACH]
        after = query.get("after")
        if after:
            names = [p.get("name") for p in posts]
            posts = posts[names.index(after) + 1 :] if after in names else []
        chunk = posts[:limit]
        next_after = chunk[-1]["name"] if len(posts) > limit else None
        self.served.append([str(p.get("name")) for p in chunk])
        listing = {"kind": "Listing", "data": {
            "after": next_after, "before": None, "dist": len(chunk), "modhash": "", "geo_filter": "",
            "children": [{"kind": "t3", "data": p} for p in chunk],
        }}  # fmt: skip
        return json_response(listing, headers=self.rate_headers)


def _basic(header: str) -> tuple[str, str] | None:
    kind, _, encoded = header.partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


@pytest.fixture
async def fake_reddit(aiohttp_server: ServerFactory) -> AsyncIterator[FakeReddit]:
    """A running fake Reddit; .url (ends in /) serves both the www and the oauth paths."""
    fake = FakeReddit()
    yield await serve(fake, fake.app, aiohttp_server, "/")
