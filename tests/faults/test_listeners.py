"""The health and ingest listeners under abuse: thousands of idle connections, requests that never
finish, a 100,000-item batch, floods of refused requests and broken ones; and a shutdown mid-poll."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import resource
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from monitor.clock import system
from monitor.loading import load_all
from monitor.service import ingest_endpoint
from monitor.service.daemon import Daemon
from monitor.service.listen import Guard, Listener
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.faults.conftest import daemon_config
from tests.helpers.daemon import Quiet, write_config
from tests.helpers.process import environment, running

TOKEN = "ingest-token-0123456789abcdef"
INGEST = '\n[ingest]\nlisten = "127.0.0.1:0"\ntoken_env = "FAULTS_INGEST"\nmax_body = 16777216\n'
IDLE = 2000  # idle connections to each listener


def _item(i: int, **fields: Any) -> str:
    return json.dumps({"platform": "tiktok", "id": f"v{i}", "text": f"python clip {i}", "created_at": time.time() - 60,
                       "brand": "python", **fields})  # fmt: skip


async def _connect_many(port: int, count: int) -> list[asyncio.StreamWriter]:
    """Open count connections that send nothing (some may be closed by the server as others come)."""
    writers: list[asyncio.StreamWriter] = []
    for _ in range(count // 200):
        opened = await asyncio.gather(
            *(asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10) for _ in range(200)),
            return_exceptions=True,
        )
        writers += [pair[1] for pair in opened if isinstance(pair, tuple)]
    return writers


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in /metrics")


@pytest.fixture
def many_files() -> Any:
    """Room in this process for the idle connections' client ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * IDLE + 500
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"the hard limit on open files ({hard}) leaves no room for {2 * IDLE} client connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.wall_clock
async def test_thousands_of_idle_connections_leave_health_and_ingest_answering(
    tmp_path: Path, fake_hn: FakeHackerNews, many_files: None
) -> None:
    config = daemon_config(tmp_path, fake_hn.url)
    config.write_text(config.read_text() + INGEST)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def usual_limit() -> None:  # the soft limit most systems (and systemd) give a service: 1,024 files
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    async with running(config, environment(FAULTS_INGEST=TOKEN), preexec=usual_limit) as daemon:
        health, ingest = await daemon.port("health and metrics"), await daemon.port("ingest endpoint")
        await daemon.said("running: ")
        idle = await _connect_many(health, IDLE) + await _connect_many(ingest, IDLE)  # no token needed
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.get(f"http://127.0.0.1:{health}/healthz") as response:
                    assert response.status in (200, 503) and "status" in await response.json()
                headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
                async with http.post(f"http://127.0.0.1:{ingest}/ingest", data=_item(1), headers=headers) as response:
                    assert response.status == 200 and (await response.json())["accepted"] == 1
                async with http.get(f"http://127.0.0.1:{health}/metrics") as response:
                    metrics = await response.text()
            open_files = len(os.listdir(f"/proc/{daemon.process.pid}/fd"))
        finally:
            for writer in idle:
                writer.close()
    assert open_files < 700, open_files  # 2 x 256 connections at most, and the daemon's own files
    for listener in ("health", "ingest"):
        evicted = _metric(metrics, "monitor_listener_connections_closed_total", listener=listener, reason="evicted")
        assert evicted > IDLE / 2, (listener, evicted)  # most of the flood made room for later connections
    for flood in ("Too many open files", "out of system resource", "Traceback"):
        assert flood not in daemon.text, daemon.text


class Gate:
    """Requests to /slow wait here until it opens; the test can wait until so many are waiting."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0
        self.changed = asyncio.Condition()

    async def slow(self, request: web.Request) -> web.Response:
        async with self.changed:
            self.waiting += 1
            self.changed.notify_all()
        await self.opened.wait()
        return web.Response(text="done")

    async def until_waiting(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.waiting >= count), 10)


def _app(gate: Gate) -> web.Application:
    async def fast(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", gate.slow)
    app.router.add_get("/fast", fast)
    return app


class Clients:
    """Raw connections to a listener, all closed at the end."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(self, send: bytes = b"") -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers.append(writer)
        if send:
            writer.write(send)
            await writer.drain()
        return reader

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


async def test_a_listener_cuts_half_sent_requests_and_idle_connections_never_busy_ones() -> None:
    gate = Gate()
    guard = Guard(max_connections=10, idle_timeout=0.3)
    listener = Listener(_app(gate), "test", guard)
    await listener.start("127.0.0.1", 0)
    clients = Clients(listener.port)
    try:
        half = await clients.connect(b"GET /fast HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        busy = await clients.connect(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        kept = await clients.connect(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(kept.readuntil(b"ok"), 10)).endswith(b"ok")
        assert await asyncio.wait_for(half.read(), 10) == b""  # cut after idle_timeout
        assert await asyncio.wait_for(kept.read(), 10) == b""  # idle after its answer: cut too
        gate.opened.set()  # the busy one outlived idle_timeout, and still gets its answer
        assert (await asyncio.wait_for(busy.readuntil(b"done"), 10)).endswith(b"done")
        assert guard.counts.timed_out == 2
    finally:
        clients.close()
        await listener.stop()


async def test_at_its_cap_a_listener_drops_the_longest_idle_connection_or_refuses_when_all_are_busy() -> None:
    gate = Gate()
    guard = Guard(max_connections=3, idle_timeout=60)
    listener = Listener(_app(gate), "test", guard)
    await listener.start("127.0.0.1", 0)
    clients = Clients(listener.port)
    try:
        oldest = await clients.connect()
        for _ in range(2):
            await clients.connect()
        newcomer = await clients.connect(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(newcomer.readuntil(b"ok"), 10)).endswith(b"ok")
        assert await asyncio.wait_for(oldest.read(), 10) == b"" and guard.counts.evicted == 1
        for _ in range(3):  # every connection busy
            await clients.connect(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await gate.until_waiting(3)
        refused = await clients.connect()
        with pytest.raises(ConnectionError):
            if await asyncio.wait_for(refused.read(), 10) == b"":
                raise ConnectionResetError  # closed, as good as reset
        assert guard.counts.refused == 1 and len(guard.connections) == 3  # none of the busy ones was cut
        gate.opened.set()
    finally:
        clients.close()
        await listener.stop()


async def test_a_body_that_does_not_arrive_is_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_endpoint, "BODY_TIMEOUT", 0.3)
    monkeypatch.setenv("FAULTS_INGEST", TOKEN)

    async def accept(items: list[Any]) -> int:
        return len(items)

    listener = Listener(ingest_endpoint.ingest_app(accept, "FAULTS_INGEST"), "ingest")
    await listener.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(f"POST /ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                     "Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{\"plat".encode())  # fmt: skip
        answer = await asyncio.wait_for(reader.readuntil(b"send it again"), 10)
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 0 s" in answer
        writer.close()
        await writer.wait_closed()
    finally:
        await listener.stop()


@pytest.mark.wall_clock
async def test_a_100000_item_batch_never_holds_up_health_or_metrics(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("FAULTS_INGEST", TOKEN)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1h")
    path.write_text(path.read_text().replace("[[brands]]", INGEST + "\n[[brands]]", 1))
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system, delivery=Quiet())  # type: ignore[arg-type]
    task = asyncio.create_task(daemon.run())
    body = "\n".join(_item(i, brand="acme") for i in range(100_000)).encode()
    seen: list[float] = []  # mentions ingested, as /metrics told while the batch was being stored
    try:
        await asyncio.wait_for(daemon.started.wait(), 10)
        base = f"http://127.0.0.1:{daemon.health_server.port}"
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
            post = asyncio.create_task(http.post(f"http://127.0.0.1:{daemon.ingest_port}/ingest",
                                                 data=io.BytesIO(body), headers=headers))  # fmt: skip
            while not post.done():
                async with http.get(f"{base}/metrics") as response:
                    text = await response.text()
                counted = re.search(r'monitor_mentions_ingested_total\{brand="acme",platform="tiktok"\} (\S+)', text)
                seen.append(float(counted[1]) if counted else 0.0)
            response = await post
            assert response.status == 200 and (await response.json())["stored"] == 100_000
            response.release()
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 30) == 0
    # /metrics answered while the batch was stored, slice by slice: not once before and once after.
    assert any(0 < n < 100_000 for n in seen), seen[:3] + seen[-3:]
    assert len({n for n in seen if 0 < n < 100_000}) >= 5


@pytest.mark.wall_clock
async def test_floods_of_refused_broken_and_abandoned_requests_are_a_few_lines(
    tmp_path: Path, fake_hn: FakeHackerNews
) -> None:
    config = daemon_config(tmp_path, fake_hn.url)
    config.write_text(config.read_text() + INGEST)
    async with running(config, environment(FAULTS_INGEST=TOKEN)) as daemon:
        port = await daemon.port("ingest endpoint")
        url = f"http://127.0.0.1:{port}/ingest"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):  # a sender with a stale token, or someone guessing
                async with http.post(url, data=_item(1), headers={"Authorization": "Bearer wrong"}) as response:
                    assert response.status == 401
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
            deep = '{"platform": "x", "id": "deep", "text": ' + "[" * 50_000 + "]" * 50_000 + "}"
            for _ in range(20):  # JSON nested past Python's recursion limit, beside a good item
                async with http.post(url, data=deep + "\n" + _item(2), headers=headers) as response:
                    answer = await response.json()
                    assert response.status == 200, answer
                    assert answer["rejected"] == [{"line": 1, "error": "not JSON: nested too deeply"}]
        for _ in range(30):  # senders that go away halfway through their body
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"POST /ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                         "Content-Length: 100000\r\n\r\n".encode() + b"x" * 5000)  # fmt: skip
            await writer.drain()
            writer.transport.abort()
        await daemon.said("refused a request")
    refused = [line for line in daemon.lines if "refused a request" in line]
    assert 1 <= len(refused) <= 5, daemon.text  # 300 refusals: a few lines, not 300
    assert "Traceback" not in daemon.text and "RecursionError" not in daemon.text, daemon.text
    assert "Error handling request" not in daemon.text


@pytest.mark.wall_clock
async def test_a_shutdown_that_cuts_off_a_poll_says_so_in_one_line(
    tmp_path: Path, fake_hn: FakeHackerNews, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import monitor.service.daemon

    monkeypatch.setattr(monitor.service.daemon, "SHUTDOWN_TIMEOUT", 0.2)
    caplog.set_level(logging.INFO)
    hung, release = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        hung.set()
        await release.wait()  # past the daemon's shutdown, which cuts the poll off
        return web.json_response({"hits": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    listener = Listener(app, "platform")
    await listener.start("127.0.0.1", 0)
    config_path = daemon_config(tmp_path, f"http://127.0.0.1:{listener.port}/api/v1/")
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=system, delivery=Quiet())  # type: ignore[arg-type]
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(hung.wait(), 10)  # a poll waits on the platform
        daemon.stop.set()  # as SIGTERM does
        assert await asyncio.wait_for(task, 10) == 0
    finally:
        release.set()
        await listener.stop()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
    cut = [r.getMessage() for r in caplog.records if "cut off" in r.getMessage()]
    assert cut == ["shutdown: poll ('hackernews', 'python', 'python') cut off"]
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
