"""Reddit search, newest first: anonymous, or with OAuth client credentials when they are configured."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention
from monitor.sources.base import AuthError, BadResponse, Page, RateLimited
from monitor.sources.http import Http

TOKEN_MARGIN = 60.0  # renew the OAuth token this long before it expires


class Reddit:
    """Posts that match a query.

    Reddit has no since-parameter: a poll pages newest-first with `after` until it reaches the stored
    watermark. Cursor: {"watermark": W, "seen": [ids created at W]} between polls; while paging it also
    holds `after` and the new watermark to adopt once the last page is stored.
    """

    name: ClassVar[str] = "reddit"
    base_url: ClassVar[str] = "https://www.reddit.com/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {
        "oauth_base_url": "https://oauth.reddit.com/",
        "client_id_env": "REDDIT_CLIENT_ID",
        "client_secret_env": "REDDIT_CLIENT_SECRET",
        "limit": 100,
    }

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.token: str | None = None
        self.token_expires = 0.0

    def _credentials(self) -> tuple[str, str] | None:
        client_id = os.environ.get(str(self.config.options.get("client_id_env", "")), "")
        secret = os.environ.get(str(self.config.options.get("client_secret_env", "")), "")
        return (client_id, secret) if client_id and secret else None

    async def _token(self, credentials: tuple[str, str]) -> str:
        if self.token and self.http.clock() < self.token_expires - TOKEN_MARGIN:
            return self.token
        url = self.config.base_url.rstrip("/") + "/api/v1/access_token"
        basic = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        body, _ = await self.http.post_form(
            url, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise AuthError("reddit: the token endpoint did not return an access token (check the client id)")
        self.token = body["access_token"]
        expires = body.get("expires_in")
        self.token_expires = self.http.clock() + (float(expires) if isinstance(expires, int | float) else 3600.0)
        return self.token

    async def _get(self, params: dict[str, str]) -> tuple[Any, Mapping[str, str]]:
        credentials = self._credentials()
        if credentials is None:
            return await self.http.get_json(self.config.base_url.rstrip("/") + "/search.json", params=params)
        url = str(self.config.options.get("oauth_base_url", self.base_url)).rstrip("/") + "/search"
        for attempt in range(2):
            headers = {"Authorization": f"bearer {await self._token(credentials)}"}
            try:
                return await self.http.get_json(url, params=params, headers=headers)
            except AuthError:
                if attempt:
                    raise
                self.token = None  # expired or revoked early: fetch a new token once
        raise AssertionError("unreachable")

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of posts newer than the watermark (back to since on a first poll)."""
        state: dict[str, Any] = json.loads(cursor) if cursor else {"watermark": since.timestamp(), "seen": []}
        params = {"q": query, "sort": "new", "type": "link", "raw_json": "1",
                  "limit": str(max(1, min(100, int(self.config.options.get("limit", 100)))))}  # fmt: skip
        if state.get("after"):
            params["after"] = state["after"]
        body, headers = await self._get(params)
        _obey_rate_headers(self.http, headers)
        if isinstance(body, dict) and body.get("error") == 429:
            self.http.block(60.0)
            raise RateLimited("reddit: Too Many Requests (in a 200 answer)", 60.0)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children"), list):
            raise BadResponse("reddit: answer is not a listing")
        watermark, seen = float(state["watermark"]), set(state.get("seen", []))
        posts = [p for p in (parse_post(c) for c in data["children"]) if p is not None]
        fresh = [p for p in posts if _newer(p, watermark, seen)]
        reached = len(fresh) < len(posts)
        if "final" not in state:
            top = max((p.created_at.timestamp() for p in fresh), default=None)
            if top is None:
                state = {**state, "final": watermark, "final_seen": sorted(seen)}
            else:
                state = {**state, "final": top, "final_seen": [p.id for p in fresh if p.created_at.timestamp() == top]}
        after = data.get("after")
        if not reached and isinstance(after, str) and after and data["children"]:
            return Page(fresh, json.dumps({**state, "after": after}), True)
        final_seen = set(state["final_seen"]) | (seen if state["final"] == watermark else set())
        return Page(fresh, json.dumps({"watermark": state["final"], "seen": sorted(final_seen)}), False)


def _newer(post: Mention, watermark: float, seen: set[str]) -> bool:
    created = post.created_at.timestamp()
    return created > watermark or (created == watermark and post.id not in seen)


def _obey_rate_headers(http: Http, headers: Mapping[str, str]) -> None:
    """With no requests left in Reddit's window, make none until it resets."""
    try:
        remaining = float(headers.get("x-ratelimit-remaining", "1"))
        reset = float(headers.get("x-ratelimit-reset", "0"))
    except ValueError:
        return
    if remaining < 1 and reset > 0:
        http.block(reset)


def _num(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def parse_post(child: Any) -> Mention | None:
    """A Mention from one listing child, or None when it lacks what a mention needs."""
    post = child.get("data") if isinstance(child, dict) else None
    if not isinstance(post, dict):
        return None
    name, created = post.get("name"), post.get("created_utc")
    if not isinstance(name, str) or isinstance(created, bool) or not isinstance(created, int | float):
        return None
    title, text = post.get("title"), post.get("selftext")
    title = title if isinstance(title, str) else ""
    text = text if isinstance(text, str) else ""
    if not title and not text:
        return None
    permalink = post.get("permalink")
    author = post.get("author")
    return Mention(
        platform="reddit",
        id=name,
        text=text,
        title=title,
        created_at=datetime.fromtimestamp(float(created), UTC),
        author=author if isinstance(author, str) else "",
        url="https://www.reddit.com" + permalink if isinstance(permalink, str) else "",
        likes=_num(post.get("score")),
        replies=_num(post.get("num_comments")),
    )
