"""A fake Stack Exchange /2.3/search/excerpts: always gzip, fromdate/todate, pages, quota and backoff in the body."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.base import FakeServer, ServerFactory, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stackexchange"


def recorded(name: str = "search_excerpts.json") -> dict[str, Any]:
    """A recorded-shape answer from tests/fixtures/stackexchange/."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def gzipped(data: Any, status: int = 200) -> web.Response:
    """A JSON answer compressed as the API always sends it."""
    body = gzip.compress(json.dumps(data).encode())
    return web.Response(status=status, body=body, content_type="application/json", charset="utf-8",
                        headers={"Content-Encoding": "gzip"})  # fmt: skip


def error(error_id: int, name: str, message: str, status: int = 400) -> web.Response:
    return gzipped({"error_id": error_id, "error_message": message, "error_name": name}, status)


class FakeStackExchange(FakeServer):
    """GET /2.3/search/excerpts: q (words in title, body or excerpt), site, sort=creation, order,
    fromdate/todate (inclusive), pagesize, page; the wrapper with has_more, quota_max, quota_remaining.

    Tests add items (`add_question`, `add_answer`, or append to `.items`). `keys`, when set, are the
    only keys accepted (bad_parameter "key" otherwise); `quota` is what is left today (throttle_violation
    once spent); `backoff_next` puts a backoff field in the next answer. `answer_next` scripts a whole
    answer, `fail_next` a failure (both sent gzipped). `.served` records the ids each answer carried.
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.served: list[list[str]] = []
        self.keys: set[str] | None = None
        self.quota = 300
        self.backoff_next: int | None = None
        self.app = web.Application()
        self.app.router.add_get("/2.3/search/excerpts", self.search_excerpts)

    def add_question(self, question_id: int, created: int, title: str, body: str = "", **fields: Any) -> dict[str, Any]:
        """Add a question (any field can be given or overridden by keyword)."""
        item = {"tags": ["acme"], "question_score": 0, "answer_count": 0, "has_accepted_answer": False,
                "is_answered": False, "question_id": question_id, "item_type": "question", "score": 0,
                "last_activity_date": created, "creation_date": created, "body": body or f"<p>{title}</p>",
                "excerpt": title, "title": title, **fields}  # fmt: skip
        self.items.append(item)
        return item

    def add_answer(self, answer_id: int, question_id: int, created: int, body: str, **fields: Any) -> dict[str, Any]:
        """Add an answer (its title is its question's, as the API gives it)."""
        item = {"tags": ["acme"], "question_score": 0, "is_accepted": False, "answer_id": answer_id,
                "is_answered": True, "question_id": question_id, "item_type": "answer", "score": 0,
                "last_activity_date": created, "creation_date": created, "body": body, "excerpt": body,
                "title": "A question", **fields}  # fmt: skip
        self.items.append(item)
        return item

    def answer_next(self, data: Any, status: int = 200) -> None:
        """Answer the next request with this JSON (gzipped)."""
        self.fail_next(status, body=json.dumps(data))

    def throttle(self, wait: int = 7200) -> None:
        """Stack Exchange's throttle_violation (HTTP 502 with the error object), naming the wait."""
        self.answer_next({"error_id": 502, "error_name": "throttle_violation", "error_message": "too many "
                          f"requests from this IP, more requests available in {wait} seconds"}, status=502)  # fmt: skip

    def served_ids(self) -> list[str]:
        """Every item answered so far as q.../a... ids (repeats mean something was fetched twice)."""
        return [i for ids in self.served for i in ids]

    async def search_excerpts(self, request: web.Request) -> web.Response:
        failure = await self.record(request)
        if failure is not None:
            assert isinstance(failure.body, bytes)
            body = gzip.compress(failure.body)
            response = web.Response(status=failure.status, body=body, content_type=failure.content_type,
                                    headers={"Content-Encoding": "gzip"})  # fmt: skip
            for name, value in failure.headers.items():
                if name.lower() not in ("content-type", "content-length", "content-encoding"):
                    response.headers[name] = value
            return response
        query = request.query
        key = query.get("key")
        if key is not None and self.keys is not None and key not in self.keys:
            return error(400, "bad_parameter", "key")
        if not query.get("site"):
            return error(400, "bad_parameter", "site is required")
        if self.quota <= 0:
            return error(502, "throttle_violation", "too many requests from this IP, more requests available in "
                         "43200 seconds")  # fmt: skip
        self.quota -= 1
        try:
            size = int(query.get("pagesize", "30"))
            page = int(query.get("page", "1"))
            start = int(query["fromdate"]) if "fromdate" in query else None
            end = int(query["todate"]) if "todate" in query else None
        except ValueError:
            return error(400, "bad_parameter", "pagesize, page, fromdate or todate")
        if not 0 <= size <= 100 or page < 1 or query.get("sort") != "creation" or query.get("order") != "desc":
            return error(400, "bad_parameter", "pagesize, page, sort or order")
        words = query.get("q", "").replace('"', " ").lower().split()
        hits = []
        for item in self.items:
            created = item.get("creation_date")
            text = " ".join(str(item.get(k) or "") for k in ("title", "body", "excerpt")).lower()
            if not isinstance(created, int) or not all(w in text for w in words):
                continue
            if (start is None or created >= start) and (end is None or created <= end):
                hits.append(item)
        hits.sort(key=lambda i: i["creation_date"], reverse=True)
        chunk = hits[(page - 1) * size : page * size]
        self.served.append([f"a{i.get('answer_id')}" if i.get("item_type") == "answer" else f"q{i.get('question_id')}"
                            for i in chunk])  # fmt: skip
        wrapper: dict[str, Any] = {"items": chunk, "has_more": page * size < len(hits),
                                   "quota_max": 10000 if key else 300, "quota_remaining": self.quota}  # fmt: skip
        if self.backoff_next is not None:
            wrapper["backoff"], self.backoff_next = self.backoff_next, None
        return gzipped(wrapper)


@pytest.fixture
async def fake_stackexchange(aiohttp_server: ServerFactory) -> AsyncIterator[FakeStackExchange]:
    """A running fake Stack Exchange API; .url is its base URL for config (ends in /2.3/)."""
    fake = FakeStackExchange()
    yield await serve(fake, fake.app, aiohttp_server, "/2.3/")
