"""RSS and Atom feeds, parsed with feedparser; by default the Google News search feed of the query."""

from __future__ import annotations

import calendar
import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urljoin

from monitor.config import SourceConfig
from monitor.mention import Mention, html_to_text, to_utc
from monitor.sources import sweep
from monitor.sources.answers import safe_url
from monitor.sources.base import BadResponse, Page
from monitor.sources.quota import Quota

if TYPE_CHECKING:
    from monitor.sources.http import Http

logger = logging.getLogger(__name__)
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


class Rss:
    """Entries of one feed per query: `url` with {query} replaced by the URL-encoded query.

    A feed has no paging and no since-parameter: every poll is one conditional GET of the whole feed
    (If-None-Match / If-Modified-Since from the ETag and Last-Modified the cursor kept; a 304 is an
    empty page). An entry is identified by its guid (RSS) or id (Atom), else its link. Between polls
    the cursor holds the watermark `mark` (the newest entry date seen, never past the clock) and
    `seen`, the ids dated within `overlap` seconds below it: an entry counts when its id is not in
    `seen` and it is dated at or after mark - overlap, so entries a feed adds late (Google News
    indexes stories hours after their pubDate, and orders by relevance) are still found, while old
    entries that drift back into a feed are not taken again. An entry with no date at all is dated
    by the fetch, does not move the watermark, and stays in `seen` while the feed still holds it.
    The cursor also keeps the last ETag and Last-Modified.
    """

    name: ClassVar[str] = "rss"
    base_url: ClassVar[str] = "https://news.google.com/"
    interval: ClassVar[timedelta] = timedelta(minutes=15)
    # url is resolved against base_url: a relative one (the default) follows base_url, an absolute
    # one (any other feed) stands alone.
    options: ClassVar[dict[str, Any]] = {
        "url": "rss/search?q={query}&hl=en-US&gl=US&ceid=US:en",
        "overlap": 86400,
    }
    quota: ClassVar[Quota | None] = None
    without_credentials: ClassVar[str] = ""

    def __init__(self, config: SourceConfig, http: Http) -> None:
        self.config = config
        self.http = http
        self.template = urljoin(config.base_url.rstrip("/") + "/", str(config.options.get("url", self.options["url"])))
        self.overlap = float(max(0, int(config.options.get("overlap", 86400))))

    def feed_url(self, query: str) -> str:
        """The feed URL for a query."""
        return self.template.replace("{query}", quote(query, safe=""))

    async def search(self, query: str, cursor: str | None, since: datetime) -> Page:
        """The feed's entries not fetched before (back to since on a first poll)."""
        state = sweep.load(cursor, since.timestamp(), sweep.is_number)
        url = self.feed_url(query)
        headers = {"Accept": ACCEPT}
        for key, header in (("etag", "If-None-Match"), ("modified", "If-Modified-Since")):
            if isinstance(state.get(key), str) and state[key]:
                headers[header] = state[key]
        response = await self.http.request("GET", url, headers=headers)
        response_headers = response.headers
        if response.status == 304:
            return Page([], sweep.dump({k: v for k, v in state.items() if k != "floor"}), False)
        if response.status != 200:
            raise BadResponse(f"HTTP {response.status} from {response.where}")
        import asyncio  # here: `monitor check` reads the sources' options without loading asyncio

        feed = await asyncio.to_thread(parse_feed, response.body, response_headers, url)
        now = self.http.clock()
        seen: dict[str, float] = state["seen"]
        floor = state["floor"] if cursor is None else state["mark"] - self.overlap
        top = state["mark"]
        mentions, undated = [], set()
        for entry in feed.get("entries", []):
            mention = parse_entry(entry, feed.get("feed", {}), now)
            if isinstance(mention, str):
                logger.info("rss: skipped an entry of %s: %s", safe_url(url), mention)
                continue
            dated = _stamp(entry) is not None
            if not dated:
                undated.add(mention.id)
            created = mention.created_at.timestamp()
            if mention.id in seen or created < floor:
                continue
            mentions.append(mention)
            seen[mention.id] = created
            if dated:  # an undated entry does not move the watermark; nor does a date past now
                top = max(top, min(created, now))
        # Undated entries are remembered while the feed holds them: no date keeps them out otherwise.
        kept = {k: v for k, v in seen.items() if v >= top - self.overlap or k in undated}
        return Page(mentions, sweep.dump({"mark": top, "seen": kept, **_validators(response_headers)}), False)


def _validators(headers: Any) -> dict[str, str]:
    """The response's ETag and Last-Modified, for the next conditional GET."""
    kept = {"etag": headers.get("ETag"), "modified": headers.get("Last-Modified")}
    return {k: v for k, v in kept.items() if isinstance(v, str) and v}


def _char_ref(match: re.Match[bytes]) -> bytes:
    """A character reference as it is, or U+FFFD's when no character may stand there (NUL, a surrogate,
    past U+10FFFF): feedparser's loose parser turns those into a str it cannot encode and raises,
    which cost the whole feed, every poll, for one entry."""
    hexa, decimal = match.groups()
    if len(hexa or decimal) > 8:  # past U+10FFFF whatever the digits (and never a number too long to read)
        return b"&#xFFFD;"
    code = int(hexa, 16) if hexa else int(decimal)
    return b"&#xFFFD;" if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else match[0]


def parse_feed(body: bytes, headers: Any, url: str) -> Any:
    """feedparser's result for a body; BadResponse when it is not a feed (an HTML page, JSON)."""
    import feedparser  # type: ignore[import-untyped, unused-ignore]  # here: 15 ms that `monitor check` needs not

    response_headers = {"content-location": url, **{k.lower(): v for k, v in headers.items()}}
    try:
        feed = feedparser.parse(_CHAR_REF.sub(_char_ref, body), response_headers=response_headers)
    except (ValueError, UnicodeError, OverflowError) as exc:  # a feedparser bug on input no feed should hold
        raise BadResponse(f"response from {safe_url(url)} could not be parsed ({type(exc).__name__})") from None
    if not feed.get("version") and not feed.get("entries"):
        raise BadResponse(f"response from {safe_url(url)} is not an RSS or Atom feed")
    if feed.get("bozo"):
        # feedparser's loose parser still reads most broken feeds: keep what it found.
        logger.debug("rss: %s is not well-formed: %s", safe_url(url), type(feed.get("bozo_exception")).__name__)
    return feed


def _text(detail: Any, fallback: Any = "") -> str:
    """Plain text from a feedparser text construct: HTML turned into text, plain text kept as it is."""
    if isinstance(detail, dict) and isinstance(detail.get("value"), str):
        value, kind = detail["value"], detail.get("type")
    elif isinstance(fallback, str):
        value, kind = fallback, "text/html"
    else:
        return ""
    text = html_to_text(value) if kind in HTML_TYPES else value
    # split() also takes the no-break spaces &nbsp; leaves (Google News puts two before the publisher).
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _lang(entry: Any, feed: Any) -> str | None:
    """The primary language subtag (xml:lang of the entry, else the feed's language), lowercased."""
    details = [entry.get(k) for k in ("title_detail", "summary_detail")] + list(entry.get("content") or [])
    tags = [d.get("language") for d in details if isinstance(d, dict)] + [feed.get("language")]
    tag = next((t for t in tags if isinstance(t, str) and t.strip()), None)
    return tag.strip().split("-")[0].lower() if tag else None


def _stamp(entry: Any) -> Any:
    """feedparser's UTC struct_time of the entry's publication (RSS pubDate, Atom published or updated)."""
    # dict.get: feedparser's own get maps a missing `updated` to `published`, with a DeprecationWarning.
    return dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")


def parse_entry(entry: Any, feed: Any, now: float) -> Mention | str:
    """A Mention from one feedparser entry (dated by the fetch when it has no date), or why it has none."""
    if not isinstance(entry, dict):
        return "not an entry"
    ident = next((entry[k].strip() for k in ("id", "link") if isinstance(entry.get(k), str) and entry[k].strip()), "")
    if not ident:
        title = entry.get("title")
        return "no guid, id or link" + (f" (title {title[:80]!r})" if isinstance(title, str) and title else "")
    stamp = _stamp(entry)
    if stamp is None and (dict.get(entry, "published") or dict.get(entry, "updated")):
        return f"{ident}: unreadable date"
    try:
        created = to_utc(calendar.timegm(stamp)) if stamp is not None else to_utc(now)
    except (TypeError, ValueError, OverflowError, OSError):
        return f"{ident}: unreadable date"
    source = entry.get("source")
    publisher = source.get("title") if isinstance(source, dict) else None
    publisher = publisher.strip() if isinstance(publisher, str) else ""
    title = _text(entry.get("title_detail"), entry.get("title"))
    if publisher and title.endswith(f" - {publisher}"):
        title = title[: -len(publisher) - 3].rstrip()  # Google News: "Headline - Publisher"
    content = entry.get("content")
    body = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else None
    text = _text(body or entry.get("summary_detail"), entry.get("summary"))
    if publisher:  # Google News' description repeats the headline and publisher (then related coverage)
        text = "\n".join(line for line in text.split("\n") if line not in (title, f"{title} {publisher}"))
    if not title and not text:
        return f"{ident}: no title or text"
    author, link = entry.get("author"), entry.get("link")
    return Mention(
        platform="rss",
        id=ident,
        text=text,
        title=title,
        created_at=created,
        # Google News names no author: the publisher (its <source>) is who said it.
        author=author.strip() if isinstance(author, str) and author.strip() else publisher,
        url=link if isinstance(link, str) else "",
        lang=_lang(entry, feed),
    )
