"""NewsAPI.org /v2/everything: news articles that match a query, newest first (sortBy=publishedAt)."""

from __future__ import annotations

import html
import logging
import os
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources import sweep
from monitor.sources.answers import retry_after_seconds, safe_url
from monitor.sources.base import AuthError, BadResponse, Page, RateLimited
from monitor.sources.quota import DailyRequests, Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
AUTH_CODES = {"apiKeyInvalid", "apiKeyMissing", "apiKeyDisabled"}
QUOTA_CODES = {"rateLimited", "apiKeyExhausted"}
_CUT = re.compile(r"\s*\[\+\d+ chars\]\s*$")  # content is cut at 200 characters: "... [+2345 chars]"
_FAR_BACK = re.compile(r"as far back as (\d{4}-\d{2}-\d{2})")  # parameterInvalid: the plan's earliest day


class NewsApi:
    """Articles that match a query, from the 150,000 sources NewsAPI indexes.

    Between polls the cursor holds the watermark `mark` (the newest publishedAt fetched) and `seen`,
    the article urls fetched within `overlap` seconds below it (NewsAPI indexes late; on the free
    plan articles appear a day after they are published). A poll is a sweep, newest first, from
    mark - overlap, or the previous sweep's start less `delay` and the overlap when that is later
    (`from`; sweep.low_water; `delay` is a day, for the free plan: 0 suits a paid one); each next
    request ends its window (`to`) at the oldest second of the
    page before and asks for page 1 again, so new articles never shift offsets and the free plan's
    100-result cap (maximumResultsReached) is never hit by paging. Only a page whose articles all
    share one second pages on by number; should that run into the cap, the window goes on below
    that second. The cursor of every page says where to go on, so a restart resumes mid-sweep.
    NewsAPI sends its errors as {"status": "error", "code": ...} with HTTP 200 or 4xx; the key goes
    in the X-Api-Key header, never in the URL.

    A plan searches only so far back (the free one: a month). A sweep never starts further back
    than `reach` seconds (27 days: within the shortest month; 0 for no limit), so a backfill or a
    pause longer than that starts at the plan's edge; should the plan refuse a start anyway
    (parameterInvalid, "as far back as DAY"), the sweep starts again the day after DAY.
    """

    name: ClassVar[str] = "newsapi"
    base_url: ClassVar[str] = "https://newsapi.org/v2/"
    interval: ClassVar[timedelta] = timedelta(minutes=30)  # the free plan allows 100 requests a day
    options: ClassVar[dict[str, Any]] = {
        "key_env": "NEWSAPI_KEY",
        "page_size": 100,
        "overlap": 3600,
        "delay": 86400,  # articles show up to delay + overlap after publication (the free plan: a day late)
        "language": "",  # an ISO 639-1 code to search in (and to give the mentions), or "" for all
        "rate_limit_wait": 3600.0,  # seconds to wait after rateLimited when no Retry-After comes with it
        "reach": 27 * 86400,  # seconds back a search may start (the free plan: a month); 0: no limit
    }
    quota: ClassVar[Quota | None] = DailyRequests(100, "NewsAPI's free plan", advice=" unless your plan allows more")
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/everything"
        self.key_env = str(config.options.get("key_env", "NEWSAPI_KEY"))
        self.page_size = max(1, min(100, int(config.options.get("page_size", 100))))
        self.overlap = max(0, int(config.options.get("overlap", 3600)))
        self.delay = max(0, int(config.options.get("delay", 86400)))
        self.language = str(config.options.get("language", "")).strip().lower()
        self.rate_limit_wait = max(1.0, float(config.options.get("rate_limit_wait", 3600.0)))
        self.reach = max(0, int(config.options.get("reach", 27 * 86400)))

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of articles newer than the cursor's watermark (back to since on a first poll)."""
        key = os.environ.get(self.key_env, "")
        if not key:
            raise AuthError(f"NewsAPI needs an API key: set {self.key_env}")
        now = self.http.clock()
        edge = int(now - self.reach) + 1 if self.reach else None
        state = sweep.load(cursor, int(since.timestamp()) if edge is None else max(int(since.timestamp()), edge))
        starting = "new" not in state
        state = sweep.begin(state, self.overlap, now, delay=self.delay)
        if starting and edge is not None and state["floor"] < edge:  # a new sweep only: never mid-way
            state["floor"] = edge
        upper: int | None = state.get("upper")
        page: int = state.get("page", 1)
        params = {
            "q": query,
            "sortBy": "publishedAt",
            "pageSize": str(self.page_size),
            "page": str(page),
            "from": _iso(state["floor"]),
        }
        if upper is not None:
            params["to"] = _iso(upper)
        if self.language:
            params["language"] = self.language
        try:
            body = await self._get(params, key)
        except _TooFarBack as refused:
            if refused.earliest <= state["floor"]:
                raise
            logger.info("newsapi: the plan searches back to %s only: the sweep starts there", _iso(refused.earliest))
            state.update(floor=refused.earliest, page=1)
            state.pop("upper", None)
            return Page([], sweep.dump(state), True)
        if body is None:  # maximumResultsReached: no more by page number here
            if upper is None or page == 1:
                return self._finish(state, [])
            logger.info("newsapi: more than %d articles at %s: going on below that second", self.page_size, _iso(upper))
            state.update(upper=upper - 1, page=1)
            return Page([], sweep.dump(state), True)
        articles: list[Any] = body["articles"]
        parsed = [p for p in (parse_article(a, self.language) for a in articles) if p is not None]
        mentions, stamps = sweep.take(state, parsed)
        total = body.get("totalResults")
        ended = isinstance(total, int) and not isinstance(total, bool) and page * self.page_size >= total
        if not stamps or len(articles) < self.page_size or ended:
            return self._finish(state, mentions)
        low = min(stamps)
        if upper is None or low < upper:
            state["upper"], state["page"] = low, 1  # go on below this page's oldest second
        else:
            state["page"] = page + 1  # a whole page within one second: by number within it
        mark = sweep.mark(state, self.http.clock())
        edge = state["upper"]
        state["new"] = {k: v for k, v in state["new"].items() if v == edge or v >= mark - self.overlap}
        return Page(mentions, sweep.dump(state), True)

    def _finish(self, state: dict[str, Any], mentions: list[Mention]) -> Page:
        """The sweep's last page: the watermark moves to the newest article of its first page."""
        mark = sweep.mark(state, self.http.clock())
        done = sweep.finish(state, mark, self.overlap, self.http.ahead, self.delay)
        return Page(mentions, sweep.dump(done), False)

    async def _get(self, params: dict[str, str], key: str) -> dict[str, Any] | None:
        """The answer, after reading NewsAPI's error bodies; None when maximumResultsReached."""
        response = await self.http.request(
            "GET", self.url, params=params, headers={"X-Api-Key": key}, readable=(400, 401, 403, 426, 429)
        )
        status, headers, where = response.status, response.headers, response.where
        body = response.json_or_none()
        if not isinstance(body, dict):
            if status in (401, 403):
                raise AuthError(f"NewsAPI refused the API key in {self.key_env} (HTTP {status})")
            raise BadResponse(f"HTTP {status} from {where}: the answer is not a JSON object")
        raw = body.get("code")
        code = raw if isinstance(raw, str) and raw.isidentifier() else "unknown"  # never echo the message
        if body.get("status") == "error" or status >= 400:
            if code == "maximumResultsReached":
                return None
            far_back = _FAR_BACK.search(str(body.get("message") or "")) if code == "parameterInvalid" else None
            if far_back:
                # The day after the plan's first day: its edge moves on while the sweep pages.
                day = datetime.strptime(far_back[1], "%Y-%m-%d").replace(tzinfo=UTC)
                raise _TooFarBack(
                    f"NewsAPI: the plan searches back to {far_back[1]} only", int(day.timestamp()) + 86400
                )
            if code in AUTH_CODES or status in (401, 403):
                raise AuthError(f"NewsAPI refused the API key in {self.key_env} ({code})")
            if code in QUOTA_CODES or status == 429:
                seconds = self.rate_limit_wait
                if "Retry-After" in headers:
                    seconds = retry_after_seconds(headers["Retry-After"], self.http.clock(), seconds)
                self.http.block(seconds)
                raise RateLimited(f"NewsAPI: {code} (HTTP {status}): waiting {seconds:.0f}s", seconds)
            raise BadResponse(f"NewsAPI error {code} (HTTP {status})")
        if body.get("status") != "ok" or not isinstance(body.get("articles"), list):
            raise BadResponse(f"HTTP {status} from {where}: the answer has no articles list")
        return body


class _TooFarBack(BadResponse):
    """The plan refused a start that far back; `earliest` is where it allows one."""

    def __init__(self, message: str, earliest: int) -> None:
        super().__init__(message)
        self.earliest = earliest


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: Any) -> str:
    return html_to_text(value) if isinstance(value, str) else ""


def parse_article(article: Any, lang: str = "") -> Mention | None:
    """A Mention from one article, or None (logged) when it lacks what a mention needs."""
    if not isinstance(article, dict):
        logger.debug("newsapi: skipped an article that is not an object")
        return None
    url, title, published = article.get("url"), article.get("title"), article.get("publishedAt")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        logger.debug("newsapi: skipped an article without a url")
        return None
    try:
        created = to_utc(published) if isinstance(published, str) else None
    except ValueError:
        created = None
    # Titles are plain text that may hold entities: unescape only.
    title = html.unescape(title).strip() if isinstance(title, str) else ""
    if created is None or title == "[Removed]":  # what NewsAPI shows of an article taken down
        logger.debug("newsapi: skipped %s: no readable publishedAt, or removed", safe_url(url))
        return None
    description = _text(article.get("description"))
    content = _text(_CUT.sub("", article["content"]) if isinstance(article.get("content"), str) else None)
    if not description or not content:
        text = description or content
    elif content.rstrip("….").startswith(description[:60]) or description.startswith(content.rstrip("….")):
        text = max(description, content, key=len)  # the content repeats the description
    else:
        text = f"{description}\n{content}"
    if not title and not text:
        logger.debug("newsapi: skipped %s: no title or text", safe_url(url))
        return None
    source = article.get("source")
    outlet = source.get("name") if isinstance(source, dict) else None
    author = article.get("author")
    author = author.strip() if isinstance(author, str) and author.strip() else outlet if isinstance(outlet, str) else ""
    return Mention(
        platform="newsapi",
        id=url,
        text=text,
        title=title,
        created_at=created,
        author=author,
        url=url,
        lang=lang or None,
    )
