"""A fake Bluesky PDS: sessions (createSession, refreshSession), searchPosts and getProfiles over XRPC."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bluesky"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
PROFILES = "/xrpc/app.bsky.actor.getProfiles"
LOGIN = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"


def recorded(name: str = "search_posts.json") -> Any:
    """A recorded-shape answer from tests/fixtures/bluesky/."""
    return json.loads((FIXTURES / name).read_text())


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sort_at(post: dict[str, Any]) -> str:
    """The earlier of createdAt and indexedAt (both ISO UTC with ms here, so they compare as text)."""
    created = str((post.get("record") or {}).get("createdAt") or "")
    return min(created, str(post.get("indexedAt") or created))


def _matches(post: dict[str, Any], query: Any) -> bool:
    """Every word of q in the text (a q that is a handle or a #tag: that token), the `mentions` account
    among the post's mention facets, every `tag` among its tag facets."""
    record = post.get("record") or {}
    text = str(record.get("text", "")).lower()
    features = [f for facet in record.get("facets") or [] for f in facet.get("features") or []]
    mentioned = {str(f.get("did")) for f in features if f.get("$type") == "app.bsky.richtext.facet#mention"}
    handles = {h.lower() for h in (query.get("mentions"),) if h}
    if handles and not (mentioned & handles or any(f"@{h}" in text for h in handles)):
        return False
    tags = {str(f.get("tag", "")).lower() for f in features if f.get("$type") == "app.bsky.richtext.facet#tag"}
    if any(t.lower() not in tags and f"#{t.lower()}" not in text for t in query.getall("tag", [])):
        return False
    if handles or query.getall("tag", []):
        return True
    return all(w in text for w in query["q"].lower().split())


def _error(status: int, error: str, message: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status)


EXPIRED = recorded("expired_token.json")
LOGIN_REFUSED = recorded("auth_failed.json")


class FakeBluesky(FakeServer):
    """XRPC as a PDS serves it to an app-password session.

    `handle`/`password` are the only credentials createSession accepts; access tokens are JWTs whose
    `exp` is `clock() + access_lifetime`; a token past its exp, or in `.expired`, answers HTTP 400
    ExpiredToken; refreshSession rotates the refresh token (the old one is revoked). searchPosts
    filters by every word of q (or by `mentions` and `tag`) and by since (on sortAt), newest first,
    paged by an opaque cursor that holds for the search it came with (400 otherwise). Tests add posts
    with `add_post` and profiles with `add_profile`; `.profile_calls` records the actors of each
    getProfiles call; `rate_headers` go on every answer; `throttle` scripts Bluesky's own 429.
    """

    def __init__(self) -> None:
        super().__init__()
        self.handle = "acme-monitor.bsky.social"
        self.password = "abcd-efgh-ijkl-mnop"
        self.clock: Callable[[], float] = time.time
        self.access_lifetime = 7200.0
        self.posts: list[dict[str, Any]] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self.served: list[list[str]] = []
        self.profile_calls: list[list[str]] = []  # the actors of each getProfiles call
        self.access_tokens: dict[str, float] = {}  # token -> exp
        self.refresh_tokens: set[str] = set()
        self.expired: set[str] = set()
        self.logins = 0
        self.refreshes = 0
        self.rate_headers: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_post(LOGIN, self.create_session)
        self.app.router.add_post(REFRESH, self.refresh_session)
        self.app.router.add_get(SEARCH, self.search_posts)
        self.app.router.add_get(PROFILES, self.get_profiles)

    def add_post(self, rkey: str, at: float, text: str, did: str = "did:plc:someone", indexed: float | None = None,
                 **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Add a postView created at `at` (epoch seconds) by `did`, indexed at `indexed` (default: `at`)."""
        handle = self.profiles.get(did, {}).get("handle", did.rsplit(":", 1)[-1] + ".bsky.social")
        post = {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": f"bafyrei{rkey}",
            "author": {"did": did, "handle": handle, "displayName": "", "labels": [], "createdAt": _iso(0)},
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": _iso(at), "langs": ["en"]},
            "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
            "indexedAt": _iso(at if indexed is None else indexed), "labels": [], **fields,
        }  # fmt: skip
        self.posts.append(post)
        return post

    def add_profile(self, did: str, handle: str, followers: int) -> None:
        """Add an actor getProfiles knows."""
        self.profiles[did] = {"did": did, "handle": handle, "displayName": handle.split(".")[0],
                              "followersCount": followers, "followsCount": 10, "postsCount": 100,
                              "indexedAt": _iso(0), "createdAt": _iso(0), "labels": []}  # fmt: skip

    def throttle(self, wait: float = 300) -> None:
        """Bluesky's 429: RateLimitExceeded, the window used up until `wait` seconds from now."""
        reset = str(int(self.clock() + wait))
        headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": reset,
                   "RateLimit-Policy": "3000;w=300", "Retry-After": str(int(wait))}  # fmt: skip
        self.fail_next(429, body=json.dumps(recorded("rate_limited.json")), headers=headers, path=SEARCH)

    def profile_lookups(self) -> list[str]:
        """Every actor getProfiles was asked about, in order."""
        return [a for call in self.profile_calls for a in call]

    def served_uris(self) -> list[str]:
        """Every post uri searchPosts answered so far (repeats mean something was fetched twice)."""
        return [u for uris in self.served for u in uris]

    def expire_access(self) -> None:
        """Every access token issued so far now answers ExpiredToken."""
        self.expired |= set(self.access_tokens)

    def _session(self) -> dict[str, Any]:
        n = self.logins + self.refreshes
        header = _b64({"typ": "at+jwt", "alg": "ES256K"})
        exp = int(self.clock() + self.access_lifetime)
        access = f"{header}.{_b64({'scope': 'com.atproto.appPass', 'sub': 'did:plc:monitor', 'exp': exp})}.sig{n}"
        refresh = f"{header}.{_b64({'scope': 'com.atproto.refresh', 'jti': f'r{n}'})}.sig{n}"
        self.access_tokens[access] = exp
        self.refresh_tokens.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": "did:plc:monitor",
                "email": "ops@acme.example", "emailConfirmed": True, "active": True}  # fmt: skip

    def _bearer(self, request: web.Request) -> str:
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        return token if kind.lower() == "bearer" else ""

    def _refused(self, request: web.Request) -> web.Response | None:
        token = self._bearer(request)
        if not token:
            return _error(401, "AuthMissing", "Authentication Required")
        if token not in self.access_tokens:
            return _error(401, "InvalidToken", "Bad token scope")
        if token in self.expired or self.access_tokens[token] <= self.clock():
            return web.json_response(EXPIRED, status=400)
        return None

    async def create_session(self, request: web.Request) -> web.Response:
        """com.atproto.server.createSession: JSON {identifier, password}."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        try:
            body = json.loads(self.requests[-1].body)
        except ValueError:
            return _error(400, "InvalidRequest", "Request body must be JSON")
        if request.content_type != "application/json" or not isinstance(body, dict):
            return _error(400, "InvalidRequest", "Wrong request encoding (Content-Type)")
        if (body.get("identifier"), body.get("password")) != (self.handle, self.password):
            return web.json_response(LOGIN_REFUSED, status=401)
        self.logins += 1
        return json_response(self._session(), headers=self.rate_headers)

    async def refresh_session(self, request: web.Request) -> web.Response:
        """com.atproto.server.refreshSession: the refresh token as bearer; rotates it."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        token = self._bearer(request)
        if token not in self.refresh_tokens:
            return _error(400, "ExpiredToken", "Token has been revoked")
        self.refresh_tokens.discard(token)
        self.refreshes += 1
        return json_response(self._session(), headers=self.rate_headers)

    async def search_posts(self, request: web.Request) -> web.Response:
        """app.bsky.feed.searchPosts: q, sort, since, until, limit (1-100), cursor."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        refused = self._refused(request)
        if refused is not None:
            return refused
        query = request.query
        asked = tuple(sorted((k, v) for k, v in query.items() if k != "cursor"))
        bound = self.redeem(query["cursor"]) if "cursor" in query else (asked, 0)
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            return _error(400, "InvalidRequest", "Error: limit must be an integer")
        if not 1 <= limit <= 100 or "q" not in query:
            return _error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        if bound is None or bound[0] != asked:
            return _error(400, "InvalidRequest", "Error: invalid cursor")
        offset = bound[1]
        since = query.get("since", "")
        found = [p for p in self.posts if _matches(p, query) and _sort_at(p) >= since]
        found.sort(key=_sort_at, reverse=query.get("sort", "latest") == "latest")
        page = found[offset : offset + limit]
        self.served.append([str(p.get("uri")) for p in page])
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(found)}
        if offset + limit < len(found):
            body["cursor"] = self.token_for((asked, offset + limit))
        return json_response(body, headers=self.rate_headers)

    async def get_profiles(self, request: web.Request) -> web.Response:
        """app.bsky.actor.getProfiles: up to 25 `actors`; unknown ones are left out."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        refused = self._refused(request)
        if refused is not None:
            return refused
        actors = request.query.getall("actors", [])
        self.profile_calls.append(actors)
        if not 1 <= len(actors) <= 25:
            return _error(400, "InvalidRequest", "Error: actors must not have more than 25 elements")
        profiles = [self.profiles[a] for a in actors if a in self.profiles]
        return json_response({"profiles": profiles}, headers=self.rate_headers)


@pytest.fixture
async def fake_bluesky(aiohttp_server: ServerFactory) -> AsyncIterator[FakeBluesky]:
    """A running fake Bluesky PDS; .url (ends in /) is its base URL for config."""
    fake = FakeBluesky()
    yield await serve(fake, fake.app, aiohttp_server, "/")
