"""YouTube through the Data API v3: search.list finds new videos, videos.list and channels.list fill them in."""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources import sweep
from monitor.sources.answers import DEFAULT_RETRY_AFTER, HttpStatusError
from monitor.sources.base import AuthError, BadResponse, Keep, Page, RateLimited, SourceError
from monitor.sources.quota import DailyUnits, Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube's daily quota resets at midnight here
SEARCH_COST = 100  # quota units per search.list call, whatever it returns
LOOKUP_COST = 1  # a videos.list or channels.list call (of up to 50 ids)
PAGE_COST = SEARCH_COST + 2 * LOOKUP_COST  # a page: one search, at most one videos.list and one channels.list
SNIPPET_CUT = 150  # a search result's description this long may have been cut (search.list shortens them)
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
NO_LANGUAGE = frozenset({"zxx", "und", "mul"})  # "no linguistic content", "undetermined", "multiple"


class YouTube:
    """Videos that match a query, newest first.

    Between polls the cursor holds the watermark `mark` (the newest publishedAt fetched, epoch seconds)
    and `seen`, the ids fetched within `overlap` seconds below it. A poll is a sweep over
    publishedAfter = mark - overlap, or the previous sweep's start less the overlap when later
    (sweep.low_water; YouTube's search index adds videos late), paged by nextPageToken
    with the same publishedAfter on every page (a token belongs to its query). Every page's cursor
    carries the token, so a restart resumes mid-sweep; only after the last page does the watermark
    move to the newest video of the sweep. Only ids not seen before, and only those the brand filter
    keeps (Page.enrich), are looked up in videos.list (counts, full description, defaultAudioLanguage)
    and channels.list (subscribers).

    Quota: a search costs 100 units whatever it returns, a lookup 1. Units are counted per Pacific
    day in memory, a search asking for room for its page's lookups too: one that would pass
    `daily_quota` (0: no local count) waits for midnight America/Los_Angeles without asking, and so
    does a 403 quotaExceeded (the key also used elsewhere, or a restart that lost the count).
    `max_polls_per_day` says how often each query can run. The key goes in the `key` parameter
    (YouTube takes no header for it): Http's messages name URLs without their query, so it is never
    logged.
    """

    name: ClassVar[str] = "youtube"
    base_url: ClassVar[str] = "https://www.googleapis.com/youtube/v3/"
    interval: ClassVar[timedelta] = timedelta(minutes=30)  # 48 polls a day: two queries fit the default quota
    options: ClassVar[dict[str, Any]] = {
        "key_env": "YOUTUBE_API_KEY",
        "daily_quota": 10000,
        "max_results": 50,
        "overlap": 3600,
        "channel_reach": True,
    }
    quota: ClassVar[Quota | None] = DailyUnits(PAGE_COST, "daily_quota", "midnight Pacific time", "Google")
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/")
        self.key_env = str(config.options.get("key_env", "YOUTUBE_API_KEY"))
        self.daily_quota = max(0, int(config.options.get("daily_quota", 10000)))
        self.max_results = max(1, min(50, int(config.options.get("max_results", 50))))
        self.overlap = max(0, int(config.options.get("overlap", 3600)))
        self.channel_reach = bool(config.options.get("channel_reach", True))
        self.day: str = ""
        self.spent = 0  # units charged on self.day (Pacific)

    @classmethod
    def max_polls_per_day(cls, options: Mapping[str, Any], queries: int = 1) -> int:
        """How many one-page polls of each of `queries` queries fit a day's quota (0: no local limit)."""
        assert isinstance(cls.quota, DailyUnits)
        return cls.quota.polls_per_day({**cls.options, **options}, queries)

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of videos published after the watermark (back to since on a first poll)."""
        key = os.environ.get(self.key_env, "")
        if not key:
            raise AuthError(f"no YouTube API key: set the environment variable {self.key_env}")
        state = sweep.begin(sweep.load(cursor, int(since.timestamp())), self.overlap, self.http.clock())
        self._charge(SEARCH_COST, room=PAGE_COST)  # room for the page's lookups too (charged when made)
        params = {
            "part": "snippet",
            "type": "video",
            "order": "date",
            "q": query,
            "key": key,
            "publishedAfter": _rfc3339(state["floor"]),
            "maxResults": str(self.max_results),
        }
        if state.get("token"):
            params["pageToken"] = state["token"]
        try:
            body = await self._get("search", params)
        except _StaleToken:
            if not state.get("token"):
                raise
            # Page tokens can expire: start the sweep's pages over (`new` drops what came already).
            logger.info("youtube: the stored page token was refused; paging the sweep from its start again")
            return Page([], sweep.dump({k: v for k, v in state.items() if k != "token"}), True)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise BadResponse("the search answer has no items list")
        results = [r for r in map(parse_result, items) if r is not None]
        old, new, floor = state["seen"], state["new"], state["floor"]
        # By id: a page may list one video twice.
        unseen = {m.id: (m, c) for m, c in results if m.id not in old and m.id not in new and _ts(m) >= floor}
        mentions = [m for m, _ in unseen.values()]
        for mention in mentions:
            new[mention.id] = _ts(mention)
        channels = {m.id: c for m, c in unseen.values()}
        cut = {i["id"]["videoId"] for i in items if _cut(i)}
        enrich = functools.partial(self._fill, channels, cut, key)
        if state.get("top") is None and results:
            state["top"] = max(_ts(m) for m, _ in results)
        mark = sweep.mark(state, self.http.clock())
        token = body.get("nextPageToken")
        if not items or not isinstance(token, str) or not token or token == state.get("token"):
            done = sweep.finish(state, mark, self.overlap, self.http.ahead)
            return Page(mentions, sweep.dump(done), False, enrich)
        # Every id of the sweep is kept until it ends: videos published meanwhile shift the pages, so
        # any of them may come again on the next page (a sweep reaches about 500 results at most).
        state["token"] = token
        return Page(mentions, sweep.dump(state), True, enrich)

    async def _fill(
        self, channels: dict[str, str], cut: set[str], key: str, mentions: list[Mention], keep: Keep
    ) -> list[Mention]:
        """The mentions, those the brand filter keeps with counts, language and full text (videos.list)
        and reach (channels.list): one unit a call, paid only when a video of the page is kept. A video
        whose search description was cut is looked up too (the brand may be in the rest of it); its
        channel only if its whole text is kept."""
        wanted = [m for m in mentions if m.id in channels and (keep(m) or m.id in cut)]
        if not wanted:
            return mentions
        self._charge(LOOKUP_COST)
        ids = ",".join(m.id for m in wanted)
        videos = await self._lookup("videos", {"part": "statistics,snippet", "id": ids, "key": key})
        filled = {m.id: enrich(m, videos.get(m.id), None) for m in wanted}
        kept = [m for m in filled.values() if keep(m)]
        channel_ids = sorted({channels[m.id] for m in kept if channels[m.id]})
        if self.channel_reach and channel_ids:
            self._charge(LOOKUP_COST)
            found = await self._lookup("channels", {"part": "statistics", "id": ",".join(channel_ids), "key": key})
            filled.update({m.id: enrich(m, None, found.get(channels[m.id])) for m in kept})
        return [filled.get(m.id, m) for m in mentions]

    async def _lookup(self, resource: str, params: dict[str, str]) -> dict[str, dict[str, Any]]:
        """videos.list or channels.list: the items by id (those missing were deleted or made private)."""
        body = await self._get(resource, {**params, "maxResults": "50"})
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise BadResponse(f"the {resource} answer has no items list")
        return {i["id"]: i for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}

    async def _get(self, resource: str, params: dict[str, str]) -> Any:
        try:
            body, _ = await self.http.get_json(f"{self.url}/{resource}", params=params)
        except SourceError as exc:
            raise self._explain(exc) from None
        return body

    def _charge(self, cost: int, room: int = 0) -> None:
        """Count `cost` units against today's quota, or wait for the reset when they (or `room`, what the
        rest of the page may cost) would pass it."""
        now = self.http.clock()
        day = datetime.fromtimestamp(now, PACIFIC).date().isoformat()
        if day != self.day:
            self.day, self.spent = day, 0
        if self.daily_quota and self.spent + max(cost, room) > self.daily_quota:
            wait = seconds_until_reset(now)
            self.http.block(wait)
            raise RateLimited(
                f"YouTube quota: {self.spent} of {self.daily_quota} units spent today; no search "
                f"until midnight Pacific, in {wait:.0f}s",
                wait,
            )
        self.spent += cost

    def _explain(self, error: SourceError) -> SourceError:
        """The error Google's error body (of a 4xx) means (quota, rate, key, stale token), else Http's own."""
        answer = error.response if isinstance(error, HttpStatusError) and error.status < 500 else None
        reasons = _reasons(answer.json_or_none()) if answer else set()
        if reasons & QUOTA_REASONS:
            wait = seconds_until_reset(self.http.clock())
            self.http.block(wait)
            self.spent = max(self.spent, self.daily_quota)
            return RateLimited(
                f"YouTube quota exceeded for the key in {self.key_env}: paused until midnight Pacific, in {wait:.0f}s",
                wait,
            )
        if reasons & RATE_REASONS:
            self.http.block(DEFAULT_RETRY_AFTER)
            return RateLimited(
                f"YouTube rate limit ({', '.join(sorted(reasons))}): waiting {DEFAULT_RETRY_AFTER:.0f}s",
                DEFAULT_RETRY_AFTER,
            )
        if "invalidPageToken" in reasons:
            return _StaleToken("YouTube refused the page token")
        named = f" ({', '.join(sorted(r for r in reasons if r.isidentifier()))})" if reasons else ""
        if isinstance(error, AuthError) or reasons & KEY_REASONS:
            return AuthError(
                f"YouTube refused the API key in {self.key_env}{named}: check the key, its "
                "restrictions and that the YouTube Data API v3 is enabled for its project"
            )
        if isinstance(error, BadResponse) and named:
            return BadResponse(f"{error}{named}")
        return error


class _StaleToken(BadResponse):
    """YouTube refused a stored page token (invalidPageToken)."""


def seconds_until_reset(now: float) -> float:
    """Seconds from epoch `now` to the next midnight in America/Los_Angeles (YouTube's quota day)."""
    local = datetime.fromtimestamp(now, PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), PACIFIC)
    return max(1.0, midnight.timestamp() - now)


def _reasons(body: Any) -> set[str]:
    """The reasons in a Google error body: error.errors[].reason and error.details[].reason."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    entries = [e for k in ("errors", "details") if isinstance(error.get(k), list) for e in error[k]]
    return {e["reason"] for e in entries if isinstance(e, dict) and isinstance(e.get("reason"), str)}


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(item: Any) -> bool:
    """Whether a search result's description may have been cut (the brand may be in the rest of it)."""
    snippet = item.get("snippet") if isinstance(item, dict) else None
    description = snippet.get("description") if isinstance(snippet, dict) else None
    ident = item.get("id") if isinstance(item, dict) else None
    has_id = isinstance(ident, dict) and isinstance(ident.get("videoId"), str)
    return has_id and isinstance(description, str) and len(description) >= SNIPPET_CUT


def _ts(mention: Mention) -> int:
    return int(mention.created_at.timestamp())


def _count(value: Any) -> int | None:
    """A count YouTube sends as a string of digits (or an int); None when missing or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def parse_result(item: Any) -> tuple[Mention, str] | None:
    """A Mention and its channel id from one search result, or None (logged) when it lacks what one needs."""
    ident = item.get("id") if isinstance(item, dict) else None
    video_id = ident.get("videoId") if isinstance(ident, dict) else None
    snippet = item.get("snippet") if isinstance(item, dict) else None
    label = video_id if isinstance(video_id, str) and video_id else "(no videoId)"
    if not isinstance(video_id, str) or not video_id or not isinstance(snippet, dict):
        logger.info("youtube: skipped search result %s: no video id or snippet", label)
        return None
    try:
        created = to_utc(snippet.get("publishedAt"))
    except ValueError:
        logger.info("youtube: skipped search result %s: unreadable publishedAt", label)
        return None
    # Search snippets are HTML-escaped plain text (&#39;, &amp;): unescape the title only, as a title
    # is never HTML; the description may be cut, videos.list replaces it with the whole text.
    title = html.unescape(snippet["title"]).strip() if isinstance(snippet.get("title"), str) else ""
    text = html_to_text(snippet["description"]) if isinstance(snippet.get("description"), str) else ""
    if not title and not text:
        logger.info("youtube: skipped search result %s: no title or description", label)
        return None
    channel, channel_id = snippet.get("channelTitle"), snippet.get("channelId")
    mention = Mention(
        platform="youtube",
        id=video_id,
        text=text,
        title=title,
        created_at=created,
        author=channel if isinstance(channel, str) else "",
        url=f"https://www.youtube.com/watch?v={video_id}",
    )
    return mention, channel_id if isinstance(channel_id, str) else ""


def enrich(mention: Mention, video: dict[str, Any] | None, channel: dict[str, Any] | None) -> Mention:
    """The mention with what videos.list (plain text, counts, language) and channels.list (reach) add."""
    changes: dict[str, Any] = {}
    snippet = video.get("snippet") if video else None
    if isinstance(snippet, dict):
        if isinstance(snippet.get("title"), str) and snippet["title"].strip():
            changes["title"] = snippet["title"].strip()
        description = snippet.get("description")
        if isinstance(description, str) and (description.strip() or changes.get("title")):
            changes["text"] = description.strip()  # plain text here, not escaped, and not cut
        lang = snippet.get("defaultAudioLanguage") or snippet.get("defaultLanguage")
        if isinstance(lang, str) and lang and lang.lower() not in NO_LANGUAGE:
            changes["lang"] = lang
    stats = video.get("statistics") if video else None
    if isinstance(stats, dict):  # likeCount and commentCount are absent when hidden or disabled
        changes["likes"] = _count(stats.get("likeCount")) or 0
        changes["replies"] = _count(stats.get("commentCount")) or 0
    reach = channel.get("statistics") if channel else None
    if isinstance(reach, dict) and not reach.get("hiddenSubscriberCount"):
        changes["author_followers"] = _count(reach.get("subscriberCount"))
    return dataclasses.replace(mention, **changes)
