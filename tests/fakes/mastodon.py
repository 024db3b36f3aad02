"""A fake Mastodon instance: the hashtag timeline and v2 search, paged by id as Mastodon does it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mastodon"


def recorded(name: str = "tag_timeline.json") -> Any:
    """A recorded-shape answer from tests/fixtures/mastodon/."""
    return json.loads((FIXTURES / name).read_text())


INVALID_TOKEN = recorded("invalid_token.json")
NEEDS_USER = {"error": "This method requires an authenticated user"}
TOO_MANY = recorded("too_many_requests.json")


def snowflake_at(seconds: float, sequence: int = 0) -> str:
    """A Mastodon id for this time (epoch seconds)."""
    return str((int(seconds * 1000) << 16) | sequence)


def _key(status: dict[str, Any]) -> int:
    value = status.get("id")
    return int(value) if isinstance(value, str) and value.isdigit() else 0


def _text(status: dict[str, Any]) -> str:
    return re.sub(r"<[^>]+>", " ", str(status.get("content") or "")).lower()


class FakeMastodon(FakeServer):
    """GET /api/v1/timelines/tag/:tag (max_id, since_id, min_id, limit; Link header) and GET /api/v2/search.

    Tests add statuses at any time (`add_status`, or append to `.statuses`); `.served` records the ids
    each answer carried. `token`, when set, is the only bearer token accepted; `public_timelines=False`
    makes the tag timeline want one (DISALLOW_UNAUTHENTICATED_API_ACCESS); search always wants one.
    `rate_headers` go on every answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.token: str | None = None
        self.public_timelines = True
        self.rate_headers: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_get("/api/v1/timelines/tag/{tag}", self.tag_timeline)
        self.app.router.add_get("/api/v2/search", self.search)

    def add_status(self, at: float, content: str, tags: tuple[str, ...] = ("acmecloud",), sequence: int = 0,
                   **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Add a public status created at `at` (its id follows from the time, as Mastodon's do)."""
        status_id = snowflake_at(at, sequence)
        created = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = {
            "id": status_id, "created_at": created, "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"https://remote.example/users/someone/statuses/{status_id}",
            "url": f"https://remote.example/@someone/{status_id}", "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "content": f"<p>{content}</p>", "reblog": None,
            "account": {"id": "1", "username": "someone", "acct": "someone@remote.example",
                        "url": "https://remote.example/@someone", "followers_count": 10},
            "media_attachments": [], "mentions": [], "emojis": [], "card": None, "poll": None,
            "tags": [{"name": t, "url": f"https://mastodon.example/tags/{t}"} for t in tags], **fields,
        }  # fmt: skip
        self.statuses.append(status)
        return status

    def throttle(self, reset: float) -> None:
        """Mastodon's 429: {"error": "Too many requests"}, the window used up until `reset` (epoch; the
        header is an ISO time)."""
        iso = datetime.fromtimestamp(reset, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": iso}
        self.fail_next(429, body=json.dumps(TOO_MANY), headers=headers)

    def served_ids(self) -> list[str]:
        """Every status id answered so far, in order (repeats mean something was fetched twice)."""
        return [i for ids in self.served for i in ids]

    def _authorized(self, request: web.Request, required: bool) -> web.Response | None:
        header = request.headers.get("Authorization")
        if header is None:
            return web.json_response(NEEDS_USER, status=401) if required else None
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or self.token is None or token != self.token:
            return web.json_response(INVALID_TOKEN, status=401)
        return None

    async def tag_timeline(self, request: web.Request) -> web.Response:
        """Public statuses with the tag, newest first; min_id gives the page just above it."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        refused = self._authorized(request, not self.public_timelines)
        if refused is not None:
            return refused
        tag = request.match_info["tag"].lower()
        tagged = [s for s in self.statuses if tag in {str(t.get("name", "")).lower() for t in s.get("tags") or []}]
        query = request.query
        try:
            limit = min(40, max(1, int(query.get("limit", "20"))))
            max_id, since_id, min_id = (int(query[k]) if k in query else None for k in ("max_id", "since_id", "min_id"))
        except ValueError:
            return web.json_response({"error": "Validation failed"}, status=422)
        if max_id is not None:
            tagged = [s for s in tagged if _key(s) < max_id]
        if min_id is not None:  # Paginable.paginate_by_min_id: ascending from min_id, then reversed
            page = sorted((s for s in tagged if _key(s) > min_id), key=_key)[:limit][::-1]
        else:
            page = sorted((s for s in tagged if since_id is None or _key(s) > since_id), key=_key, reverse=True)
            page = page[:limit]
        return self._answer(request, page, page)

    async def search(self, request: web.Request) -> web.Response:
        """type=statuses: every word in the text; min_id/max_id as after:/before: times; id desc, offset."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        refused = self._authorized(request, True)
        if refused is not None:
            return refused
        query = request.query
        try:
            limit = min(40, max(1, int(query.get("limit", "20"))))
            offset = int(query.get("offset", "0"))
            after, before = ((int(query[k]) >> 16 if k in query else None) for k in ("min_id", "max_id"))
        except ValueError:
            return web.json_response({"error": "Validation failed"}, status=422)
        words = query.get("q", "").lower().split()
        found = [s for s in self.statuses if all(w in _text(s) for w in words) and s.get("visibility") == "public"
                 and (after is None or _key(s) >> 16 > after)
                 and (before is None or _key(s) >> 16 < before)]  # fmt: skip
        found.sort(key=_key, reverse=True)
        page = found[offset : offset + limit] if query.get("type") in (None, "statuses") else []
        return self._answer(request, {"accounts": [], "statuses": page, "hashtags": []}, page)

    def _answer(self, request: web.Request, body: Any, page: list[dict[str, Any]]) -> web.Response:
        self.served.append([str(s.get("id")) for s in page])
        headers = dict(self.rate_headers)
        if page and request.path.startswith("/api/v1/"):
            url = URL(str(request.url))
            older = url.with_query({"max_id": page[-1]["id"]})
            newer = url.with_query({"min_id": page[0]["id"]})
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return json_response(body, headers=headers)


@pytest.fixture
async def fake_mastodon(aiohttp_server: ServerFactory) -> AsyncIterator[FakeMastodon]:
    """A running fake Mastodon instance; .url (ends in /) is its base URL for config."""
    fake = FakeMastodon()
    yield await serve(fake, fake.app, aiohttp_server, "/")
