"""A fake X API v2 recent search: bearer token, since_id within seven days, next_token paging, rate-limit headers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x"
X_EPOCH_MS = 1288834974657
SEVEN_DAYS = 7 * 86400
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")


def recorded(name: str) -> Any:
    """A recorded-shape answer from tests/fixtures/x/."""
    return json.loads((FIXTURES / name).read_text())


def snowflake(epoch: float, sequence: int = 0) -> int:
    """An X id for a post made at epoch seconds (time in the high bits, then worker and sequence)."""
    return ((int(epoch * 1000) - X_EPOCH_MS) << 22) | (sequence & 0x3FFFFF)


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **more: Any) -> dict[str, Any]:
    """X's problem JSON."""
    return {"title": title, "detail": detail, "type": kind, "status": status, **more}


UNAUTHORIZED = recorded("unauthorized.json")
TOO_MANY = recorded("rate_limited.json")


class FakeX(FakeServer):
    """GET /2/tweets/search/recent: query, since_id, max_results (10-100), next_token, fields and expansions.

    Newest first; a next_token pages below the last id served, so posts arriving meanwhile never shift
    a page. Only the fields asked for come back (id, text and edit_history_tweet_ids always); authors
    and referenced posts come in `includes` when the expansions ask. `token` is the one bearer token
    accepted. Each answer carries x-rate-limit-* headers: `limit` requests per window, the window
    resetting at `reset_at` (epoch; `new_window()` starts the next); past the limit, 429. `clock` says
    what "now" is for the seven-day reach. A next_token is opaque and holds for the query it came with:
    one made up, changed, or sent with another query, since_id or max_results gets X's 400. `throttle`
    scripts X's own 429, `fail_next` failures, `answer_next` a whole answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []  # every post that exists; search matches among them
        self.users: dict[str, dict[str, Any]] = {}
        self.served: list[list[str]] = []
        self.token = "AAAAAAAAAAAAAAAAAAAAAFakeBearer%3Dtoken"
        self.limit = 450
        self.used = 0
        self.reset_at = 0.0
        self.clock: Callable[[], float] = time.time
        self.sequence = 0
        self.app = web.Application()
        self.app.router.add_get("/2/tweets/search/recent", self.search)

    def user(self, username: str, followers: int = 100) -> dict[str, Any]:
        """The user with this username (created on first use)."""
        for user in self.users.values():
            if user["username"] == username:
                return user
        user_id = str(1000 + len(self.users))
        self.users[user_id] = {"id": user_id, "name": username.title(), "username": username,
                               "public_metrics": {"followers_count": followers, "following_count": 10,
                                                  "tweet_count": 500, "listed_count": 1, "like_count": 20}}  # fmt: skip
        return self.users[user_id]

    def add_post(self, created: float, text: str, author: str = "acme_fan", **fields: Any) -> dict[str, Any]:
        """Add a post made at epoch `created` (any field can be given or overridden by keyword)."""
        self.sequence += 1
        post_id = str(snowflake(created, self.sequence))
        post = {"id": post_id, "text": text, "author_id": self.user(author)["id"], "conversation_id": post_id,
                "created_at": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
                "lang": "en", "edit_history_tweet_ids": [post_id],
                "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                                   "bookmark_count": 0, "impression_count": 0}, **fields}  # fmt: skip
        self.posts.append(post)
        return post

    def add_retweet(self, original: dict[str, Any], created: float, by: str = "someone") -> dict[str, Any]:
        """A retweet: "RT @author: text", referencing the original, whose retweet_count goes up."""
        author = self.users[original["author_id"]]["username"]
        original["public_metrics"]["retweet_count"] += 1
        return self.add_post(created, f"RT @{author}: {original['text']}"[:140], by, lang=original.get("lang"),
                             referenced_tweets=[{"type": "retweeted", "id": original["id"]}])  # fmt: skip

    def throttle(self, wait: float = 600) -> None:
        """X's own 429: the problem JSON, with the window used up until `wait` seconds from now."""
        headers = {"x-rate-limit-limit": str(self.limit), "x-rate-limit-remaining": "0",
                   "x-rate-limit-reset": str(int(self.clock() + wait))}  # fmt: skip
        self.answer_next(TOO_MANY, status=429, headers=headers)

    def new_window(self, reset_at: float) -> None:
        self.used, self.reset_at = 0, reset_at

    def answer_next(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.fail_next(status, body=json.dumps(data), headers=headers)

    def served_ids(self) -> list[str]:
        return [i for ids in self.served for i in ids]

    def _rate_headers(self) -> dict[str, str]:
        return {"x-rate-limit-limit": str(self.limit), "x-rate-limit-remaining": str(max(0, self.limit - self.used)),
                "x-rate-limit-reset": str(int(self.reset_at))}  # fmt: skip

    async def search(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(UNAUTHORIZED, status=401)
        if self.used >= self.limit:
            return web.json_response(TOO_MANY, status=429, headers=self._rate_headers())
        self.used += 1
        query = request.query
        try:
            answer = self._answer(query)
        except ValueError as exc:
            kind = "https://api.twitter.com/2/problems/invalid-request"
            body = problem(400, "Invalid Request", "One or more parameters to your request was invalid.", kind,
                           errors=[{"message": str(exc)}])  # fmt: skip
            return web.json_response(body, status=400, headers=self._rate_headers())
        return json_response(answer, headers=self._rate_headers())

    def _answer(self, query: Any) -> dict[str, Any]:
        per_page = int(query.get("max_results", "10"))
        if not 10 <= per_page <= 100:
            raise ValueError(f"The `max_results` query parameter value [{per_page}] is not between 10 and 100")
        since_id = int(query.get("since_id", "0"))
        if since_id and ((since_id >> 22) + X_EPOCH_MS) / 1000 < self.clock() - SEVEN_DAYS:
            raise ValueError(f"Invalid 'since_id':'{since_id}'. 'since_id' must be a tweet id created after the "
                             "start of the last seven days")  # fmt: skip
        asked = (query.get("query", ""), since_id, per_page)
        below = None
        if "next_token" in query:
            bound = self.redeem(query["next_token"])
            if bound is None or bound[0] != asked:
                raise ValueError(f"Invalid 'next_token':'{query['next_token']}'.")
            below = bound[1]
        # Groups of words joined by OR: a post matches when it holds every word of one group (@handle and
        # #tag operators are words here: X matches them as the mention and the hashtag entities).
        groups = [g.replace('"', " ").lower().split() for g in query.get("query", "").split(" OR ")]
        found = [p for p in self.posts if int(p["id"]) > since_id and (below is None or int(p["id"]) < below)
                 and any(all(w in p["text"].lower() for w in group) for group in groups)]  # fmt: skip
        found.sort(key=lambda p: int(p["id"]), reverse=True)
        chunk = found[:per_page]
        self.served.append([p["id"] for p in chunk])
        if not chunk:
            return {"meta": {"result_count": 0}}
        fields = set(query.get("tweet.fields", "").split(",")) | set(DEFAULT_TWEET_FIELDS)
        expansions = set(query.get("expansions", "").split(","))
        if "author_id" in expansions:
            fields.add("author_id")
        answer: dict[str, Any] = {"data": [_only(p, fields) for p in chunk]}
        includes: dict[str, Any] = {}
        refs = {r["id"] for p in chunk for r in p.get("referenced_tweets", [])}
        referenced = [p for p in self.posts if p["id"] in refs] if "referenced_tweets.id" in expansions else []
        if referenced:
            includes["tweets"] = [_only(p, fields) for p in referenced]
        authors = [p["author_id"] for p in chunk] if "author_id" in expansions else []
        if "referenced_tweets.id.author_id" in expansions:
            authors += [p["author_id"] for p in referenced]
        user_fields = {"id", "name", "username"} | set(query.get("user.fields", "").split(","))
        if authors:
            includes["users"] = [_only(self.users[a], user_fields) for a in dict.fromkeys(authors)]
        if includes:
            answer["includes"] = includes
        meta = {"newest_id": chunk[0]["id"], "oldest_id": chunk[-1]["id"], "result_count": len(chunk)}
        if len(found) > per_page:
            meta["next_token"] = self.token_for((asked, int(chunk[-1]["id"])))
        answer["meta"] = meta
        return answer


def _only(item: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in fields}


@pytest.fixture
async def fake_x(aiohttp_server: ServerFactory) -> AsyncIterator[FakeX]:
    """A running fake X API; .url is its base URL for config (ends in /2/)."""
    fake = FakeX()
    yield await serve(fake, fake.app, aiohttp_server, "/2/")
