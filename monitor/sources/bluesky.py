"""Bluesky post search (app.bsky.feed.searchPosts, newest first) with an app-password session."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import Brand, SourceConfig
from monitor.mention import Mention, to_utc
from monitor.sources import sweep
from monitor.sources.answers import HttpAuthError, HttpClientError
from monitor.sources.base import AuthError, BadResponse, Keep, Page, TransientError
from monitor.sources.quota import Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
MAX_PROFILES = 20000  # follower counts cached; past this the oldest are dropped
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles takes at most 25 actors
SESSION_MARGIN = 300.0  # renew the access token this long before it expires
SESSION_FALLBACK = 1800.0  # lifetime assumed when the access token's expiry cannot be read


class Bluesky:
    """Posts that match a query, with their authors' follower counts.

    Search needs a session: one createSession with the app password when the process first needs it,
    then refreshSession shortly before the access token's `exp` (read from the JWT), or when a call
    fails as an expired token would (HTTP 400 ExpiredToken, or 401); a refused refresh falls back to
    one new login. The session lives in memory only, never in the cursor (the store is no secret store).

    `since` filters on sortAt, the earlier of the post's createdAt (client-set) and indexedAt, so
    that is the post's time here too. Between polls the cursor holds the watermark `mark` (the newest
    sortAt fetched) and `seen`, the uris fetched within `overlap` seconds below it. A poll is a sweep,
    newest first, with since = mark - overlap (or the previous sweep's start less the overlap when
    later: sweep.low_water), paged by the opaque cursor until there is none; each
    page's cursor carries the sweep, so a restart resumes it; only after the last page does the
    watermark move. Follower counts come from app.bsky.actor.getProfiles, 25 actors a call, cached
    for `followers_ttl` seconds, and only for the posts the brand filter keeps (Page.enrich).
    """

    name: ClassVar[str] = "bluesky"
    base_url: ClassVar[str] = "https://bsky.social/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {
        "handle_env": "BLUESKY_HANDLE",
        "password_env": "BLUESKY_APP_PASSWORD",
        "limit": 100,
        "overlap": 300,
        "followers_ttl": 21600,
    }
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.xrpc = config.base_url.rstrip("/") + "/xrpc/"
        self.handle_env = str(config.options.get("handle_env", "BLUESKY_HANDLE"))
        self.password_env = str(config.options.get("password_env", "BLUESKY_APP_PASSWORD"))
        self.limit = max(1, min(100, int(config.options.get("limit", 100))))
        self.overlap = float(max(0, int(config.options.get("overlap", 300))))
        self.followers_ttl = float(max(0, int(config.options.get("followers_ttl", 21600))))
        self.access: str | None = None
        self.refresh: str | None = None
        self.renew_at = 0.0
        self.followers: dict[str, tuple[int | None, float]] = {}  # did -> (followers, when fetched)

    @staticmethod
    def tag_queries(brand: Brand) -> tuple[str, ...]:
        """The brand's Bluesky handles (a domain: "@acme.bsky.social") and its hashtags, each a search of
        its own: by mention (searchPosts' `mentions`: posts that tag the account) and by tag."""
        handles = [h for h in brand.handles if "." in h and h.count("@") == 1]
        return (*handles, *brand.hashtags)

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of posts newer than the watermark (back to since on a first poll); a query that is a
        handle ("@acme.bsky.social") finds the posts that mention it, a hashtag ("#AcmeCloud") those tagged."""
        state = sweep.begin(sweep.load(cursor, since.timestamp(), sweep.is_number), self.overlap, self.http.clock())
        floor = state["floor"]
        params = {"q": query, "sort": "latest", "limit": str(self.limit), "since": _iso(floor)}
        if query.startswith("@"):  # q is required: the handle, whose mention facet's text holds it
            params.update(q=query[1:], mentions=query[1:])
        elif query.startswith("#"):
            params["tag"] = query[1:]
        if state.get("cursor"):
            params["cursor"] = state["cursor"]
        body = await self._call("app.bsky.feed.searchPosts", params)
        if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
            error = body.get("error") if isinstance(body, dict) else None
            reason = f" (error: {error[:100]})" if isinstance(error, str) else ""
            raise BadResponse(f"the searchPosts answer has no posts list{reason}")
        items: list[Any] = body["posts"]
        old, new = state["seen"], state["new"]
        posts = []
        for item in items:
            parsed = parse_post(item)
            if parsed is None:
                logger.info("bluesky: skipped a malformed post %s", _describe(item))
            else:
                posts.append(parsed)
        reached = False  # newest first: a post below the floor means the rest is older still
        mentions: list[Mention] = []
        authors: dict[str, str] = {}  # mention id -> its author's DID, for the follower counts
        for mention, did in posts:
            at = mention.created_at.timestamp()
            if at < floor:
                reached = True
            elif mention.id not in old and mention.id not in new:
                mentions.append(mention)
                authors[mention.id] = did
                new[mention.id] = at
        enrich = functools.partial(self._reach, authors)
        if state.get("top") is None and posts:
            state["top"] = max(m.created_at.timestamp() for m, _ in posts)
        mark = sweep.mark(state, self.http.clock())
        after = body.get("cursor")
        # A cursor that does not move would page forever: take it as the end.
        if reached or not items or not isinstance(after, str) or not after or after == state.get("cursor"):
            done = sweep.finish(state, mark, self.overlap, self.http.ahead)
            return Page(mentions, sweep.dump(done), False, enrich)
        state["cursor"] = after
        return Page(mentions, sweep.dump(state), True, enrich)

    async def _reach(self, authors: dict[str, str], mentions: list[Mention], keep: Keep) -> list[Mention]:
        """The mentions, those the brand filter keeps with their authors' follower counts (getProfiles:
        nothing is looked up for a post the filter then drops)."""
        kept = [m for m in mentions if keep(m) and m.id in authors]
        followers = await self._followers([authors[m.id] for m in kept])
        counted = {m.id for m in kept}
        return [
            dataclasses.replace(m, author_followers=followers.get(authors[m.id])) if m.id in counted else m
            for m in mentions
        ]

    async def _call(self, method: str, params: Mapping[str, str]) -> Any:
        """GET an XRPC query with the session; renews the session once if the token looks expired."""
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {await self._token()}"}
            try:
                body, _ = await self.http.get_json(
                    self.xrpc + method, params=params, headers=headers, quota=self._quota
                )
                return body
            except HttpAuthError as exc:
                if attempt or exc.status != 401:
                    raise AuthError(
                        f"HTTP {exc.status} from {method} with the session of {self.handle_env}: "
                        "the account may be suspended or the app password revoked"
                    ) from None
            except HttpClientError as exc:
                if attempt or not _expired(exc):  # an expired or revoked token answers HTTP 400 ExpiredToken
                    raise
            self.renew_at = 0.0
        raise AssertionError("unreachable")

    async def _token(self) -> str:
        """The access token: the cached one, a refreshed one, or one from a new login."""
        if self.access and self.http.clock() < self.renew_at:
            return self.access
        if self.refresh:
            try:
                body = await self._post("com.atproto.server.refreshSession", self.refresh, None)
                return self._keep(body)
            except (HttpAuthError, HttpClientError) as exc:
                if isinstance(exc, HttpClientError) and exc.status != 400:
                    raise
                logger.info("bluesky: the session could not be refreshed (%s): logging in again", exc)
                self.access = self.refresh = None
        return self._keep(await self._login())

    async def _login(self) -> Any:
        handle, password = os.environ.get(self.handle_env, ""), os.environ.get(self.password_env, "")
        if not handle or not password:
            raise AuthError(
                f"Bluesky search needs a login: set {self.handle_env} and {self.password_env} (an app password)"
            )
        try:
            return await self._post(
                "com.atproto.server.createSession", None, {"identifier": handle, "password": password}
            )
        except (HttpAuthError, HttpClientError) as exc:
            if isinstance(exc, HttpClientError) and exc.status != 400:
                raise
            raise AuthError(f"Bluesky refused the login: check {self.handle_env} and {self.password_env}") from None

    async def _post(self, method: str, bearer: str | None, body: dict[str, str] | None) -> Any:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        answer, _ = await self.http.post_json(self.xrpc + method, body, headers=headers, quota=self._quota)
        return answer

    def _keep(self, body: Any) -> str:
        """Store a session answer's tokens and when to renew them; the access token."""
        access = body.get("accessJwt") if isinstance(body, dict) else None
        refresh = body.get("refreshJwt") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            raise BadResponse("the session answer has no tokens")
        now = self.http.clock()
        expires = _expiry(access)
        # An expiry unreadable, or already past by our clock (skew), would mean a refresh per call.
        lifetime = expires - now if expires is not None and expires - now > SESSION_MARGIN else SESSION_FALLBACK
        self.access, self.refresh = access, refresh
        self.renew_at = now + max(0.0, lifetime - min(SESSION_MARGIN, lifetime / 2))
        return access

    async def _followers(self, dids: list[str]) -> dict[str, int | None]:
        """Follower counts by DID: cached ones, and the rest from getProfiles, 25 a call."""
        now = self.http.clock()
        wanted = list(dict.fromkeys(d for d in dids if d))
        missing = [d for d in wanted if d not in self.followers or self.followers[d][1] + self.followers_ttl <= now]
        from multidict import MultiDict  # here: `monitor check` reads the sources' options without it

        for start in range(0, len(missing), PROFILES_PER_CALL):
            batch = missing[start : start + PROFILES_PER_CALL]
            try:
                body = await self._call("app.bsky.actor.getProfiles", MultiDict(("actors", d) for d in batch))
            except (TransientError, BadResponse) as exc:
                # The posts are worth more than their reach: keep them, with reach unknown this time.
                logger.info("bluesky: follower counts not fetched (%s)", exc)
                break
            profiles = body.get("profiles") if isinstance(body, dict) else None
            if not isinstance(profiles, list):
                logger.info("bluesky: follower counts not fetched (the getProfiles answer has no profiles list)")
                break
            counts = {p.get("did"): p.get("followersCount") for p in profiles if isinstance(p, dict)}
            for did in batch:  # an actor missing from the answer (deleted, suspended) is not asked again soon
                count = counts.get(did)
                self.followers[did] = (count if isinstance(count, int) and not isinstance(count, bool) else None, now)
        if len(self.followers) > MAX_PROFILES:  # keep the newest three quarters: a trim now and then, not each page
            newest = sorted(self.followers.items(), key=lambda kv: kv[1][1])[-(MAX_PROFILES * 3 // 4) :]
            self.followers = dict(newest)
        return {d: self.followers[d][0] for d in wanted if d in self.followers}

    def _quota(self, headers: Mapping[str, str]) -> float | None:
        return quota_exhausted(headers, self.http.until)


def quota_exhausted(headers: Mapping[str, str], until: Callable[[float], float | None]) -> float | None:
    """Seconds until the window resets when none is left in it (RateLimit-Reset is epoch seconds on the
    platform's clock; `until` reads it against that clock: Http.until)."""
    try:
        remaining = float(headers.get("RateLimit-Remaining", "1"))
        reset = float(headers.get("RateLimit-Reset", "0"))
    except ValueError:
        return None
    return until(reset) if remaining < 1 else None


def _expired(exc: HttpClientError) -> bool:
    """Whether an XRPC error is the one an expired or revoked access token gets (HTTP 400 ExpiredToken)."""
    body = exc.response.json_or_none()
    return exc.status == 400 and isinstance(body, dict) and body.get("error") in ("ExpiredToken", "InvalidToken")


def _expiry(jwt: str) -> float | None:
    """The `exp` claim of a JWT (read, not verified: only to know when to renew)."""
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _iso(seconds: float) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        return repr(item.get("uri") or "(no uri)")[:200]
    return f"(a {type(item).__name__}, not an object)"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_post(item: Any) -> tuple[Mention, str] | None:
    """A Mention from one postView and its author's DID, or None when it lacks what a mention needs."""
    if not isinstance(item, dict):
        return None
    uri, record, author = item.get("uri"), item.get("record"), item.get("author")
    if not isinstance(uri, str) or not isinstance(record, dict) or not isinstance(author, dict):
        return None
    parts = uri.removeprefix("at://").split("/")
    did = author.get("did")
    if not uri.startswith("at://") or len(parts) != 3 or parts[1] != "app.bsky.feed.post" or not parts[2]:
        return None
    if not isinstance(did, str) or not did.startswith("did:"):
        return None
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        created = to_utc(record.get("createdAt"))
        indexed = to_utc(item["indexedAt"]) if "indexedAt" in item else created
    except ValueError:
        return None
    langs = record.get("langs")
    handle = author.get("handle")
    return Mention(
        platform="bluesky",
        id=uri,  # at://<did>/app.bsky.feed.post/<rkey>: keyed on the DID, so a new handle changes nothing
        text=text,
        created_at=min(created, indexed),  # sortAt: what since filters on; createdAt may be set by anyone
        author=handle if isinstance(handle, str) and handle != "handle.invalid" else did,
        url=f"https://bsky.app/profile/{did}/post/{parts[2]}",
        lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        likes=_count(item.get("likeCount")),
        replies=_count(item.get("replyCount")),
        reposts=_count(item.get("repostCount")),
    ), did
