"""A fake YouTube Data API v3: search.list, videos.list and channels.list, with API keys and a daily quota."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "youtube"
REACH = 500  # search.list pages stop after about this many results
COSTS = {"/youtube/v3/search": 100, "/youtube/v3/videos": 1, "/youtube/v3/channels": 1}


def recorded(name: str) -> Any:
    """A recorded-shape answer from tests/fixtures/youtube/."""
    return json.loads((FIXTURES / name).read_text())


def google_error(code: int, reason: str, message: str, domain: str = "global", status: str = "") -> dict[str, Any]:
    """Google's error body: error.code, error.message, error.errors[] with reason and domain, error.status."""
    error: dict[str, Any] = {"code": code, "message": message,
                             "errors": [{"message": message, "domain": domain, "reason": reason}]}  # fmt: skip
    if status:
        error["status"] = status
    return {"error": error}


KEY_INVALID = recorded("key_invalid.json")
QUOTA_EXCEEDED = recorded("quota_exceeded.json")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class FakeYouTube(FakeServer):
    """search (q, type=video, order=date, publishedAfter, maxResults, pageToken), videos and channels by id.

    Tests add videos (`add_video`) and channels (`channels[id] = {...}`) at any time. `key` is the one
    API key accepted (400 keyInvalid otherwise, as Google answers); `units` counts quota spent and,
    past `daily_quota`, every call answers 403 quotaExceeded (`throttle` scripts one). A pageToken is
    opaque and holds for the search it came with (made up, changed or sent with another q or
    publishedAfter: 400 invalidPageToken). `.served` holds the videoIds each search answer carried;
    `fail_next` scripts failures, `answer_next` a whole answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.videos: list[dict[str, Any]] = []
        self.channels: dict[str, dict[str, Any]] = {}
        self.served: list[list[str]] = []
        self.key = "AIzaFakeKey-0123456789"
        self.units = 0
        self.daily_quota = 10**9
        self.app = web.Application()
        self.app.router.add_get("/youtube/v3/search", self.search)
        self.app.router.add_get("/youtube/v3/videos", self.videos_list)
        self.app.router.add_get("/youtube/v3/channels", self.channels_list)

    def add_video(self, video_id: str, published: float, title: str, description: str = "",
                  channel: str = "UCacme", **fields: Any) -> dict[str, Any]:  # fmt: skip
        """Add a video resource as videos.list returns it (fields override the snippet's or add keys)."""
        snippet = {"publishedAt": iso(published), "channelId": channel, "title": title, "description": description,
                   "channelTitle": f"Channel {channel}", "liveBroadcastContent": "none",
                   "defaultAudioLanguage": "en"}  # fmt: skip
        stats = {"viewCount": "10", "likeCount": "2", "favoriteCount": "0", "commentCount": "1"}
        video = {"kind": "youtube#video", "etag": f"etag-{video_id}", "id": video_id, "snippet": snippet,
                 "statistics": stats}  # fmt: skip
        for key, value in fields.items():
            (video if key in ("statistics", "id") else snippet)[key] = value
        self.videos.append(video)
        return video

    def answer_next(self, data: Any, status: int = 200) -> None:
        """Answer the next request with this JSON."""
        self.fail_next(status, body=json.dumps(data))

    def throttle(self) -> None:
        """Google's answer when the day's quota is spent: 403 quotaExceeded (not a 429)."""
        self.answer_next(QUOTA_EXCEEDED, status=403)

    def served_ids(self) -> list[str]:
        return [i for ids in self.served for i in ids]

    def lookups(self) -> list[Any]:
        """Recorded videos.list and channels.list calls."""
        return [r for r in self.requests if r.path in ("/youtube/v3/videos", "/youtube/v3/channels")]

    def searches(self) -> list[Any]:
        return self.paths("/youtube/v3/search")

    async def _gate(self, request: web.Request) -> web.Response | None:
        """Scripted failures, the key, then the quota (a refused call costs nothing here)."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        if request.query.get("key") != self.key:
            return web.json_response(KEY_INVALID, status=400)
        cost = COSTS[request.path]
        if self.units + cost > self.daily_quota:
            return web.json_response(QUOTA_EXCEEDED, status=403)
        self.units += cost
        return None

    async def search(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        query = request.query
        asked = (query.get("q", ""), query.get("publishedAfter"), query.get("maxResults"))
        bound = self.redeem(query["pageToken"]) if "pageToken" in query else (asked, 0)
        try:
            per_page = int(query.get("maxResults", "5"))
            after = _epoch(query["publishedAfter"]) if "publishedAfter" in query else None
            if bound is None or bound[0] != asked:
                raise ValueError(query["pageToken"])
            offset = bound[1]
        except (ValueError, KeyError):
            return web.json_response(google_error(400, "invalidPageToken", "Invalid page token"), status=400)
        if not 0 <= per_page <= 50 or query.get("type") != "video" or query.get("order") != "date":
            return web.json_response(google_error(400, "invalidSearchFilter", "Bad search filter"), status=400)
        words = query.get("q", "").lower().split()
        found = [v for v in self.videos if _matches(words, v) and (after is None or _when(v) >= after)]
        found.sort(key=_when, reverse=True)
        found = found[:REACH]
        chunk = found[offset : offset + per_page]
        self.served.append([v["id"] for v in chunk])
        answer: dict[str, Any] = {"kind": "youtube#searchListResponse", "etag": "etag-search", "regionCode": "US",
                                  "pageInfo": {"totalResults": len(found), "resultsPerPage": per_page},
                                  "items": [_result(v) for v in chunk]}  # fmt: skip
        if offset + per_page < len(found):
            answer["nextPageToken"] = self.token_for((asked, offset + per_page))
        return json_response(answer)

    async def videos_list(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        ids = request.query.get("id", "").split(",")
        if len(ids) > 50:
            return web.json_response(google_error(400, "badRequest", "Too many ids"), status=400)
        items = [v for i in ids for v in self.videos if v["id"] == i]
        return json_response({"kind": "youtube#videoListResponse", "etag": "etag-videos", "items": items,
                              "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})  # fmt: skip

    async def channels_list(self, request: web.Request) -> web.Response:
        refused = await self._gate(request)
        if refused is not None:
            return refused
        items = [{"kind": "youtube#channel", "etag": f"etag-{i}", "id": i, **self.channels[i]}
                 for i in request.query.get("id", "").split(",") if i in self.channels]  # fmt: skip
        return json_response({"kind": "youtube#channelListResponse", "etag": "etag-channels", "items": items,
                              "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})  # fmt: skip


def _when(video: dict[str, Any]) -> float:
    return _epoch(video["snippet"]["publishedAt"])


def _matches(words: list[str], video: dict[str, Any]) -> bool:
    snippet = video["snippet"]
    text = f"{snippet.get('title') or ''} {snippet.get('description') or ''}".lower()
    return all(w in text for w in words)


def _result(video: dict[str, Any]) -> dict[str, Any]:
    """A search result: the snippet HTML-escaped and its description cut, as search.list sends it."""
    s = video["snippet"]
    snippet = {"publishedAt": s["publishedAt"], "channelId": s["channelId"], "title": html.escape(s["title"]),
               "description": html.escape(s["description"][:160]), "thumbnails": {}, "channelTitle": s["channelTitle"],
               "liveBroadcastContent": s["liveBroadcastContent"], "publishTime": s["publishedAt"]}  # fmt: skip
    return {"kind": "youtube#searchResult", "etag": f"etag-r-{video['id']}",
            "id": {"kind": "youtube#video", "videoId": video["id"]}, "snippet": snippet}  # fmt: skip


@pytest.fixture
async def fake_youtube(aiohttp_server: ServerFactory) -> AsyncIterator[FakeYouTube]:
    """A running fake YouTube Data API; .url is its base URL for config (ends in /youtube/v3/)."""
    fake = FakeYouTube()
    yield await serve(fake, fake.app, aiohttp_server, "/youtube/v3/")
