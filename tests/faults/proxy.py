"""A fault-injecting HTTP proxy on loopback, in front of any fake platform.

A source is pointed at the proxy (its base_url is the proxy's address with the fake's path); the proxy
forwards each request to the fake unless a fault is queued, in which case it answers with the fault
(or damages the fake's real answer). One proxy serves every platform, so each fault is tried on each
source the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from tests.fakes.base import ServerFactory

FAULTS = ("500", "502-html", "timeout", "reset", "truncated", "wrong-shape", "huge", "401", "403", "429")
HUGE = 2 * 1024 * 1024  # bytes served by "huge"; the sources' Http is given a smaller cap in the tests


class FaultProxy:
    """Forwards to `upstream` (scheme://host:port); `inject(fault, times)` queues faults for the next requests."""

    def __init__(self) -> None:
        self.upstream = ""
        self.url = ""
        self.queued: list[str] = []
        self.replay: dict[str, tuple[int, bytes, str]] = {}  # "loop": path -> the first answer, served forever
        self.looping = False
        self.requests = 0
        self.hang = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    def inject(self, fault: str, times: int = 1) -> None:
        """Answer the next `times` requests with this fault."""
        self.queued.extend([fault] * times)

    def at(self, fake_url: str) -> str:
        """The proxy's address for a fake's base URL (same path), and make that fake the upstream."""
        fake = URL(fake_url)
        self.upstream = str(fake.with_path("/").with_query(None)).rstrip("/")
        return str(URL(self.url).with_path(fake.path))

    async def forward(self, request: web.Request) -> tuple[int, bytes, str, dict[str, str]]:
        assert self.session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self.session.request(request.method, self.upstream + request.path_qs, headers=headers,
                                        data=body or None, allow_redirects=False) as resp:  # fmt: skip
            keep = {k: v for k, v in resp.headers.items() if k.lower() in ("retry-after", "link", "etag",
                    "last-modified") or k.lower().startswith(("x-", "ratelimit"))}  # fmt: skip
            return resp.status, await resp.read(), resp.content_type, keep

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        fault = self.queued.pop(0) if self.queued else None
        if self.looping and request.path in self.replay:
            status, body, ctype = self.replay[request.path]
            return web.Response(status=status, body=body, content_type=ctype)
        if fault is None or fault in ("truncated", "damaged-item"):
            status, body, ctype, headers = await self.forward(request)
            if self.looping and status == 200:
                self.replay.setdefault(request.path, (status, body, ctype))
            if fault == "truncated" and status == 200:
                body = body[: max(1, len(body) // 2)]
            if fault == "damaged-item" and status == 200:
                body = damage_first_item(body)
            return web.Response(status=status, body=body, headers=headers, content_type=ctype)
        if fault == "500":
            return web.json_response({"error": "internal"}, status=500)
        if fault == "502-html":
            return web.Response(status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                                content_type="text/html")  # fmt: skip
        if fault == "timeout":
            await self.hang.wait()
            return web.Response(status=504)
        if fault == "reset":
            response = web.StreamResponse(status=200, headers={"Content-Length": "5000"})
            response.content_type = "application/json"
            await response.prepare(request)
            await response.write(b'{"hits": [{"objectID": "1", "title": "acme')
            assert request.transport is not None
            request.transport.close()
            return response
        if fault == "wrong-shape":
            return web.json_response({"unexpected": [1, "two", None], "data": "not a list"})
        if fault == "huge":
            response = web.StreamResponse(status=200)
            response.content_type = "application/json"
            await response.prepare(request)
            await response.write(b'{"junk": "')
            for _ in range(HUGE // 65536):
                await response.write(b"x" * 65536)
            await response.write(b'"}')
            await response.write_eof()
            return response
        if fault in ("401", "403"):
            return web.json_response({"error": "unauthorized", "message": "bad credentials"}, status=int(fault))
        if fault == "429":
            return web.json_response({"error": "rate limited"}, status=429, headers={"Retry-After": "120"})
        raise AssertionError(f"unknown fault {fault}")


def damage_first_item(body: bytes) -> bytes:
    """The answer with the first element of its first list of two or more objects made unreadable."""
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def walk(node: Any) -> bool:
        if isinstance(node, list) and len(node) >= 2 and all(isinstance(n, dict) for n in node):
            node[0] = {k: ([None] if i % 2 else None) for i, k in enumerate(node[0])}
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        return any(walk(child) for child in children)

    walk(data)
    return json.dumps(data).encode()


@pytest.fixture
async def fault_proxy(aiohttp_server: ServerFactory) -> AsyncIterator[FaultProxy]:
    """A running fault proxy; call .at(fake.url) for the base URL to give a source."""
    proxy = FaultProxy()
    server = await aiohttp_server(proxy.app)
    proxy.url = str(server.make_url("/"))
    async with aiohttp.ClientSession() as session:
        proxy.session = session
        yield proxy
        proxy.hang.set()
