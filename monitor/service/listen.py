"""Bounded HTTP listeners for /healthz, /metrics and /ingest: a cap on open connections and a time limit
on connections that carry no request.

aiohttp's server accepts every connection it is offered and, by default, keeps one that never sends a
request for an hour. A thousand idle connections (no token needed) then used up the process's file
descriptors: the probes and exporters timed out and asyncio logged an EMFILE traceback per accept.
Here each listener keeps at most `max_connections` open. A connection that has no request in progress
(it has not finished sending its headers, or sits idle between requests) is closed after
`idle_timeout`; when the cap is reached, the one idle longest makes room for the newcomer, so a flood
of idle connections costs its sender their connections, never the daemon its probes. A request in
progress is never cut by this: the handlers bound their own work (ingest reads its body within
BODY_TIMEOUT). With two listeners the daemon needs about 2 x 256 descriptors for them, well under
systemd's default 1,024 and the unit's LimitNOFILE.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

logger = logging.getLogger(__name__)
MAX_CONNECTIONS = 256
IDLE_TIMEOUT = 15.0  # seconds without a request in progress, headers included
SHUTDOWN_TIMEOUT = 5.0  # seconds requests under way may take to finish when a listener stops
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class _Connection:
    since: float  # accepted, or the end of its last request
    busy: int = 0


@dataclass(slots=True)
class Counts:
    """What a listener did with connections, for /metrics."""

    open: int = 0
    evicted: int = 0  # idle, closed to make room under the cap
    refused: int = 0  # the cap reached with every connection busy
    timed_out: int = 0  # idle past idle_timeout


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, told to the guard when it opens and closes."""

    __slots__ = ("admitted", "guard", "inner", "transport")

    def __init__(self, guard: Guard, inner: asyncio.Protocol) -> None:
        self.guard, self.inner = guard, inner
        self.transport: asyncio.BaseTransport | None = None
        self.admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.admitted = self.guard.admit(transport)
        if self.admitted:
            self.inner.connection_made(transport)
        else:
            transport.abort()  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self.guard.forget(self.transport)
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class Guard:
    """Tracks one listener's connections: which carry a request now, and since when the others idle."""

    def __init__(self, max_connections: int | None = None, idle_timeout: float | None = None) -> None:
        self.max_connections = MAX_CONNECTIONS if max_connections is None else max_connections
        self.idle_timeout = IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        self.connections: dict[asyncio.BaseTransport, _Connection] = {}  # oldest first
        self.counts = Counts()
        self._sweeper: asyncio.TimerHandle | None = None

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Take a new connection, closing the longest-idle one when at the cap; False: every one is busy."""
        if len(self.connections) >= self.max_connections:
            idle = next((t for t, c in self.connections.items() if not c.busy), None)
            if idle is None:
                self.counts.refused += 1
                return False
            self.forget(idle)
            idle.abort()  # type: ignore[attr-defined]
            self.counts.evicted += 1
        self.connections[transport] = _Connection(self._now())
        self.counts.open = len(self.connections)
        return True

    def forget(self, transport: asyncio.BaseTransport | None) -> None:
        """The connection closed."""
        if transport is not None:
            self.connections.pop(transport, None)
            self.counts.open = len(self.connections)

    def factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's protocol factory."""
        return lambda: _Guarded(self, make())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark the connection busy while its request is handled."""
        transport = request.transport
        connection = self.connections.pop(transport, None) if transport is not None else None
        if transport is None or connection is None:
            return await handler(request)
        # Put back at the end of the order: the longest-idle connection is then the first idle one found.
        self.connections[transport] = connection
        connection.busy += 1
        try:
            return await handler(request)
        finally:
            connection.busy -= 1
            connection.since = self._now()

    def start(self) -> None:
        """Close idle connections every few seconds."""
        self._sweeper = asyncio.get_running_loop().call_later(self.idle_timeout / 3, self._sweep)

    def stop(self) -> None:
        """Stop sweeping."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _sweep(self) -> None:
        now = self._now()
        stale = [t for t, c in self.connections.items() if not c.busy and now - c.since > self.idle_timeout]
        for transport in stale:
            self.forget(transport)
            transport.abort()  # type: ignore[attr-defined]
        self.counts.timed_out += len(stale)
        self.start()


class Listener:
    """An aiohttp application served on host:port under a Guard."""

    def __init__(self, app: web.Application, name: str, guard: Guard | None = None) -> None:
        self.name = name
        self.guard = guard or Guard()
        app.middlewares.append(self.guard.middleware)
        self.app = app
        self.runner: web.AppRunner | None = None
        self.server: asyncio.Server | None = None
        self.host, self.port = "", 0

    async def start(self, host: str, port: int) -> None:
        """Listen (OSError when the address cannot be taken: nothing is left open then)."""
        # aiohttp's own keep-alive timer is a backstop only: the guard closes idle connections first.
        runner = web.AppRunner(
            self.app, access_log=None, keepalive_timeout=2 * self.guard.idle_timeout, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        assert runner.server is not None
        try:
            server = await asyncio.get_running_loop().create_server(
                self.guard.factory(runner.server), host, port, reuse_address=True, backlog=128
            )
        except OSError:
            await runner.cleanup()
            raise
        self.runner, self.server = runner, server
        self.host, self.port = host, int(server.sockets[0].getsockname()[1])
        self.guard.start()

    async def stop(self) -> None:
        """Stop listening; requests under way finish first (aiohttp's shutdown), idle connections close."""
        server, runner, self.server, self.runner = self.server, self.runner, None, None
        self.guard.stop()
        if server is not None:
            server.close()
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            for transport in list(self.guard.connections):
                transport.abort()  # type: ignore[attr-defined]
            self.guard.connections.clear()


def cannot_bind(exc: OSError) -> str:
    """Why an address could not be taken, in the system's words ("Address already in use")."""
    return os.strerror(exc.errno) if exc.errno else str(exc)
