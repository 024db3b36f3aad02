"""What every fake server shares: request recording, scripted failures, the Date header's clock."""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer

F = TypeVar("F", bound="FakeServer")
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str = ""


@dataclass
class Failure:
    """A scripted answer that replaces the real one."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class FakeServer:
    """Records requests; answers the next ones with scripted failures when told to."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.url = ""
        # The platform's clock, for every answer's Date header (the sources measure their skew from
        # it); None: aiohttp's, the real time. Tests on a hand-moved Clock set it to that clock;
        # `no_date` leaves the header out.
        self.date: Callable[[], float] | None = None
        self.no_date = False

    def fail_next(
        self,
        status: int,
        times: int = 1,
        body: str = "",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer the next `times` requests with this status, body and headers."""
        self.failures.extend(Failure(status, body, dict(headers or {}), content_type) for _ in range(times))

    async def record(self, request: web.Request) -> web.Response | None:
        """Record the request; return a scripted failure if one is queued."""
        body = await request.text() if request.can_read_body else ""
        self.requests.append(Recorded(request.method, request.path, dict(request.query), dict(request.headers), body))
        if self.failures:
            failure = self.failures.pop(0)
            return web.Response(
                status=failure.status, text=failure.body, headers=failure.headers, content_type=failure.content_type
            )
        return None

    def paths(self, path: str) -> list[Recorded]:
        """Recorded requests to one path."""
        return [r for r in self.requests if r.path == path]


def json_response(data: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer."""
    return web.json_response(data, headers=headers)


async def serve(fake: F, app: web.Application, start: ServerFactory, prefix: str) -> F:
    """Start a fake on an ephemeral loopback port; its .url is the base URL at prefix."""

    async def stamp(_: web.Request, response: web.StreamResponse) -> None:
        if fake.no_date:
            response.headers.popall("Date", None)
        elif fake.date is not None:
            response.headers["Date"] = email.utils.formatdate(fake.date(), usegmt=True)

    app.on_response_prepare.append(stamp)
    server = await start(app)
    fake.url = str(server.make_url(prefix))
    return fake
