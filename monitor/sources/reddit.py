"""Reddit search, newest first: anonymous, or with OAuth client credentials when they are configured."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, to_utc
from monitor.sources import sweep
from monitor.sources.answers import DEFAULT_RETRY_AFTER, HttpAuthError
from monitor.sources.base import AuthError, BadResponse, Page, RateLimited
from monitor.sources.quota import Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

TOKEN_MARGIN = 60.0  # renew the OAuth token this long before it expires


class Reddit:
    """Posts that match a query.

    Reddit has no since-parameter. Between polls the cursor holds the watermark `mark` (the newest
    created_utc fetched) and `seen`, the names fetched within `overlap` seconds below it. A poll is a
    sweep, newest first, paged by `after`, down to mark - overlap, or the previous sweep's start less
    the overlap when that is later (sweep.low_water: posts the index adds late are still found; `seen`
    filters the rest). Every page's cursor carries `after`, so a restart resumes
    mid-sweep; only after the last page does the watermark move to the newest post of the sweep.
    """

    name: ClassVar[str] = "reddit"
    base_url: ClassVar[str] = "https://www.reddit.com/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {
        "oauth_base_url": "https://oauth.reddit.com/",
        "client_id_env": "REDDIT_CLIENT_ID",
        "client_secret_env": "REDDIT_CLIENT_SECRET",
        "limit": 100,
        "overlap": 300,
    }
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = "it searches anonymously, at about 10 requests a minute"

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.limit = max(1, min(100, int(config.options.get("limit", 100))))
        self.overlap = float(max(0, int(config.options.get("overlap", 300))))
        self.id_env = str(config.options.get("client_id_env", "REDDIT_CLIENT_ID"))
        self.secret_env = str(config.options.get("client_secret_env", "REDDIT_CLIENT_SECRET"))
        self.oauth_url = str(config.options.get("oauth_base_url", "https://oauth.reddit.com/")).rstrip("/")
        self.token: str | None = None
        self.token_renew_at = 0.0

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of posts newer than the watermark (back to since on a first poll)."""
        state = sweep.load(cursor, since.timestamp(), sweep.is_number, _upgrade)
        state = sweep.begin(state, self.overlap, self.http.clock())
        params = {"q": query, "sort": "new", "type": "link", "raw_json": "1", "limit": str(self.limit)}
        if state.get("after"):
            params["after"] = state["after"]
        body, headers = await self._get(params)
        data = _listing(body, headers, self.http)
        children: list[Any] = data["children"]
        old, new, floor = state["seen"], state["new"], state["floor"]
        posts = [p for p in (parse_post(c) for c in children) if p is not None]
        mentions = []
        reached = False  # newest first: a post below the floor means the rest is older still
        for post in posts:
            created = post.created_at.timestamp()
            if created < floor:
                reached = True
            elif post.id not in old and post.id not in new:
                mentions.append(post)
                new[post.id] = created
        if state.get("top") is None and posts:
            state["top"] = max(p.created_at.timestamp() for p in posts)
        mark = sweep.mark(state, self.http.clock())
        after = data.get("after")
        # An `after` that does not move would page forever: take it as the end.
        if reached or not children or not isinstance(after, str) or not after or after == state.get("after"):
            return Page(mentions, sweep.dump(sweep.finish(state, mark, self.overlap, self.http.ahead), 2), False)
        state["after"] = after
        state["new"] = {k: v for k, v in new.items() if v >= mark - self.overlap}
        return Page(mentions, sweep.dump(state, 2), True)

    def _credentials(self) -> tuple[str, str] | None:
        client_id = os.environ.get(self.id_env, "")
        secret = os.environ.get(self.secret_env, "")
        return (client_id, secret) if client_id and secret else None

    async def _get(self, params: dict[str, str]) -> tuple[Any, Mapping[str, str]]:
        credentials = self._credentials()
        if credentials is None:
            url = self.config.base_url.rstrip("/") + "/search.json"
            return await self.http.get_json(url, params=params, quota=quota_exhausted)
        for attempt in range(2):
            headers = {"Authorization": f"bearer {await self._token(credentials)}"}
            try:
                return await self.http.get_json(
                    self.oauth_url + "/search", params=params, headers=headers, quota=quota_exhausted
                )
            except HttpAuthError as exc:
                if attempt or exc.status != 401:
                    raise
                self.token = None  # expired or revoked before its time: fetch a new token, once
        raise AssertionError("unreachable")

    async def _token(self, credentials: tuple[str, str]) -> str:
        """The cached bearer token, or a new one from the client-credentials grant."""
        if self.token and self.http.clock() < self.token_renew_at:
            return self.token
        url = self.config.base_url.rstrip("/") + "/api/v1/access_token"
        # By hand: aiohttp.BasicAuth is deprecated in 3.14 and encode_basic_auth is too new to rely on.
        basic = "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        try:
            body, _ = await self.http.post_form(
                url, {"grant_type": "client_credentials"}, headers={"Authorization": basic}
            )
        except AuthError:
            raise AuthError(
                f"the token endpoint refused the client credentials in {self.id_env} and {self.secret_env}"
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            error = body.get("error") if isinstance(body, dict) else None
            reason = f" ({error})" if isinstance(error, str) and error.isidentifier() else ""
            raise AuthError(
                f"the token endpoint gave no access token{reason}: check {self.id_env} and {self.secret_env}"
            )
        expires = body.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and not isinstance(expires, bool) else 3600.0
        self.token = token
        self.token_renew_at = self.http.clock() + max(0.0, lifetime - min(TOKEN_MARGIN, lifetime / 2))
        return token


def quota_exhausted(headers: Mapping[str, str]) -> float | None:
    """Seconds until Reddit's window resets when no request is left in it (x-ratelimit-*), else None."""
    try:
        remaining = float(headers.get("x-ratelimit-remaining", "1"))
        reset = float(headers.get("x-ratelimit-reset", "0"))
    except ValueError:
        return None
    return reset if remaining < 1 and reset > 0 else None


def _listing(body: Any, headers: Mapping[str, str], http: Http) -> dict[str, Any]:
    """The listing's data, after reading the errors Reddit sends with HTTP 200."""
    if isinstance(body, dict) and "error" in body and "data" not in body:
        error = body.get("error")
        if error == 429:
            try:
                seconds = float(headers.get("x-ratelimit-reset", ""))
            except ValueError:
                seconds = DEFAULT_RETRY_AFTER
            http.block(seconds)
            raise RateLimited(f"Too Many Requests (in an HTTP 200 answer): waiting {seconds:.0f}s", seconds)
        if error in (401, 403):
            raise AuthError(f"error {error} in the answer: credentials missing, wrong or refused")
        raise BadResponse(f"error {error!r} in the answer")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("children"), list):
        raise BadResponse("the answer is not a listing")
    return data


def _upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """A cursor from before version 2, {"watermark": W, "seen": [names at W]}, as one of now; mid-sweep parts
    are dropped (the sweep restarts from W, and the store drops what it already has)."""
    if "mark" not in state and isinstance(state.get("watermark"), int | float):
        mark = float(state["watermark"])
        return {"mark": mark, "seen": dict.fromkeys(map(str, state.get("seen", [])), mark)}
    return state


def _num(value: Any) -> int:
    """A count, 0 when missing or not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) == float("inf"):
        return 0
    return int(value)


def parse_post(child: Any) -> Mention | None:
    """A Mention from one listing child, or None when it lacks what a mention needs."""
    post = child.get("data") if isinstance(child, dict) else None
    if not isinstance(post, dict):
        return None
    name, created = post.get("name"), post.get("created_utc")
    if not isinstance(name, str) or not name or isinstance(created, bool) or not isinstance(created, int | float):
        return None
    title, text = post.get("title"), post.get("selftext")
    title = title if isinstance(title, str) else ""
    text = text if isinstance(text, str) else ""
    if not title and not text:
        return None
    permalink, author = post.get("permalink"), post.get("author")
    try:
        when = to_utc(created)  # ValueError for a time no calendar holds (a broken or hostile item)
    except ValueError:
        return None
    return Mention(
        platform="reddit",
        id=name,
        text=text,
        title=title,
        created_at=when,
        author=author if isinstance(author, str) else "",
        # subreddit_subscribers is the subreddit's reach, not the author's: leave reach unknown.
        author_followers=None,
        url="https://www.reddit.com" + permalink if isinstance(permalink, str) and permalink.startswith("/") else "",
        likes=_num(post.get("score")),
        replies=max(0, _num(post.get("num_comments"))),
    )
