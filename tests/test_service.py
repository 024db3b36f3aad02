"""Running as a service: sd_notify over a real datagram socket, health and metrics, the systemd unit."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.clock import system
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from monitor.service.systemd import Notifier
from monitor.slack.delivery import ConsoleDelivery
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.clock import Clock
from tests.helpers.daemon import QUERY, T0, add_burst, seed_history, write_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket standing in for systemd's, announced through NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


class SignallingConsole(ConsoleDelivery):
    """The console delivery, telling the test when an alert went out."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.delivered = asyncio.Event()

    async def send(self, event: dict[str, Any], thread_ts: str | None) -> str:
        ts = await super().send(event, thread_ts)
        self.delivered.set()
        return ts


async def listen(sock: socket.socket, messages: list[str]) -> None:
    """Read datagrams as systemd would, so the sender never finds the socket full."""
    loop = asyncio.get_running_loop()
    while True:
        messages.append((await loop.sock_recv(sock, 4096)).decode())


def test_notifier_speaks_the_protocol(notify_socket: socket.socket) -> None:
    notifier = Notifier()
    assert notifier.ready("polling 2 sources") and notifier.watchdog() and notifier.stopping()
    ready, watchdog, stopping = received(notify_socket)
    assert ready == "READY=1\nSTATUS=polling 2 sources"
    assert watchdog == "WATCHDOG=1" and stopping == "STOPPING=1\nSTATUS=stopping"
    reloading = Notifier()
    reloading.reloading()
    (message,) = received(notify_socket)
    assert message.startswith("RELOADING=1\nMONOTONIC_USEC=")


def test_notifier_outside_systemd_and_watchdog_interval() -> None:
    assert not Notifier({}).enabled and not Notifier({}).ready("x")
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    assert Notifier({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"NOTIFY_SOCKET": "@abstract"}).address == "\0abstract"


@pytest.mark.wall_clock
async def test_daemon_notifies_and_serves_health_and_metrics(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    seed_history(fake_hn, fake_reddit, time.time())
    add_burst(fake_hn, fake_reddit, time.time() + 1, 14, "live", spacing=0.1)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1s", tick="1s")
    config, rules = load_all(str(path))
    delivery = SignallingConsole()
    daemon = Daemon(config, rules, path, clock=system, delivery=delivery)
    messages: list[str] = []
    listener = asyncio.create_task(listen(notify_socket, messages))
    task = asyncio.create_task(daemon.run())
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.wait_for(delivery.delivered.wait(), 20)  # the burst was alerted
            base = f"http://127.0.0.1:{daemon.health_server.port}"
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["status"] == "ok"
            async with http.get(f"{base}/metrics") as response:
                metrics = await response.text()
            fake_hn.fail_next(401, times=100)
            daemon.runtime.health["hackernews"].failing_since = None
            await daemon.poll("hackernews", "acme", QUERY)
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 503
                assert (await response.json())["reasons"][0].startswith("hackernews: paused: HTTP 401")
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
        await asyncio.sleep(0)  # let the listener take the last datagram
        listener.cancel()
    for line in ('monitor_polls_total{outcome="ok",source="hackernews"}', "monitor_incidents_open 1.0",
                 'monitor_mentions_ingested_total{brand="acme",platform="reddit"}', "monitor_outbox_depth 0.0",
                 "monitor_alerts_sent_total 1.0", "monitor_rule_tick_duration_seconds_count",
                 'monitor_poll_duration_seconds_bucket{le="0.1",source="reddit"}'):  # fmt: skip
        assert line in metrics, line
    messages += received(notify_socket)
    assert messages[0].startswith("READY=1\nSTATUS=polling 2 source(s), 0 incident(s) open, 0 alert(s) waiting")
    assert "WATCHDOG=1" in messages
    assert any(m.startswith("STATUS=polling 2 source(s), 1 incident(s) open") for m in messages)
    assert messages[-1] == "STOPPING=1\nSTATUS=stopping"


async def test_health_port_in_use_is_a_clear_error(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)
    path.write_text(path.read_text().replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"'))
    config, rules = load_all(str(path))
    try:
        assert await Daemon(config, rules, path, clock=Clock(T0)).run() == 2
    finally:
        taken.close()
    assert f"health.listen: cannot listen on 127.0.0.1:{port}" in caplog.text


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
    reason="systemd-analyze is not installed (CI installs it)",
)
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = (ROOT / "systemd" / "monitor.service").read_text()
    # verify checks that ExecStart exists: point it at this environment's monitor script.
    script = Path(sys.executable).parent / "monitor"
    unit = unit.replace("/opt/monitor/.venv/bin/monitor", str(script))
    path = tmp_path / "monitor.service"
    path.write_text(unit)
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "monitor.service" not in result.stderr, result.stderr


def test_secrets_never_reach_the_log(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from monitor.loading import load_config
    from monitor.service.logs import redact_environment, setup_logging

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-very-secret")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "reddit-secret-value")
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging()
        redact_environment(load_config(ROOT / "config.toml").secret_names)
        log = logging.getLogger("monitor.test")
        log.warning("token %s and %s", "xoxb-1234-very-secret", "reddit-secret-value")
        try:
            raise RuntimeError("failed with xoxb-1234-very-secret")
        except RuntimeError:
            log.exception("boom")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    err = capsys.readouterr().err
    assert "very-secret" not in err and "secret-value" not in err
    assert "WARNING monitor.test: token [redacted] and [redacted]\n" in err  # no timestamp under journald
    assert "RuntimeError: failed with [redacted]" in err


@pytest.mark.wall_clock
async def test_editing_a_rule_file_reloads_the_running_daemon(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import monitor.service.daemon

    monkeypatch.setattr(monitor.service.daemon, "WATCH_INTERVAL", 0.05)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system, delivery=SignallingConsole())
    task = asyncio.create_task(daemon.run())
    try:
        spike = (tmp_path / "rules" / "negative-spike.toml").read_text()
        await asyncio.to_thread(
            (tmp_path / "rules" / "second.toml").write_text, spike.replace("negative-spike", "second")
        )
        await asyncio.wait_for(daemon.reloaded.wait(), 10)
        assert sorted(r.name for r in daemon.runtime.rules) == ["negative-spike", "second"]
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
