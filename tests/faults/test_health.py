"""/healthz and /metrics tell the truth: starting (with its grace), degraded while every source fails or
the database cannot be written, and Slack's Socket Mode that could not connect, retried until it does."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.loading import load_all
from monitor.service import listeners
from monitor.service.daemon import Daemon
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import APP_TOKEN, TOKEN, FakeSlack
from tests.fakes.socketmode import FakeSocketMode
from tests.helpers.clock import Clock
from tests.helpers.daemon import QUERY, T0, seed_history, write_config


async def get(daemon: Daemon, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{daemon.health_server.port}{path}"
    ) as response:  # fmt: skip
        return response.status, await (response.json() if path == "/healthz" else response.text())


@pytest.fixture
def config_path(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    seed_history(fake_hn, fake_reddit, T0)
    return write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)


async def test_health_is_starting_then_degraded_while_every_source_fails_then_ok(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit
) -> None:
    clock = Clock(T0)
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=clock)
    await daemon.health_server.start("127.0.0.1", 0)
    try:
        status, report = await get(daemon, "/healthz")
        # Nothing polled yet: "starting", with the grace written out (3 intervals of 5 min + 1 min).
        assert (status, report["status"], report["starting_until"]) == (200, "starting", T0 + 960)
        fake_hn.fail_next(500, times=50)
        fake_reddit.fail_next(500, times=50)
        for source in ("hackernews", "reddit"):
            await daemon.poll(source, "acme", QUERY)
        status, report = await get(daemon, "/healthz")
        # Every source failing since start: degraded at once, not "ok" for 16 minutes.
        assert (status, report["status"]) == (503, "degraded")
        assert report["reasons"][0] == "every source is failing (2 of 2)"
        assert report["reasons"][1].startswith("hackernews: failing since start (")
        fake_reddit.failures.clear()
        clock.now = daemon.runtime.health["reddit"].not_before + 1
        await daemon.poll("reddit", "acme", QUERY)
        status, report = await get(daemon, "/healthz")
        assert (status, report["status"], report["reasons"]) == (200, "starting", [])  # one works; grace for the other
        clock.now = T0 + 961
        status, report = await get(daemon, "/healthz")
        assert (status, report["status"]) == (503, "degraded")
        assert report["reasons"][0].startswith("hackernews: no successful poll since start (")
        fake_hn.failures.clear()
        clock.now = max(clock.now, daemon.runtime.health["hackernews"].not_before) + 1
        await daemon.poll("reddit", "acme", QUERY)
        await daemon.poll("hackernews", "acme", QUERY)
        status, report = await get(daemon, "/healthz")
        assert (status, report["status"], report["reasons"]) == (200, "ok", [])
        _, metrics = await get(daemon, "/metrics")
        assert 'monitor_health_status{status="ok"} 1.0' in metrics
    finally:
        await daemon.close()


async def test_health_is_degraded_while_the_database_cannot_be_written(
    config_path: Path, fake_hn: FakeHackerNews
) -> None:
    clock = Clock(T0)
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=clock)
    await daemon.health_server.start("127.0.0.1", 0)
    poll = daemon._tracked(daemon.poll)
    try:
        for source in ("hackernews", "reddit"):
            await poll(source, "acme", QUERY)
        assert (await get(daemon, "/healthz"))[1]["status"] == "ok"
        daemon.store.db.execute("PRAGMA query_only = 1")  # as a read-only file or a full disk would
        fake_hn.add_hit("new", int(T0 + 30), "Acme Cloud is down again")
        clock.now = T0 + 60
        await poll("hackernews", "acme", QUERY)
        status, report = await get(daemon, "/healthz")
        assert (status, report["status"], report["storage"]) == (503, "degraded", "failing")
        assert report["reasons"] == ["storage: the database cannot be written (attempt to write a readonly database)"]
        assert "monitor_storage_up 0.0" in (await get(daemon, "/metrics"))[1]
        daemon.store.db.execute("PRAGMA query_only = 0")
        await poll("hackernews", "acme", QUERY)
        assert (await get(daemon, "/healthz"))[1]["storage"] == "ok"
    finally:
        await daemon.close()


async def test_socket_mode_that_cannot_connect_is_shown_and_retried_until_it_does(
    config_path: Path, fake_slack: FakeSlack, fake_socket_mode: FakeSocketMode, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setattr(listeners, "BUTTONS_RETRY", 0.05)
    fake_slack.fail_next(503, times=3)  # Slack's trouble, not a refused token: tried again soon
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=Clock(T0))
    await daemon.health_server.start("127.0.0.1", 0)
    try:
        await daemon.start_socket_mode()
        assert daemon.socket_mode is None
        status, report = await get(daemon, "/healthz")
        assert report["socket_mode"] == "failing" and status == 503
        assert "slack: Socket Mode not connected, buttons do not work (503)" in report["reasons"]
        assert "monitor_socket_mode_up 0.0" in (await get(daemon, "/metrics"))[1]
        retry = daemon.buttons_retry
        assert retry is not None
        await asyncio.wait_for(retry, 10)  # tried again until it got through
        await fake_socket_mode.connected()
        assert daemon.socket_mode is not None
        status, report = await get(daemon, "/healthz")
        assert report["socket_mode"] == "connected" and not any("Socket Mode" in r for r in report["reasons"])
        assert "monitor_socket_mode_up 1.0" in (await get(daemon, "/metrics"))[1]
    finally:
        await daemon.close()
    assert len(fake_slack.paths("/api/apps.connections.open")) == 4
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["slack: Socket Mode is off, buttons will not work: 503"]  # said once, not per retry


def exposed(config_path: Path) -> Path:
    """The config with health on every interface, and an ingest endpoint."""
    text = config_path.read_text().replace('listen = "127.0.0.1:0"', 'listen = "0.0.0.0:0"')
    config_path.write_text(text + '\n[ingest]\nlisten = "127.0.0.1:0"\ntoken_env = "FAULTS_INGEST"\n')
    return config_path


async def test_listeners_on_every_interface_and_a_short_ingest_token_are_said_at_start(
    config_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FAULTS_INGEST", "abc")
    config, rules = load_all(str(exposed(config_path)))
    daemon = Daemon(config, rules, config_path, clock=Clock(T0))
    daemon.stop.set()  # start, say what it says, stop
    assert await daemon.run() == 0
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(line.startswith("health.listen: 0.0.0.0 listens on every network interface") for line in said)
    assert (
        "ingest.token_env: the token in FAULTS_INGEST has 3 character(s), easy to guess: use at least 16 random"
        " ones (`openssl rand -hex 32`)" in said
    )
    assert not any("abc" in line.split("FAULTS_INGEST")[-1] for line in said)  # the token itself never


def test_the_unit_gives_the_listeners_room() -> None:
    from monitor.service.listen import MAX_CONNECTIONS

    unit = (Path(__file__).resolve().parents[2] / "systemd" / "monitor.service").read_text()
    (limit,) = [int(line.split("=")[1]) for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert limit >= 2 * MAX_CONNECTIONS + 1000
