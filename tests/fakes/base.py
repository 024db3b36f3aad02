"""What every fake server shares: request recording, scripted failures, the Date header's clock, latency,
a test clock that moves with each request, and opaque page tokens."""

from __future__ import annotations

import asyncio
import email.utils
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

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
    path: str | None = None  # only for requests to this path (None: the next request, whatever it asks)


class Moving(Protocol):
    """What a fake needs of a test's clock to move it (tests.helpers.clock.Clock)."""

    now: float


class FakeServer:
    """Records requests; answers the next ones with scripted failures when told to.

    Like the real services, and unlike a function call: every answer takes `latency` seconds (real
    time, slept before answering: 20 ms unless a test says otherwise), and with `moves` set to the
    test's clock (`behave`), that clock moves `step` seconds with every request, so time passes while
    a sweep pages, as it does against the real API.
    Page tokens the fake hands out (`token_for`) are opaque and must come back exactly (`redeem`).
    """

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.url = ""
        # The platform's clock, for every answer's Date header (the sources measure their skew from
        # it); None: aiohttp's, the real time. Tests on a hand-moved Clock set it to that clock;
        # `no_date` leaves the header out.
        self.date: Callable[[], float] | None = None
        self.no_date = False
        self.latency = 0.02  # seconds each answer takes (real time), on every answer of every fake
        self.moves: Moving | None = None  # the test's clock, moved `step` seconds by every request
        self.step = 0.0
        self.tokens: dict[str, Any] = {}  # page token -> what it stands for (handed out by token_for)

    def behave(self, clock: Moving | None = None, latency: float = 0.02, step: float = 0.35) -> None:
        """Answer as a real service over a network does: each answer `latency` seconds late, and the
        test's clock `step` seconds further on with each request (a request's round trip, and time
        spent between pages)."""
        self.latency, self.moves, self.step = latency, clock, step

    def token_for(self, state: Any) -> str:
        """An opaque page token standing for `state` (redeem gives it back; nothing can be read from it)."""
        token = secrets.token_urlsafe(12)
        self.tokens[token] = state
        return token

    def redeem(self, token: str) -> Any:
        """What a token handed out stands for; None for one never handed out (changed, made up, truncated)."""
        return self.tokens.get(token)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        body: str = "",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests (to `path` only, when given) with this status, body and headers."""
        self.failures.extend(Failure(status, body, dict(headers or {}), content_type, path) for _ in range(times))

    async def record(self, request: web.Request) -> web.Response | None:
        """Record the request (after the answer's latency, moving the test's clock); return a scripted
        failure if one is queued."""
        if self.moves is not None:
            self.moves.now += self.step
        if self.latency:
            await asyncio.sleep(self.latency)
        body = await request.text() if request.can_read_body else ""
        self.requests.append(Recorded(request.method, request.path, dict(request.query), dict(request.headers), body))
        failure = next((f for f in self.failures if f.path in (None, request.path)), None)
        if failure is not None:
            self.failures.remove(failure)
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
