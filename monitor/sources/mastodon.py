"""Mastodon: a hashtag's public timeline on the configured instance, and full-text search with a token."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from monitor.config import Brand, SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources.answers import HttpAuthError
from monitor.sources.base import AuthError, BadResponse, Page
from monitor.sources.quota import Quota
from monitor.sources.sweep import CLOCK_SKEW, dump  # by name: `sweep` is a local variable here

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
SHIFT = 16  # a Mastodon id is (milliseconds since the epoch << 16) | sequence
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?(\w+)"?')


class Mastodon:
    """Statuses with the brand's hashtag (public timeline), plus full-text search when a token is set.

    Ids are Mastodon snowflakes: the time is in their top bits, so a time converts to an id and back.
    Each stream (`tag`, and `search` with a token) keeps its watermark `marks[stream]` (the newest id
    fetched); a poll sweeps each stream, newest first, down to its floor, mark - overlap (statuses
    federated late get ids from their own, earlier, time), and `seen` (uri -> id) filters what was
    already fetched. The tag timeline is paged backwards with max_id (the Link header's rel="next"),
    since_id the floor, so a poll with more than it can page brings the newest first (forwards by
    min_id, a backfill brought the oldest of the window first, and the newest polls later); search
    is paged backwards with max_id just above the oldest millisecond of the page before. A stream's
    watermark moves to the newest status of its sweep's first page once the sweep ends; the cursor
    holds the sweep under way, so a restart resumes it. Reblogs are folded onto the original (its
    reblogs_count already counts them); the id of a mention is the status `uri`, the same on every
    instance. Only Mastodon proper is supported (numeric ids): GoToSocial and Pleroma ids are not
    snowflakes.
    """

    name: ClassVar[str] = "mastodon"
    base_url: ClassVar[str] = "https://mastodon.social/"
    interval: ClassVar[timedelta] = timedelta(minutes=5)
    options: ClassVar[dict[str, Any]] = {"tag": "", "token_env": "MASTODON_ACCESS_TOKEN", "limit": 40, "overlap": 300}
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = "only the hashtag timeline (tag) is read, no full-text search"

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.base = config.base_url.rstrip("/")
        from yarl import URL  # here: `monitor check` reads the sources' options without the HTTP libraries

        self.host = URL(config.base_url).host or ""
        self.tag = str(config.options.get("tag", "")).lstrip("#")
        self.token_env = str(config.options.get("token_env", "MASTODON_ACCESS_TOKEN"))
        self.limit = max(1, min(40, int(config.options.get("limit", 40))))
        self.overlap = snowflake(max(0, int(config.options.get("overlap", 300))))

    def tag_queries(self, brand: Brand) -> tuple[str, ...]:
        """The brand's hashtags whose timelines its queries do not read already ("#AcmeCloud"): each
        read as a query of its own (Mastodon cannot search by handle; a post naming one counts all the same)."""
        read = {self.tag.lower()} if self.tag else {hashtag(q) for q in brand.queries}
        return tuple(h for h in brand.hashtags if h[1:].lower() not in read)

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of one stream: the tag timeline first, then (with a token) search; a query that is a
        hashtag ("#AcmeCloud") is that tag's timeline alone."""
        token = os.environ.get(self.token_env, "")
        streams = ["tag", "search"] if token and not query.startswith("#") else ["tag"]
        state = _load(cursor)
        sweep = _upgrade(state.get("sweep"))
        if not isinstance(sweep, dict) or sweep.get("stream") not in streams:
            sweep = self._start(streams[0], state, since)  # a new poll (or the token went away mid-sweep)
        elif not isinstance(sweep.get("floor"), int):
            raise BadResponse("the stored cursor's sweep has no start")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if sweep["stream"] == "tag":
            items, done = await self._tag_page(query, sweep, headers)
        else:
            items, done = await self._search_page(query, sweep, headers)
        mentions = self._take(items, sweep, state)
        if not done:
            return Page(mentions, dump({**state, "sweep": sweep}), True)
        if isinstance(sweep.get("top"), int):  # the sweep is over: its stream's watermark moves
            state["marks"][sweep["stream"]] = max(state["marks"].get(sweep["stream"], 0), sweep["top"])
        following = streams.index(sweep["stream"]) + 1
        if following < len(streams):
            return Page(mentions, dump({**state, "sweep": self._start(streams[following], state, since)}), True)
        low = min(state["marks"].values(), default=0) - self.overlap
        seen = {k: v for k, v in state["seen"].items() if v >= low}
        return Page(mentions, dump({"marks": state["marks"], "seen": seen}), False)

    def _start(self, stream: str, state: dict[str, Any], since: datetime) -> dict[str, Any]:
        mark = state["marks"].get(stream)
        floor = mark - self.overlap if isinstance(mark, int) else snowflake(since.timestamp())
        return {"stream": stream, "floor": floor}

    async def _tag_page(self, query: str, sweep: dict[str, Any], headers: dict[str, str]) -> tuple[list[Any], bool]:
        """A page of the tag timeline below max_id (newest first) and above the floor; done when it is not full."""
        tag = query[1:] if query.startswith("#") else self.tag or hashtag(query)
        if not tag:
            raise BadResponse(f"no hashtag can be made of the query {query!r}: set the source's tag option")
        url = f"{self.base}/api/v1/timelines/tag/{quote(tag, safe='')}"
        params = {"limit": str(self.limit), "since_id": str(sweep["floor"])}
        if isinstance(sweep.get("max_id"), int):
            params["max_id"] = str(sweep["max_id"])
        body, response_headers = await self._get(url, params, headers)
        if not isinstance(body, list):
            raise BadResponse(f"the tag timeline is not a list{_error(body)}")
        ids = [i for i in (_id(item) for item in body) if i is not None]
        below = _link_id(response_headers, "next", "max_id") or min(ids, default=None)
        previous = sweep.get("max_id")
        if len(body) < self.limit or below is None or below <= sweep["floor"] or (previous and below >= previous):
            return body, True
        sweep["max_id"] = below
        return body, False

    async def _search_page(self, query: str, sweep: dict[str, Any], headers: dict[str, str]) -> tuple[list[Any], bool]:
        """A page of search results (newest first) above the floor; done when nothing older is left."""
        params = {
            "q": query,
            "type": "statuses",
            "resolve": "false",
            "limit": str(self.limit),
            "min_id": str(sweep["floor"]),
        }
        if "max_id" in sweep:
            params["max_id"] = str(sweep["max_id"])
        if sweep.get("offset"):
            params["offset"] = str(sweep["offset"])
        body, _ = await self._get(f"{self.base}/api/v2/search", params, headers)
        statuses = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(statuses, list):
            raise BadResponse(f"the search answer has no statuses list{_error(body)}")
        ids = [i for i in (_id(item) for item in statuses) if i is not None]
        if not ids:
            return statuses, True
        # max_id becomes before:<its time> (strictly): just above the oldest millisecond of this page,
        # so statuses sharing it are not lost. A page all within that millisecond ends the sweep, or,
        # when full, goes on by offset.
        below = ((min(ids) >> SHIFT) + 1) << SHIFT
        if "max_id" not in sweep or below < sweep["max_id"]:
            sweep["max_id"], sweep["offset"] = below, 0
            return statuses, False
        if len(statuses) < self.limit:
            return statuses, True
        sweep["offset"] = sweep.get("offset", 0) + len(statuses)
        return statuses, False

    async def _get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[Any, Mapping[str, str]]:
        try:
            return await self.http.get_json(url, params=params, headers=headers, quota=self._quota)
        except HttpAuthError as exc:
            if headers:
                raise AuthError(
                    f"HTTP {exc.status}: the instance refused the token in {self.token_env} "
                    "(search needs the read:search scope)"
                ) from None
            raise AuthError(f"HTTP {exc.status}: the instance wants a token: set {self.token_env}") from None

    def _quota(self, headers: Mapping[str, str]) -> float | None:
        return quota_exhausted(headers, self.http.until)

    def _take(self, items: list[Any], sweep: dict[str, Any], state: dict[str, Any]) -> list[Mention]:
        """New mentions of a page; records what was seen, and the newest id of the sweep (`top`), which
        becomes the stream's watermark when the sweep ends."""
        seen: dict[str, int] = state["seen"]
        # A snowflake from the future (an instance's clock ahead) would hide every later status.
        ceiling = snowflake(self.http.clock() + CLOCK_SKEW)
        mentions = []
        for item in items:
            position = _id(item)
            mention = parse_status(item, self.host) if position is not None else None
            if position is None or mention is None:
                logger.info("mastodon: skipped a malformed status %s", _describe(item))
                continue
            sweep["top"] = min(max(sweep.get("top", position), position), ceiling)
            if mention.id not in seen:
                seen[mention.id] = position
                mentions.append(mention)
        return mentions


def hashtag(query: str) -> str:
    """The hashtag of a query's first alternative: `"Acme Cloud" OR acme -job` gives acmecloud."""
    words = []
    for token in query.replace('"', " ").split():
        if token == "OR":
            break
        if not token.startswith("-"):
            words += re.findall(r"\w+", token)
    return "".join(words).lower()


def snowflake(seconds: float) -> int:
    """The smallest Mastodon id at this time (epoch seconds)."""
    return int(seconds * 1000) << SHIFT


def quota_exhausted(headers: Mapping[str, str], until: Callable[[float], float | None]) -> float | None:
    """Seconds until the window resets when none is left in it (X-RateLimit-Reset is an ISO time on the
    instance's clock; `until` reads it against that clock: Http.until)."""
    try:
        remaining = float(headers.get("X-RateLimit-Remaining", "1"))
        reset = to_utc(headers.get("X-RateLimit-Reset", "")).timestamp()
    except ValueError:
        return None
    return until(reset) if remaining < 1 else None


def _link_id(headers: Mapping[str, str], rel: str, param: str) -> int | None:
    """An id parameter of one relation of the Link header."""
    from yarl import URL

    for target, relation in _LINK.findall(headers.get("Link", "")):
        if relation == rel:
            value = URL(target).query.get(param, "")
            return int(value) if value.isdigit() else None
    return None


def _id(item: Any) -> int | None:
    """A status's snowflake id (ASCII digits that fit 64 bits: int() of "²" or of 5,000 digits raises)."""
    value = item.get("id") if isinstance(item, dict) else None
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20 else None


def _upgrade(sweep: Any) -> Any:
    """A tag sweep stored before tag timelines were paged newest first ({"min_id": F}) as one of now
    (the sweep starts again from the top, down to F: `seen` drops what came already)."""
    if isinstance(sweep, dict) and "floor" not in sweep and isinstance(sweep.get("min_id"), int):
        return {"stream": sweep.get("stream"), "floor": sweep["min_id"]}
    return sweep


def _error(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return f" (error: {error[:200]})" if isinstance(error, str) else ""


def _describe(item: Any) -> str:
    if isinstance(item, dict):
        return repr(item.get("uri") or item.get("id") or "(no id)")[:200]
    return f"(a {type(item).__name__}, not an object)"


def _load(cursor: str | None) -> dict[str, Any]:
    if cursor is None:
        return {"marks": {}, "seen": {}}
    try:
        state = json.loads(cursor)
    except ValueError:
        raise BadResponse("the stored cursor is not JSON") from None
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("marks"), dict)
        or not isinstance(state.get("seen"), dict)
    ):
        raise BadResponse("the stored cursor has no watermarks")
    return state


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_status(item: Any, host: str) -> Mention | None:
    """A Mention from one status (a reblog folds onto its original), or None when it lacks what one needs."""
    status = item.get("reblog") if isinstance(item, dict) and isinstance(item.get("reblog"), dict) else item
    if not isinstance(status, dict):
        return None
    uri, content, created = status.get("uri"), status.get("content"), status.get("created_at")
    if not isinstance(uri, str) or not uri or not isinstance(content, str) or not isinstance(created, str):
        return None
    try:
        created_at = to_utc(created)
    except ValueError:
        return None
    spoiler = status.get("spoiler_text")
    title = spoiler.strip() if isinstance(spoiler, str) else ""  # the content warning: plain text
    text = html_to_text(content)
    if not text and not title:
        return None
    account: dict[str, Any] = status["account"] if isinstance(status.get("account"), dict) else {}
    acct, followers, url = account.get("acct"), account.get("followers_count"), status.get("url")
    if isinstance(acct, str) and acct and "@" not in acct:
        # Local accounts have a bare acct: qualify it with their server, as remote ones are.
        from yarl import URL

        profile = account.get("url")
        acct = f"{acct}@{URL(profile).host if isinstance(profile, str) and URL(profile).host else host}"
    language = status.get("language")
    return Mention(
        platform="mastodon",
        id=uri,
        text=text,
        title=title,
        created_at=created_at,
        author=acct if isinstance(acct, str) else "",
        author_followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        url=url if isinstance(url, str) and url else uri,
        lang=language if isinstance(language, str) and language else None,
        likes=_count(status.get("favourites_count")),
        replies=_count(status.get("replies_count")),
        reposts=_count(status.get("reblogs_count")),
    )
