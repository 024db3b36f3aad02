"""The shared HTTP policy against a scripted local server: retries, rate limits, auth, bodies, size cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from monitor.sources.answers import (
    ERROR_BODY_CAP,
    HttpAuthError,
    HttpClientError,
    HttpRateLimited,
    HttpServerError,
    HttpStatusError,
    retry_after_seconds,
    safe_url,
)
from monitor.sources.base import AuthError, BadResponse, RateLimited, TransientError
from monitor.sources.http import Http
from tests.fakes import USER_AGENT
from tests.fakes.base import FakeServer, ServerFactory, serve
from tests.helpers.clock import Clock

T0 = 1_795_500_000.0


class Scripted(FakeServer):
    """Answers {"ok": true} unless told otherwise; /big streams a large body, /hang never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.big = b""
        self.never = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_route("*", "/api/thing", self.thing)
        self.app.router.add_get("/api/big", self.stream_big)
        self.app.router.add_get("/api/hang", self.hang)

    async def thing(self, request: web.Request) -> web.StreamResponse:
        failure = await self.record(request)
        return failure or web.json_response({"ok": True}, headers={"X-Answer": "yes"})

    async def stream_big(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)  # chunked: no Content-Length to check up front
        for i in range(0, len(self.big), 64 * 1024):
            await response.write(self.big[i : i + 64 * 1024])
        await response.write_eof()
        return response

    async def hang(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        await self.never.wait()  # set when the test ends, long after the client gave up
        return web.json_response({})


@pytest.fixture
async def server(aiohttp_server: ServerFactory) -> AsyncIterator[Scripted]:
    fake = Scripted()
    yield await serve(fake, fake.app, aiohttp_server, "/api/")
    fake.never.set()


class Sleeps:
    """Records the backoff delays instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def http(session: aiohttp.ClientSession, clock: Clock | None = None, **kwargs: object) -> tuple[Http, Sleeps]:
    sleeps = Sleeps()
    return Http(session, USER_AGENT, timeout=5, clock=clock or Clock(T0), sleep=sleeps, **kwargs), sleeps


async def test_json_and_headers_come_back_with_the_user_agent_sent(
    server: Scripted, session: aiohttp.ClientSession
) -> None:
    client, _ = http(session)
    body, headers = await client.get_json(server.url + "thing", params={"q": "acme"}, headers={"X-Extra": "1"})
    assert body == {"ok": True} and headers["X-Answer"] == "yes"
    (request,) = server.requests
    assert request.headers["User-Agent"] == USER_AGENT and request.headers["Accept"] == "application/json"
    assert request.headers["X-Extra"] == "1" and request.query == {"q": "acme"}


async def test_post_form_sends_the_form(server: Scripted, session: aiohttp.ClientSession) -> None:
    client, _ = http(session)
    body, _ = await client.post_form(server.url + "thing", {"grant_type": "client_credentials"})
    assert body == {"ok": True}
    assert server.requests[0].method == "POST" and server.requests[0].body == "grant_type=client_credentials"


async def test_post_json_sends_json_and_none_sends_no_body(server: Scripted, session: aiohttp.ClientSession) -> None:
    client, _ = http(session)
    body, _ = await client.post_json(server.url + "thing", {"identifier": "acme"}, headers={"Authorization": "x"})
    assert body == {"ok": True}
    first = server.requests[0]
    assert first.method == "POST" and json.loads(first.body) == {"identifier": "acme"}
    assert first.headers["Content-Type"] == "application/json" and first.headers["Authorization"] == "x"
    await client.post_json(server.url + "thing")
    assert server.requests[1].method == "POST" and server.requests[1].body == ""


async def test_request_hands_back_the_raw_answer_and_a_304(server: Scripted, session: aiohttp.ClientSession) -> None:
    client, _ = http(session)
    response = await client.request("GET", server.url + "thing?key=s3cr3t", headers={"Accept": "text/xml"})
    assert response.status == 200 and response.body == b'{"ok": true}' and response.text == '{"ok": true}'
    assert response.json() == {"ok": True} and response.headers["X-Answer"] == "yes"
    assert response.where == server.url + "thing" and server.requests[0].headers["Accept"] == "text/xml"
    server.fail_next(304)
    response = await client.request("GET", server.url + "thing")
    assert response.status == 304 and response.body == b"" and response.json_or_none() is None
    with pytest.raises(BadResponse, match="not JSON"):
        response.json()


@pytest.mark.parametrize(
    ("status", "kind", "base"),
    [(400, HttpClientError, BadResponse), (404, HttpClientError, BadResponse), (401, HttpAuthError, AuthError),
     (403, HttpAuthError, AuthError), (429, HttpRateLimited, RateLimited), (503, HttpServerError, TransientError)],
)  # fmt: skip
async def test_an_error_status_carries_its_status_and_body(
    server: Scripted, session: aiohttp.ClientSession, status: int, kind: type, base: type
) -> None:
    server.fail_next(status, times=3, body='{"error": "ExpiredToken", "echo": "s3cr3t"}')
    client, _ = http(session)
    with pytest.raises(HttpStatusError) as info:
        await client.get_json(server.url + "thing?key=s3cr3t")
    error = info.value
    assert isinstance(error, kind) and isinstance(error, base) and error.status == status
    assert error.response.json_or_none() == {"error": "ExpiredToken", "echo": "s3cr3t"}
    assert error.response.text.startswith('{"error"') and "s3cr3t" not in str(error) and f"HTTP {status}" in str(error)


async def test_an_error_body_over_the_cap_is_dropped(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(400, body=json.dumps({"x": "y" * ERROR_BODY_CAP}))
    client, _ = http(session)
    with pytest.raises(HttpClientError) as info:
        await client.get_json(server.url + "thing")
    assert info.value.response.body == b"" and info.value.response.json_or_none() is None


async def test_readable_statuses_come_back_instead_of_raising(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(429, body="Please limit requests", content_type="text/plain")
    server.fail_next(400, body='{"error_name": "throttle_violation"}')
    client, _ = http(session)
    first = await client.request("GET", server.url + "thing", readable=(400, 429))
    assert first.status == 429 and first.text == "Please limit requests" and client.blocked_for() == 0
    second = await client.request("GET", server.url + "thing", readable=(400, 429))
    assert second.status == 400 and second.json() == {"error_name": "throttle_violation"}
    server.fail_next(401)
    with pytest.raises(HttpAuthError):  # not readable: raised as ever
        await client.request("GET", server.url + "thing", readable=(400, 429))


async def test_a_readable_5xx_comes_back_only_with_a_json_body(
    server: Scripted, session: aiohttp.ClientSession
) -> None:
    server.fail_next(502, body="<html><body>Bad Gateway</body></html>", content_type="text/html")
    server.fail_next(502, body='{"error_name": "throttle_violation"}')
    client, sleeps = http(session)
    response = await client.request("GET", server.url + "thing", readable=(502,), retry_gap=5.0)
    assert response.status == 502 and response.json() == {"error_name": "throttle_violation"}
    assert len(server.requests) == 2 and sleeps.delays == [5.0]  # the gateway page was retried, after the gap


async def test_5xx_and_html_502_are_retried_with_jittered_backoff(
    server: Scripted, session: aiohttp.ClientSession
) -> None:
    server.fail_next(500)
    server.fail_next(502, body="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    client, sleeps = http(session)
    body, _ = await client.get_json(server.url + "thing")
    assert body == {"ok": True} and len(server.requests) == 3
    # Full jitter: each wait is somewhere between 0 and the doubling bound (0.5 s, then 1 s).
    assert len(sleeps.delays) == 2 and 0 <= sleeps.delays[0] <= 0.5 and 0 <= sleeps.delays[1] <= 1.0


async def test_5xx_beyond_the_attempts_is_transient(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(503, times=5)
    client, sleeps = http(session)
    with pytest.raises(TransientError, match="HTTP 503"):
        await client.get_json(server.url + "thing")
    assert len(server.requests) == 3 and len(sleeps.delays) == 2


async def test_backoff_is_capped(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(500, times=6)
    client, sleeps = http(session, attempts=6, backoff=1.0, backoff_cap=2.0)
    with pytest.raises(TransientError):
        await client.get_json(server.url + "thing")
    assert len(sleeps.delays) == 5 and max(sleeps.delays) <= 2.0


async def test_429_blocks_every_request_until_retry_after(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(429, body='{"message": "slow down"}', headers={"Retry-After": "120"})
    clock = Clock(T0)
    client, sleeps = http(session, clock)
    with pytest.raises(RateLimited) as info:
        await client.get_json(server.url + "thing")
    assert info.value.retry_after == 120 and sleeps.delays == []  # a 429 is not retried in the call
    clock.now = T0 + 119
    with pytest.raises(RateLimited) as info:
        await client.post_form(server.url + "thing", {})
    assert info.value.retry_after == pytest.approx(1) and len(server.requests) == 1
    clock.now = T0 + 120
    assert (await client.get_json(server.url + "thing"))[0] == {"ok": True}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "Wed, 25 Nov 2026 10:02:00 GMT"}, 90.0), ({}, 60.0), ({"Retry-After": "later"}, 60.0)],
)
async def test_429_retry_after_as_a_date_or_missing(
    server: Scripted, session: aiohttp.ClientSession, headers: dict[str, str], expected: float
) -> None:
    server.fail_next(429, headers=headers)
    client, _ = http(session, Clock(1_795_600_830.0))  # 10:00:30 UTC on that day
    with pytest.raises(RateLimited) as info:
        await client.get_json(server.url + "thing")
    assert info.value.retry_after == pytest.approx(expected)


async def test_a_used_up_quota_blocks_the_next_request(server: Scripted, session: aiohttp.ClientSession) -> None:
    def quota(headers: object) -> float | None:
        return 42.0

    client, _ = http(session)
    assert (await client.get_json(server.url + "thing", quota=quota))[0] == {"ok": True}
    with pytest.raises(RateLimited) as info:
        await client.get_json(server.url + "thing")
    assert info.value.retry_after == pytest.approx(42) and len(server.requests) == 1


async def test_a_429_without_retry_after_waits_for_the_quota_reset(
    server: Scripted, session: aiohttp.ClientSession
) -> None:
    server.fail_next(429, headers={"x-reset": "7"})
    client, _ = http(session)
    with pytest.raises(RateLimited) as info:
        await client.get_json(server.url + "thing", quota=lambda h: float(h["x-reset"]) if "x-reset" in h else None)
    assert info.value.retry_after == 7


async def test_a_retry_does_not_break_a_block_announced_meanwhile(
    server: Scripted, session: aiohttp.ClientSession
) -> None:
    server.fail_next(503, headers={"x-reset": "30"})
    client, _ = http(session)
    with pytest.raises(RateLimited):
        await client.get_json(server.url + "thing", quota=lambda h: float(h["x-reset"]) if "x-reset" in h else None)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_are_an_auth_error_without_secrets(
    server: Scripted, session: aiohttp.ClientSession, status: int
) -> None:
    server.fail_next(status, body='{"message": "Unauthorized"}')
    server.fail_next(status, body='{"message": "Unauthorized"}')
    client, _ = http(session)
    texts = []
    with pytest.raises(AuthError) as info:
        await client.get_json(server.url + "thing?api_key=s3cr3t", headers={"Authorization": "Bearer t0ken"})
    assert isinstance(info.value, HttpAuthError) and info.value.status == status
    texts.append(str(info.value))
    with pytest.raises(AuthError) as info:
        await client.get_json(server.url.replace("http://", "http://user:pa55word@") + "thing")
    texts.append(str(info.value))
    for text in texts:
        assert f"HTTP {status}" in text and not any(s in text for s in ("s3cr3t", "pa55word", "t0ken", "api_key"))
    assert len(server.requests) == 2  # neither was retried


async def test_other_4xx_is_a_bad_response_not_retried(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(404, body='{"message": "no such index"}')
    client, _ = http(session)
    with pytest.raises(BadResponse, match="HTTP 404"):
        await client.get_json(server.url + "thing")
    assert len(server.requests) == 1


async def test_html_with_200_is_a_bad_response(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.fail_next(200, body="<html><body>Please enable cookies</body></html>", content_type="text/html")
    client, _ = http(session)
    with pytest.raises(BadResponse, match="not JSON"):
        await client.get_json(server.url + "thing")


async def test_a_large_body_in_many_chunks_is_read_whole(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.big = json.dumps({"hits": [{"text": "x" * 200, "n": i} for i in range(10_000)]}).encode()
    client, _ = http(session)
    body, _ = await client.get_json(server.url + "big")
    assert len(body["hits"]) == 10_000 and body["hits"][-1]["n"] == 9_999


async def test_a_body_over_the_cap_is_refused(server: Scripted, session: aiohttp.ClientSession) -> None:
    server.big = json.dumps({"hits": ["x" * 1000] * 300}).encode()  # streamed: no Content-Length
    client, _ = http(session, max_body=100_000)
    with pytest.raises(BadResponse, match="larger than"):
        await client.get_json(server.url + "big")
    server.fail_next(200, body=json.dumps({"x": "y" * 200_000}))  # with Content-Length
    with pytest.raises(BadResponse, match="larger than"):
        await client.get_json(server.url + "thing")


async def test_a_timeout_is_transient_after_the_attempts(server: Scripted, session: aiohttp.ClientSession) -> None:
    client = Http(session, USER_AGENT, clock=Clock(T0), timeout=0.05, sleep=Sleeps())
    with pytest.raises(TransientError, match="TimeoutError"):
        await client.get_json(server.url + "hang")
    assert len(server.requests) == 3


async def test_an_unreachable_host_is_transient(aiohttp_server: ServerFactory, session: aiohttp.ClientSession) -> None:
    gone = await aiohttp_server(web.Application())
    url = str(gone.make_url("/api/thing"))
    await gone.close()  # nothing listens on that port any more
    client, _ = http(session)
    with pytest.raises(TransientError):
        await client.get_json(url)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", 0) == 30
    assert retry_after_seconds(" 2.5 ", 0) == 2.5
    assert retry_after_seconds(None, 0) == 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0
    assert retry_after_seconds("soon", 0) == 60


def test_safe_url_drops_query_and_user_info() -> None:
    assert safe_url("https://u:p@api.example.org/v1/search?key=abc#x") == "https://api.example.org/v1/search"
