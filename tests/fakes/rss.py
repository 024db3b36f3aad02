"""A fake Google News search feed (and any static feed) with ETag / Last-Modified conditional GET."""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rss"
REACH = 100  # Google News answers a search with at most about this many items, and no paging


def recorded(name: str) -> bytes:
    """A recorded-shape feed (or error page) from tests/fixtures/rss/."""
    return (FIXTURES / name).read_bytes()


@dataclass
class Item:
    """One Google News search result."""

    guid: str
    title: str  # the headline; the feed shows "Headline - Publisher"
    published: float  # epoch seconds
    publisher: str = "Example News"
    publisher_url: str = "https://news.example.com"
    raw: str = ""  # XML put in the title as it is, unescaped (a character reference a broken feed holds)

    def xml(self) -> str:
        link = f"https://news.google.com/rss/articles/{self.guid}?oc=5"
        description = (f'<a href="{link}" target="_blank">{escape(self.title)}</a>&nbsp;&nbsp;'
                       f'<font color="#6f6f6f">{escape(self.publisher)}</font>')  # fmt: skip
        title = f"{escape(self.title)}{self.raw} - {escape(self.publisher)}"
        return (f"<item><title>{title}</title><link>{escape(link)}</link>"
                f'<guid isPermaLink="false">{escape(self.guid)}</guid>'
                f"<pubDate>{email.utils.formatdate(self.published, usegmt=True)}</pubDate>"
                f"<description>{escape(description)}</description>"
                f"<source url={quoteattr(self.publisher_url)}>{escape(self.publisher)}</source></item>")  # fmt: skip


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


class FakeFeeds(FakeServer):
    """GET /rss/search?q=&hl=&gl=&ceid= (Google News) and GET /feeds/{name} (static feeds).

    The search feed holds the `items` whose headline has every query word, in the order of `.items`
    (Google orders by relevance, not date), at most REACH of them; `document` replaces it with a fixed
    recorded feed. Every 200 carries an ETag and a Last-Modified; a request whose If-None-Match matches
    (or, without one, whose If-Modified-Since is not older) gets a 304. `conditional = False` makes
    the server ignore validators and send none. `.served` lists the guids of every 200 answer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Item] = []
        self.document: bytes | None = None
        self.feeds: dict[str, tuple[bytes, str]] = {}
        self.conditional = True
        self.modified = "Tue, 24 Nov 2026 15:02:11 GMT"
        self.served: list[list[str]] = []
        self.not_modified = 0
        self.app = web.Application()
        self.app.router.add_get("/rss/search", self.search)
        self.app.router.add_get("/feeds/{name}", self.feed)

    def add(self, guid: str, title: str, published: float, **fields: str) -> Item:
        """Add a search result."""
        item = Item(guid, title, published, **fields)
        self.items.append(item)
        return item

    def answer_next(self, body: bytes | str, status: int = 200, content_type: str = "text/html",
                    headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """Answer the next request with this body instead of the feed."""
        text = body.decode() if isinstance(body, bytes) else body
        self.fail_next(status, body=text, headers=headers, content_type=content_type)

    def throttle(self) -> None:
        """Google's "unusual traffic" page with HTTP 429 (no Retry-After)."""
        self.answer_next(recorded("rate_limited.html"), status=429)

    def served_ids(self) -> list[str]:
        """Every guid answered so far, in order."""
        return [i for ids in self.served for i in ids]

    def render(self, query: str) -> tuple[bytes, list[str]]:
        """The Google News RSS document for a query, and the guids it holds."""
        words = query.replace('"', " ").lower().split()
        hits = [i for i in self.items if all(w in i.title.lower() for w in words)][:REACH]
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
                'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>'
                f"<title>{escape(query)} - Google News</title><link>https://news.google.com/search</link>"
                "<language>en-US</language><webMaster>news-webmaster@google.com</webMaster>"
                f"<lastBuildDate>{self.modified}</lastBuildDate><description>Google News</description>"
                + "".join(i.xml() for i in hits) + "</channel></rss>").encode(), [i.guid for i in hits]  # fmt: skip

    def answer(self, request: web.Request, body: bytes, content_type: str, guids: list[str]) -> web.Response:
        """The body with validators, or a 304 when the request's validators still hold."""
        if not self.conditional:
            self.served.append(guids)
            return web.Response(body=body, content_type=content_type, charset="utf-8")
        etag = _etag(body)
        match = request.headers.get("If-None-Match")
        since = request.headers.get("If-Modified-Since")
        if (match is not None and match == etag) or (match is None and since == self.modified):
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": etag})
        self.served.append(guids)
        headers = {"ETag": etag, "Last-Modified": self.modified}
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)

    async def search(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        if self.document is not None:
            return self.answer(request, self.document, "application/xml", ["(document)"])
        body, guids = self.render(request.query.get("q", ""))
        return self.answer(request, body, "application/rss+xml", guids)

    async def feed(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            return failure
        name = request.match_info["name"]
        if name not in self.feeds:
            return web.Response(status=404, text="<html><body>Not Found</body></html>", content_type="text/html")
        body, content_type = self.feeds[name]
        return self.answer(request, body, content_type, [name])


@pytest.fixture
async def fake_rss(aiohttp_server: ServerFactory) -> AsyncIterator[FakeFeeds]:
    """A running fake feed server; .url is its base URL for config (ends in /)."""
    fake = FakeFeeds()
    yield await serve(fake, fake.app, aiohttp_server, "/")
