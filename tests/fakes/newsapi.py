"""A fake NewsAPI /v2/everything: X-Api-Key, from/to, newest first, pages, the plan's result cap and quota."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, json_response, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "newsapi"


def recorded(name: str = "everything.json") -> dict[str, Any]:
    """A recorded-shape answer from tests/fixtures/newsapi/."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def published(epoch: float) -> str:
    """NewsAPI's publishedAt form, 2026-11-24T15:12:07Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: Any) -> float | None:
    try:  # to the second, as the from/to parameters are
        return float(int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()))
    except ValueError:
        return None


def _bound(value: str | None) -> float | None:
    """A from/to parameter: ISO 8601 date or date and time, UTC unless it says otherwise."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def error(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"status": "error", "code": code, "message": message}, status=status)


class FakeNewsApi(FakeServer):
    """GET /v2/everything: q (words in title or description), from/to (inclusive), sortBy, pageSize, page.

    `api_key` is the only key accepted (401 apiKeyMissing/apiKeyInvalid otherwise). `max_results`
    is the plan's cap (426 maximumResultsReached past it; None: no cap); `requests_left` the day's
    quota (429 rateLimited once used up; None: unlimited). With `clock` set, a `from` further back than
    the plan's `history` (days: the free plan's month) is refused as NewsAPI does (parameterInvalid,
    naming the earliest date allowed). `.served` records the urls of each answer; `throttle` scripts
    NewsAPI's own 429, `answer_next` a whole answer, `fail_next` a failure.
    """

    def __init__(self) -> None:
        super().__init__()
        self.articles: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.api_key = "n3ws-k3y-0123456789"
        self.max_results: int | None = 100
        self.requests_left: int | None = None
        self.clock: Callable[[], float] | None = None
        self.history = 30  # days back a `from` may go (the Developer plan: a month)
        self.app = web.Application()
        self.app.router.add_get("/v2/everything", self.everything)

    def add_article(self, url: str, at: float, title: str, **fields: Any) -> dict[str, Any]:
        """Add an article published at epoch `at` (any field can be given or overridden by keyword)."""
        article = {"source": {"id": None, "name": "Example News"}, "author": "Someone", "title": title,
                   "description": f"{title}.", "url": url, "urlToImage": None, "publishedAt": published(at),
                   "content": f"{title}. More words follow… [+1200 chars]", **fields}  # fmt: skip
        self.articles.append(article)
        return article

    def answer_next(self, data: Any, status: int = 200) -> None:
        """Answer the next request with this JSON."""
        self.fail_next(status, body=json.dumps(data))

    def _earliest(self) -> datetime | None:
        """The first day the plan lets a search reach back to (None without a clock)."""
        if self.clock is None:
            return None
        today = datetime.fromtimestamp(self.clock(), UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=self.history)

    def throttle(self) -> None:
        """NewsAPI's refusal once the day's requests are spent: 429 rateLimited."""
        self.answer_next(recorded("rate_limited.json"), status=429)

    def served_urls(self) -> list[str]:
        """Every url answered so far, in order (repeats mean something was fetched twice)."""
        return [u for urls in self.served for u in urls]

    async def everything(self, request: web.Request) -> web.Response:
        """{"status": "ok", "totalResults": N, "articles": [...]}, or an error object."""
        failure = await self.record(request)
        if failure is not None:
            return failure
        key = request.headers.get("X-Api-Key") or request.query.get("apiKey")
        if not key:
            return error("apiKeyMissing", "Your API key is missing. Append this to the URL with the apiKey param, "
                         "or use the x-api-key HTTP header.", 401)  # fmt: skip
        if key != self.api_key:
            return error("apiKeyInvalid", "Your API key is invalid or incorrect.", 401)
        if self.requests_left is not None:
            if self.requests_left <= 0:
                return error("rateLimited", "You have made too many requests recently. Developer accounts are "
                             "limited to 100 requests over a 24 hour period.", 429)  # fmt: skip
            self.requests_left -= 1
        query = request.query
        if not query.get("q"):
            return error("parametersMissing", "Required parameters are missing: q.", 400)
        try:
            size = int(query.get("pageSize", "100"))
            page = int(query.get("page", "1"))
            start, end = _bound(query.get("from")), _bound(query.get("to"))
        except ValueError:
            return error("parameterInvalid", "You have requested a parameter which is not supported.", 400)
        if not 1 <= size <= 100 or page < 1:
            return error("parameterInvalid", "pageSize must be 1-100 and page at least 1.", 400)
        earliest = self._earliest()
        if earliest is not None and start is not None and start < earliest.timestamp():
            return error("parameterInvalid", "You are trying to request results too far in the past. Your plan "
                         f"permits you to request articles as far back as {earliest:%Y-%m-%d}, but you have requested "
                         f"{query['from'][:10]}. To extend this please upgrade to a paid plan.", 426)  # fmt: skip
        if self.max_results is not None and page * size > self.max_results:
            return error("maximumResultsReached", f"You have requested too many results. Developer accounts are "
                         f"limited to a max of {self.max_results} results.", 426)  # fmt: skip
        words = query["q"].replace('"', " ").lower().split()
        hits = []
        for article in self.articles:
            at = _epoch(article.get("publishedAt"))
            text = f"{article.get('title') or ''} {article.get('description') or ''}".lower()
            if at is None or not all(w in text for w in words):
                continue
            if (start is None or at >= start) and (end is None or at <= end):
                hits.append((at, article))
        hits.sort(key=lambda h: h[0], reverse=True)
        chunk = [a for _, a in hits[(page - 1) * size : page * size]]
        self.served.append([str(a.get("url")) for a in chunk])
        return json_response({"status": "ok", "totalResults": len(hits), "articles": chunk})


@pytest.fixture
async def fake_newsapi(aiohttp_server: ServerFactory) -> AsyncIterator[FakeNewsApi]:
    """A running fake NewsAPI; .url is its base URL for config (ends in /v2/)."""
    fake = FakeNewsApi()
    yield await serve(fake, fake.app, aiohttp_server, "/v2/")
