"""A fake GDELT DOC 2.0 API (mode=artlist): a time window, newest first, at most one request per 5 s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gdelt"
REFUSAL = "Please limit requests to one every 5 seconds or contact kalev.leetaru5@gmail.com for larger queries."
STAMP = "%Y%m%d%H%M%S"
REACH = 90 * 86400  # how far back the DOC API searches


def recorded(name: str = "artlist.json") -> dict[str, Any]:
    """A recorded-shape answer from tests/fixtures/gdelt/ (read leniently: GDELT's may hold control characters)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(), strict=False)
    return data


def recorded_text(name: str) -> str:
    """A recorded answer as GDELT sends it (text, possibly not JSON)."""
    return (FIXTURES / name).read_text()


def seendate(epoch: float) -> str:
    """GDELT's compact UTC form, 20261124T151500Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def _epoch(seen: Any) -> float | None:
    try:
        return datetime.strptime(str(seen), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _param(value: str | None) -> float | None:
    return datetime.strptime(value, STAMP).replace(tzinfo=UTC).timestamp() if value else None


class FakeGdelt(FakeServer):
    """GET /api/v2/doc/doc: query words in the title, startdatetime/enddatetime (inclusive), maxrecords.

    Tests add articles (`add_article`, or append to `.articles`); `.served` records the urls each
    answer carried. With `clock` set, a request less than `gap` seconds after the one before is
    refused as GDELT does, in plain text (`refusal_status` 429 or 200), and so is a start more than
    three months back. `answer_next` scripts a whole
    answer (text or JSON), `fail_next` a failure.
    """

    def __init__(self) -> None:
        super().__init__()
        self.articles: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.clock: Callable[[], float] | None = None
        self.gap = 5.0
        self.refusal_status = 429
        self.last_request: float | None = None
        self.refused = 0
        self.end_exclusive = False  # GDELT does not document whether enddatetime is inclusive
        self.app = web.Application()
        self.app.router.add_get("/api/v2/doc/doc", self.doc)

    def add_article(self, url: str, seen: float, title: str, **fields: Any) -> dict[str, Any]:
        """Add an article seen at epoch `seen` (any field can be given or overridden by keyword)."""
        domain = url.split("/")[2] if url.count("/") >= 2 else ""
        article = {"url": url, "url_mobile": "", "title": title, "seendate": seendate(seen), "socialimage": "",
                   "domain": domain.removeprefix("www."), "language": "English", "sourcecountry": "United States",
                   **fields}  # fmt: skip
        self.articles.append(article)
        return article

    def answer_next(self, data: Any, status: int = 200) -> None:
        """Answer the next request with this body (a str is sent as it is, as text/html like GDELT's errors)."""
        if isinstance(data, str):
            self.fail_next(status, body=data, content_type="text/html")
        else:
            self.fail_next(status, body=json.dumps(data))

    def throttle(self, status: int = 429) -> None:
        """GDELT's refusal: plain text, with HTTP 429 or 200."""
        self.answer_next(REFUSAL, status=status)

    def served_urls(self) -> list[str]:
        """Every url answered so far, in order (repeats mean something was fetched twice)."""
        return [u for urls in self.served for u in urls]

    async def doc(self, request: web.Request) -> web.Response:
        """The artlist answer: {"articles": [...]}, or {} when nothing matches."""
        failure = await self.record(request)  # first: the request arrives once its latency has passed
        now = self.clock() if self.clock else None
        too_soon = now is not None and self.last_request is not None and now - self.last_request < self.gap
        if now is not None:
            self.last_request = now
        if too_soon:
            self.refused += 1
            return web.Response(status=self.refusal_status, text=REFUSAL, content_type="text/html")
        if failure is not None:
            return failure
        query = request.query
        if query.get("mode", "").lower() != "artlist" or query.get("format", "").lower() != "json":
            return web.Response(text="Invalid mode or format.", content_type="text/html")
        words = query.get("query", "").replace('"', " ").lower().split()
        if any(len(w) < 3 for w in words):
            return web.Response(text="The specified phrase is too short.", content_type="text/html")
        try:
            start, end = _param(query.get("startdatetime")), _param(query.get("enddatetime"))
            limit = max(1, min(250, int(query.get("maxrecords", "75"))))
        except ValueError:
            return web.Response(text="Invalid date or maxrecords.", content_type="text/html")
        if now is not None and start is not None and start < now - REACH:
            # The DOC API searches the last three months (the wording of this refusal is a stand-in).
            return web.Response(text="The start date is outside the searchable range.", content_type="text/html")
        hits = []
        for article in self.articles:
            seen = _epoch(article.get("seendate"))
            title = str(article.get("title") or "").lower()
            if seen is None or not all(w in title for w in words):
                continue
            before_end = end is None or (seen < end if self.end_exclusive else seen <= end)
            if (start is None or seen >= start) and before_end:
                hits.append((seen, article))
        hits.sort(key=lambda h: h[0], reverse=True)
        chunk = [a for _, a in hits[:limit]]
        self.served.append([str(a.get("url")) for a in chunk])
        return web.json_response({"articles": chunk} if chunk else {})


@pytest.fixture
async def fake_gdelt(aiohttp_server: ServerFactory) -> AsyncIterator[FakeGdelt]:
    """A running fake GDELT; .url is its base URL for config (ends in /api/v2/doc/)."""
    fake = FakeGdelt()
    yield await serve(fake, fake.app, aiohttp_server, "/api/v2/doc/")
