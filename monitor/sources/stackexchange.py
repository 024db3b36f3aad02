"""Stack Exchange /2.3/search/excerpts: questions and answers on one site that match a query, newest first."""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources import sweep
from monitor.sources.answers import DEFAULT_RETRY_AFTER
from monitor.sources.base import AuthError, BadResponse, Page, RateLimited, TransientError
from monitor.sources.quota import DailyRequests, Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
DAY = 86400
# Sites whose domain is not {site}.stackexchange.com (the rest are; a site given as a domain is used as is).
DOMAINS = {
    "stackoverflow": "stackoverflow.com",
    "serverfault": "serverfault.com",
    "superuser": "superuser.com",
    "askubuntu": "askubuntu.com",
    "stackapps": "stackapps.com",
    "mathoverflow": "mathoverflow.net",
}
AUTH_ERRORS = {401, 402, 403, 405, 406}  # access_token_required/invalid, access_denied, key_required, compromised
_AVAILABLE_IN = re.compile(r"available in (\d+) seconds")


class StackExchange:
    """Questions and answers on one Stack Exchange site (`site`) that match a query.

    Between polls the cursor holds the watermark `mark` (the newest creation_date fetched) and
    `seen`, the ids fetched within `overlap` seconds below it. A poll is a sweep, newest first
    (sort=creation), from mark - overlap, or the previous sweep's start less the overlap when later
    (`fromdate`; sweep.low_water); each next request ends its window (`todate`)
    at the oldest second of the page before and asks for page 1 again, so new posts never shift
    offsets; only a page whose posts all share one second pages on by number. Every page's cursor
    says where to go on, so a restart resumes mid-sweep. Rate limits live in the body: `backoff`
    (seconds before this method may be called again) and `quota_remaining` (0: nothing until the
    quota resets at the next UTC midnight) block the Http; `throttle_violation` (HTTP 400 or 502)
    raises RateLimited. The key (optional: 300 requests a day without, 10,000 with) must go in the
    query string, the only place the API reads it; Http's messages never show the query string.
    """

    name: ClassVar[str] = "stackexchange"
    base_url: ClassVar[str] = "https://api.stackexchange.com/2.3/"
    interval: ClassVar[timedelta] = timedelta(minutes=15)  # 96 requests a day per query: within 300 without a key
    options: ClassVar[dict[str, Any]] = {
        "site": "stackoverflow",
        "site_domain": "",  # the site's web domain for permalinks; "" derives it from site
        "key_env": "STACKEXCHANGE_KEY",
        "page_size": 100,
        "overlap": 600,
        "filter": "",  # a custom filter (e.g. one adding owner); "" is the default
    }
    quota: ClassVar[Quota | None] = DailyRequests(300, "Stack Exchange", keyed_per_day=10_000, key_option="key_env")
    without_credentials: ClassVar[str] = "the quota is 300 requests a day instead of 10,000"

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.url = config.base_url.rstrip("/") + "/search/excerpts"
        self.site = str(config.options.get("site", "stackoverflow")).strip()
        domain = str(config.options.get("site_domain", "")).strip()
        self.domain = domain or site_domain(self.site)
        self.key_env = str(config.options.get("key_env", "STACKEXCHANGE_KEY"))
        self.page_size = max(1, min(100, int(config.options.get("page_size", 100))))
        self.overlap = max(0, int(config.options.get("overlap", 600)))
        self.filter = str(config.options.get("filter", "")).strip()

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """One page of posts newer than the cursor's watermark (back to since on a first poll)."""
        state = sweep.begin(sweep.load(cursor, int(since.timestamp())), self.overlap, self.http.clock())
        upper: int | None = state.get("upper")
        page: int = state.get("page", 1)
        params = {
            "q": query,
            "site": self.site,
            "sort": "creation",
            "order": "desc",
            "fromdate": str(state["floor"]),
            "pagesize": str(self.page_size),
            "page": str(page),
        }
        if upper is not None:
            params["todate"] = str(upper)
        if self.filter:
            params["filter"] = self.filter
        key = os.environ.get(self.key_env, "")
        if key:
            params["key"] = key
        body = await self._get(params, bool(key))
        items: list[Any] = body["items"]
        parsed = [p for p in (parse_item(i, self.domain) for i in items) if p is not None]
        mentions, stamps = sweep.take(state, parsed)
        mark = sweep.mark(state, self.http.clock())
        if not stamps or body.get("has_more") is not True:
            return Page(mentions, sweep.dump(sweep.finish(state, mark, self.overlap, self.http.ahead)), False)
        low = min(stamps)
        if upper is None or low < upper:
            state["upper"], state["page"] = low, 1  # go on below this page's oldest second
        else:
            state["page"] = page + 1  # a whole page within one second: by number within it
        edge = state["upper"]
        state["new"] = {k: v for k, v in state["new"].items() if v == edge or v >= mark - self.overlap}
        return Page(mentions, sweep.dump(state), True)

    async def _get(self, params: dict[str, str], keyed: bool) -> dict[str, Any]:
        """The answer's wrapper, after reading its error object and its backoff and quota fields."""
        readable = (*range(400, 500), 502)  # errors come as a JSON object, mostly with HTTP 400
        response = await self.http.request("GET", self.url, params=params, readable=readable)
        status, body = response.status, response.json_or_none()
        if not isinstance(body, dict):
            if status >= 400:  # an HTML page from a proxy in front of the API
                self._error({}, status, keyed)
            raise BadResponse(f"HTTP {status}: the Stack Exchange API's answer is not a JSON object")
        if "error_id" in body or "error_name" in body or status >= 400:
            self._error(body, status, keyed)
        self._limits(body)
        if not isinstance(body.get("items"), list):
            raise BadResponse("the answer has no items list")
        return body

    def _error(self, body: Mapping[str, Any], status: int, keyed: bool) -> None:
        """Raise what an error object (or an error status without one) means."""
        error_id, name, message = body.get("error_id"), body.get("error_name"), body.get("error_message")
        name = name if isinstance(name, str) and name.isidentifier() else "unknown"
        message = message if isinstance(message, str) else ""
        if name == "throttle_violation" or status == 429:
            found = _AVAILABLE_IN.search(message)
            seconds = float(found[1]) if found else DEFAULT_RETRY_AFTER
            self.http.block(seconds)
            raise RateLimited(f"Stack Exchange {name} (HTTP {status}): waiting {seconds:.0f}s", seconds)
        if error_id in AUTH_ERRORS or status in (401, 403) or (name == "bad_parameter" and message.strip() == "key"):
            check = f"check the key in {self.key_env}" if keyed else f"set a key in {self.key_env}"
            raise AuthError(f"Stack Exchange refused the request ({name}): {check}")
        if isinstance(error_id, int) and error_id >= 500:
            raise TransientError(f"Stack Exchange error {name} (HTTP {status})")
        raise BadResponse(f"Stack Exchange error {name} (HTTP {status})")

    def _limits(self, body: Mapping[str, Any]) -> None:
        """Block the Http as the body asks: `backoff` seconds, or until the daily quota resets."""
        backoff = body.get("backoff")
        if isinstance(backoff, int | float) and not isinstance(backoff, bool) and backoff > 0:
            logger.info("stackexchange: asked to back off for %ss", backoff)
            self.http.block(float(backoff))
        remaining = body.get("quota_remaining")
        if isinstance(remaining, int) and not isinstance(remaining, bool) and remaining <= 0:
            now = self.http.clock()
            until_midnight = DAY - now % DAY
            logger.warning("stackexchange: daily quota used up: no request for %.0fs (next UTC day)", until_midnight)
            self.http.block(until_midnight)


def site_domain(site: str) -> str:
    """The web domain of a site given by its API name (stackoverflow, unix) or by its domain."""
    return site if "." in site else DOMAINS.get(site, f"{site}.stackexchange.com")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_item(item: Any, domain: str = "stackoverflow.com") -> Mention | None:
    """A Mention from one search excerpt (question or answer), or None (logged) when it lacks what one needs."""
    if not isinstance(item, dict):
        logger.debug("stackexchange: skipped an item that is not an object")
        return None
    kind, created = item.get("item_type"), _int(item.get("creation_date"))
    number = _int(item.get("question_id" if kind == "question" else "answer_id"))
    if kind not in ("question", "answer") or number is None or created is None:
        logger.debug("stackexchange: skipped an item without type, id or date (question %r)", item.get("question_id"))
        return None
    # An answer's `title` is its question's: not the answer's text (as HN does with a comment's story).
    title = html.unescape(item["title"]).strip() if kind == "question" and isinstance(item.get("title"), str) else ""
    body = next((item[k] for k in ("body", "excerpt") if isinstance(item.get(k), str) and item[k].strip()), "")
    text = html_to_text(body)
    prefix = kind[0]
    if not title and not text:
        logger.debug("stackexchange: skipped %s%d: no title or text", prefix, number)
        return None
    owner = item.get("owner")
    name = owner.get("display_name") if isinstance(owner, dict) else None
    try:
        when = to_utc(created)  # ValueError for a time no calendar holds (a broken or hostile item)
    except ValueError:
        return None
    return Mention(
        platform="stackexchange",
        id=f"{prefix}{number}",
        text=text,
        title=title,
        created_at=when,
        author=html.unescape(name) if isinstance(name, str) else "",
        url=f"https://{domain}/{prefix}/{number}",
        likes=_int(item.get("score")) or 0,
        replies=max(0, _int(item.get("answer_count")) or 0),
    )
