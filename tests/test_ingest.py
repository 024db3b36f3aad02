"""POST /ingest through aiohttp's test client: auth, per-item validation, size cap, content types."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from monitor.mention import Mention, to_replay
from monitor.service.ingest_endpoint import TOKEN_ENV, IngestError, Item, ingest_app

TOKEN = "s3cret-ingest-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NDJSON = {**AUTH, "Content-Type": "application/x-ndjson"}
ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


def good(i: int, **fields: Any) -> dict[str, Any]:
    return {"platform": "tiktok", "id": f"v{i}", "text": f"acme cloud clip {i}", "created_at": "2026-11-24T14:00:00Z",
            **fields}  # fmt: skip


def lines(*objects: Any) -> str:
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objects) + "\n"


class Collector:
    """The accept callback: keeps every batch, answers how many it 'stored'."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[Item]] = []
        self.fail = fail

    async def __call__(self, items: list[Item]) -> int:
        if self.fail:
            raise RuntimeError("database is locked")
        self.batches.append(items)
        return len(items) - 1 if len(items) > 1 else len(items)  # as if one were known already

    @property
    def items(self) -> list[Item]:
        return [i for batch in self.batches for i in batch]


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TestClient[Any, Any]]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    yield await aiohttp_client(ingest_app(collector, max_body=4096))


def test_without_a_token_in_the_environment_the_app_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_INGEST", raising=False)
    with pytest.raises(IngestError, match="ACME_INGEST"):
        ingest_app(Collector(), token_env="ACME_INGEST")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer "}],
)  # fmt: skip
async def test_a_missing_or_wrong_token_is_refused_without_echoing_it(
    client: TestClient[Any, Any], collector: Collector, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="monitor.service.ingest_endpoint"):
        resp = await client.post(
            "/ingest", data=lines(good(1)), headers={**headers, "Content-Type": "application/x-ndjson"}
        )
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    body = await resp.text()
    assert json.loads(body) == {"error": "missing or wrong bearer token"}
    assert TOKEN not in body and "wrong-token" not in body and TOKEN not in caplog.text
    assert collector.batches == []


async def test_good_lines_are_accepted_and_bad_ones_named(client: TestClient[Any, Any], collector: Collector) -> None:
    body = lines(
        good(1, brand="acme", author="@kim", author_followers=12000, likes=40, replies=3, reposts=7, lang="en",
             url="https://www.tiktok.com/@kim/video/1", title="Acme down again"),
        "{not json",
        good(3, created_at=1795530011),
        "",  # blank lines are skipped, but still counted
        {"platform": "tiktok", "text": "no id", "created_at": "2026-11-24T14:00:00Z"},
        good(6, created_at="2026-11-24T14:00:00"),  # no zone
        good(7, likes="many"),
        ["not", "an", "object"],
        good(9, lang=5),
        good(10, id=12345),
    )  # fmt: skip
    resp = await client.post("/ingest", data=body, headers=NDJSON)
    assert resp.status == 200
    answer = await resp.json()
    assert answer["accepted"] == 3 and answer["stored"] == 2 and answer["rejected_total"] == 6
    assert [r["line"] for r in answer["rejected"]] == [2, 5, 6, 7, 8, 9]
    errors = {r["line"]: r["error"] for r in answer["rejected"]}
    assert errors[2].startswith("not JSON") and "'id'" in errors[5] and "zone" in errors[6]
    assert errors[7] == "likes: expected an integer" and errors[8] == "expected a JSON object"
    assert errors[9] == "lang: expected a string"
    ((first, brand), (third, none), (tenth, _)) = collector.items
    assert brand == "acme" and none is None
    assert first == Mention(
        platform="tiktok", id="v1", text="acme cloud clip 1", title="Acme down again", lang="en",
        created_at=datetime(2026, 11, 24, 14, tzinfo=UTC), author="@kim", author_followers=12000,
        url="https://www.tiktok.com/@kim/video/1", likes=40, replies=3, reposts=7,
    )  # fmt: skip
    assert third.created_at == datetime(2026, 11, 24, 14, 20, 11, tzinfo=UTC) and tenth.id == "12345"


async def test_a_json_array_and_a_single_object(client: TestClient[Any, Any], collector: Collector) -> None:
    resp = await client.post("/ingest", json=[good(1), {"id": "x"}, good(3)], headers=AUTH)
    answer = await resp.json()
    assert resp.status == 200 and answer["accepted"] == 2
    assert answer["rejected"] == [{"line": 2, "error": "missing required field 'platform'"}]
    resp = await client.post("/ingest", json=good(4), headers=AUTH)
    assert resp.status == 200 and (await resp.json())["accepted"] == 1
    assert [m.id for m, _ in collector.items] == ["v1", "v3", "v4"]


async def test_the_replay_form_of_a_mention_round_trips(client: TestClient[Any, Any], collector: Collector) -> None:
    mention = Mention(platform="instagram", id="C9xYz", text="Acme\u2028Cloud ate my data", author="lee",
                      created_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC), likes=5)  # fmt: skip
    # ensure_ascii=False leaves U+2028 raw inside the string: it is not a line break of JSON Lines.
    body = json.dumps(to_replay(mention, "acme"), ensure_ascii=False) + "\r\n"
    resp = await client.post("/ingest", data=body.encode(), headers=NDJSON)
    assert resp.status == 200 and collector.items == [(mention, "acme")]


async def test_every_item_rejected_is_a_422(client: TestClient[Any, Any], collector: Collector) -> None:
    resp = await client.post("/ingest", data=lines({"id": 1}, "nope"), headers=NDJSON)
    answer = await resp.json()
    assert resp.status == 422 and answer["accepted"] == 0 and [r["line"] for r in answer["rejected"]] == [1, 2]
    assert collector.batches == []


async def test_an_empty_body_accepts_nothing(client: TestClient[Any, Any], collector: Collector) -> None:
    resp = await client.post("/ingest", data=b"", headers=NDJSON)
    assert resp.status == 200 and await resp.json() == {"accepted": 0, "stored": 0, "rejected": [],
                                                        "rejected_total": 0}  # fmt: skip
    assert collector.batches == []


async def test_a_body_over_the_cap_is_a_413(client: TestClient[Any, Any], collector: Collector) -> None:
    big = lines(*(good(i) for i in range(100)))
    assert len(big) > 4096
    resp = await client.post("/ingest", data=big, headers=NDJSON)
    assert resp.status == 413 and "4096" in (await resp.json())["error"]

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for i in range(100):
            yield lines(good(i)).encode()

    resp = await client.post("/ingest", data=chunked(), headers=NDJSON)
    assert resp.status == 413 and collector.batches == []


@pytest.mark.parametrize(
    ("data", "content_type", "status", "error"),
    [
        ("<html></html>", "text/html", 415, "unsupported content type 'text/html'"),
        ("a=1", "application/x-www-form-urlencoded", 415, "unsupported content type"),
        ("{broken", "application/json", 400, "the body is not JSON"),
        (lines(good(1), good(2)), "application/json", 400, "the body is not JSON"),  # JSON Lines sent as JSON
        ('"a string"', "application/json", 400, "expected a JSON array"),
        (b"[\xff\xfe\x00garbage]", "application/json", 400, "not UTF-8"),  # an array is UTF-8 as a whole
        ("[" * 1500 + "]" * 1500, "application/json", 400, "nested too deeply"),
    ],
)
async def test_wrong_content_is_refused(
    client: TestClient[Any, Any], collector: Collector, data: Any, content_type: str, status: int, error: str
) -> None:
    resp = await client.post("/ingest", data=data, headers={**AUTH, "Content-Type": content_type})
    assert resp.status == status and error in (await resp.json())["error"]
    assert collector.batches == []


async def test_an_array_without_a_content_type_is_read_as_json(
    client: TestClient[Any, Any], collector: Collector
) -> None:
    resp = await client.post("/ingest", data=json.dumps([good(1), good(2)]).encode(), headers=AUTH)
    assert resp.status == 200 and (await resp.json())["accepted"] == 2


async def test_only_post_is_served(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/ingest", headers=AUTH)).status == 405


async def test_a_failing_store_is_a_503_to_send_again(
    aiohttp_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACME_INGEST", TOKEN)
    client = await aiohttp_client(ingest_app(Collector(fail=True), token_env="ACME_INGEST"))
    with caplog.at_level(logging.ERROR, logger="monitor.service.ingest_endpoint"):
        resp = await client.post("/ingest", data=lines(good(1)), headers=NDJSON)
    assert resp.status == 503 and "send the batch again" in (await resp.json())["error"]
    assert "storing 1 mentions failed" in caplog.text and TOKEN not in caplog.text


async def test_a_line_that_is_not_utf8_or_nested_too_deeply_rejects_that_item_alone(
    collector: Collector, aiohttp_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = '{"platform": "x", "id": "deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = (lines(good(1)) + lines(deep) + lines(good(2))).encode()
    body = body.replace(b"clip 2", b"clip \xff\xfe 2") + lines(good(3)).encode()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    big = await aiohttp_client(ingest_app(collector, max_body=1_000_000))
    resp = await big.post("/ingest", data=body, headers=NDJSON)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert [i[0].id for i in collector.items] == ["v1", "v3"]
    assert answer["rejected"] == [
        {"line": 2, "error": "not JSON: nested too deeply"},
        {"line": 3, "error": "not UTF-8 (byte 61 of the line)"},
    ]
