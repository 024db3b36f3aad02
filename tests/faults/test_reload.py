"""Reloads: all or nothing, listeners included (a busy port, an unset token variable, a moved health
listener); and what carries across one: sources' health and counters, the silence rules' failing_for,
every job's next run (nothing is polled early)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import system
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.daemon import Quiet, write_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ingest-token-0123456789abcdef"
NEW_TOKEN = "another-token-0123456789abcdef"
INGEST = '\n[ingest]\nlisten = "127.0.0.1:0"\ntoken_env = "FAULTS_INGEST"\n'
ITEM = '{"platform": "tiktok", "id": "v1", "text": "acme cloud clip", "created_at": "2026-11-24T14:00:00Z"}\n'


@pytest.fixture
async def daemon(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Daemon]:  # fmt: skip
    """The daemon running on the wall clock, with polls every hour (each source polled once at start)."""
    monkeypatch.setenv("FAULTS_INGEST", TOKEN)
    monkeypatch.setenv("FAULTS_NEW_INGEST", NEW_TOKEN)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1h")
    path.write_text(path.read_text().replace("[[brands]]", INGEST + "\n[[brands]]", 1))
    config, rules = load_all(str(path))
    running = Daemon(config, rules, path, clock=system, delivery=Quiet())  # type: ignore[arg-type]
    task = asyncio.create_task(running.run())
    await asyncio.wait_for(running.started.wait(), 10)
    try:
        yield running
    finally:
        running.stop.set()
        assert await asyncio.wait_for(task, 30) == 0


def edit(daemon: Daemon, old: str, new: str) -> None:
    assert daemon.config_path is not None
    text = daemon.config_path.read_text()
    assert old in text, old
    daemon.config_path.write_text(text.replace(old, new, 1))


async def ingest(port: int | None, token: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}/ingest", data=ITEM,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    ) as response:  # fmt: skip
        return response.status


async def healthz(port: int) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status


@pytest.fixture
def busy_port() -> AsyncIterator[int]:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    yield taken.getsockname()[1]
    taken.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.wall_clock
async def test_a_reload_that_cannot_take_its_listeners_changes_nothing(
    daemon: Daemon, busy_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    ingest_port, health_port = daemon.ingest_port, daemon.health_server.port
    original = daemon.config_path.read_text()  # type: ignore[union-attr]
    brand = '[[brands]]\nid = "globex"\nname = "Globex"\nqueries = ["globex"]\n'
    refusals = {
        "ingest.listen onto a busy port": (INGEST, INGEST.replace(":0", f":{busy_port}"),
                                           f"ingest.listen: cannot listen on 127.0.0.1:{busy_port}: "),
        "an unset token variable": ("FAULTS_INGEST", "FAULTS_UNSET", "environment variable FAULTS_UNSET"),
        "health.listen onto a busy port": ('listen = "127.0.0.1:0"\n\n[slack]', f'listen = "127.0.0.1:{busy_port}"'
                                           "\n\n[slack]", f"health.listen: cannot listen on 127.0.0.1:{busy_port}: "),
    }  # fmt: skip
    for case, (old, new, said) in refusals.items():
        daemon.config_path.write_text(original + brand)  # type: ignore[union-attr]
        edit(daemon, old, new)
        caplog.clear()
        assert not await daemon.reload(), case
        assert any("reload refused" in r.getMessage() and said in r.getMessage() for r in caplog.records), case
        assert not any("reloaded" in r.getMessage() for r in caplog.records), case
        # Everything as it was: the config (no new brand), the endpoint and its token, health.
        assert [b.id for b in daemon.runtime.config.brands] == ["acme"], case
        assert (daemon.ingest_port, daemon.health_server.port) == (ingest_port, health_port), case
        assert await ingest(ingest_port, TOKEN) == 200 and await healthz(health_port) in (200, 503), case
    # [health] moved to a free port: the new one answers, the old one is closed.
    daemon.config_path.write_text(original)  # type: ignore[union-attr]
    moved = free_port()
    edit(daemon, 'listen = "127.0.0.1:0"\n\n[slack]', f'listen = "127.0.0.1:{moved}"\n\n[slack]')
    assert await daemon.reload() and daemon.health_server.port == moved
    assert await healthz(moved) in (200, 503)
    with pytest.raises(aiohttp.ClientConnectionError):
        await healthz(health_port)
    # The same ingest address with a new token variable: taken in place, the old token no longer works.
    edit(daemon, "FAULTS_INGEST", "FAULTS_NEW_INGEST")
    assert await daemon.reload() and daemon.ingest_port == ingest_port
    assert await ingest(ingest_port, TOKEN) == 401 and await ingest(ingest_port, NEW_TOKEN) == 200


async def polled_once(daemon: Daemon, fake_hn: FakeHackerNews, fake_reddit: FakeReddit) -> None:
    """Wait until the first poll of each source has been recorded in its health."""
    for _ in range(400):
        health = daemon.runtime.health
        if all(h.polls + h.errors >= 1 for h in health.values()) and daemon.in_flight == set():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the first polls did not happen")


@pytest.mark.wall_clock
async def test_a_reload_keeps_sources_state_and_schedules_and_polls_nothing_early(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fake_hn.fail_next(500, times=1000)  # Hacker News fails throughout: a collector-silent rule's case
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1h")
    (tmp_path / "rules" / "collector-silent.toml").write_text((ROOT / "rules" / "collector-silent.toml").read_text())
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system, delivery=Quiet())  # type: ignore[arg-type]
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.started.wait(), 10)
        await polled_once(daemon, fake_hn, fake_reddit)
        health = dict(daemon.runtime.health)
        state = {n: (h.polls, h.errors, h.failing_since, h.last_success) for n, h in health.items()}
        assert state["hackernews"][2] is not None and state["reddit"][3] is not None
        jobs = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()}
        requests = (len(fake_hn.requests), len(fake_reddit.requests))
        failures = daemon.runtime.engine.source_failures  # what collector-silent reads
        assert failures is not None and failures()["hackernews"].since == state["hackernews"][2]
        # A rule file saved: the reload it triggers rebuilds rules and counts, and nothing else.
        spike = (tmp_path / "rules" / "negative-spike.toml").read_text()
        (tmp_path / "rules" / "second.toml").write_text(spike.replace("negative-spike", "second"))
        assert await daemon.reload()
        assert {n: h for n, h in daemon.runtime.health.items()} == health  # the same objects
        assert {n: (h.polls, h.errors, h.failing_since, h.last_success) for n, h in health.items()} == state
        assert {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()} == jobs  # nothing sooner
        assert (len(fake_hn.requests), len(fake_reddit.requests)) == requests
        failures = daemon.runtime.engine.source_failures
        assert failures is not None and failures()["hackernews"].since == state["hackernews"][2]  # failing_for goes on
        # A longer interval for Reddit: its next poll moves to its last one plus the new interval.
        path.write_text(
            path.read_text().replace('[sources.reddit]\ninterval = "1h"', '[sources.reddit]\ninterval = "2h"')
        )
        assert await daemon.reload()
        after = {job.id: job.next_run_time for job in daemon.scheduler.get_jobs()}
        for job_id, when in jobs.items():
            expected = when + timedelta(hours=1) if job_id.startswith("poll:reddit:") else when
            assert after[job_id] == expected, job_id
        assert daemon.runtime.health["reddit"] is health["reddit"]
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 30) == 0
