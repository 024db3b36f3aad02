"""POST /ingest mounted in the running daemon: [ingest] config, brands per item, stored and counted."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from monitor.clock import system
from monitor.errors import InvalidFiles
from monitor.loading import load_all, load_config
from monitor.service.daemon import Daemon
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.daemon import Quiet, write_config

TOKEN = "ingest-token-for-tests-0123456789"
INGEST = '\n[ingest]\nlisten = "127.0.0.1:0"\ntoken_env = "TEST_INGEST_TOKEN"\n'


def config_with_ingest(tmp_path: Path, hn: FakeHackerNews, reddit: FakeReddit, slack: FakeSlack) -> Path:
    path = write_config(tmp_path, hn.url, reddit.url, slack.url, interval="1h")
    path.write_text(
        path.read_text().replace("[[brands]]", INGEST + "\n[[brands]]", 1)
        + """
[[brands]]
id = "globex"
name = "Globex"
queries = ["globex"]
"""
    )
    return path


async def wait_for_port(daemon: Daemon) -> int:
    for _ in range(200):
        if daemon.ingest_port:
            return daemon.ingest_port
        await asyncio.sleep(0.02)
    raise AssertionError("the ingest endpoint did not start")


@pytest.mark.wall_clock
async def test_ingest_endpoint_stores_and_counts_in_the_running_daemon(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_INGEST_TOKEN", TOKEN)
    path = config_with_ingest(tmp_path, fake_hn, fake_reddit, fake_slack)
    config, rules = load_all(str(path))
    assert config.ingest.enabled and config.ingest.token_env == "TEST_INGEST_TOKEN"
    assert "TEST_INGEST_TOKEN" in config.secret_names
    daemon = Daemon(config, rules, path, clock=system, delivery=Quiet())
    task = asyncio.create_task(daemon.run())
    now = time.time()
    stamp = lambda s: now - s  # noqa: E731
    items = [
        # names its brand: stored for it though the text does not match its query
        {
            "platform": "tiktok",
            "id": "v1",
            "text": "this app keeps crashing, awful",
            "created_at": stamp(60),
            "brand": "acme",
        },
        # no brand: every brand whose query matches (both here)
        {
            "platform": "facebook",
            "id": "p1",
            "text": "Acme Cloud and Globex are both terrible today",
            "created_at": stamp(30),
            "url": "https://facebook.com/p1",
        },
        # no brand and no query matches: accepted, stored for nobody
        {"platform": "facebook", "id": "p2", "text": "nothing to see here", "created_at": stamp(20)},
        # a brand not in config: rejected with the reason
        {"platform": "tiktok", "id": "v2", "text": "acme cloud", "created_at": stamp(10), "brand": "initech"},
    ]
    body = "\n".join(json.dumps(i) for i in items)
    try:
        port = await wait_for_port(daemon)
        url = f"http://127.0.0.1:{port}/ingest"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers={"Content-Type": "application/x-ndjson"}) as response:
                assert response.status == 401
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.json()
            assert response.status == 200, answer
            assert answer["accepted"] == 3 and answer["stored"] == 3
            assert answer["rejected"][0]["line"] == 4 and "initech" in answer["rejected"][0]["error"]
            async with http.post(url, data=body, headers=headers) as response:  # the same batch again
                assert (await response.json())["stored"] == 0
            async with http.get(f"http://127.0.0.1:{daemon.health_server.port}/metrics") as response:
                metrics = await response.text()
        stored = {(m.brand, m.mention.platform, m.mention.id) for m in daemon.store.iter_mentions()}
        assert stored == {("acme", "tiktok", "v1"), ("acme", "facebook", "p1"), ("globex", "facebook", "p1")}
        engine = daemon.runtime.engine
        # counted toward the rules: the negative-spike rule's counts hold both acme mentions
        assert engine.counts[("negative-spike", "acme")].window(now - 3600, now + 1) == 2
        assert engine.counts[("negative-spike", "globex")].window(now - 3600, now + 1) == 1
        assert 'monitor_mentions_ingested_total{brand="acme",platform="tiktok"} 1.0' in metrics
        assert 'monitor_mentions_ingested_total{brand="globex",platform="facebook"} 1.0' in metrics
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
    assert daemon.ingest_port is None  # stopped with the daemon


@pytest.mark.wall_clock
async def test_ingest_without_its_token_stops_the_start_with_a_clear_error(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.delenv("TEST_INGEST_TOKEN", raising=False)
    path = config_with_ingest(tmp_path, fake_hn, fake_reddit, fake_slack)
    config, rules = load_all(str(path))
    assert await Daemon(config, rules, path, clock=system, delivery=Quiet()).run() == 2
    assert "ingest.token_env" in caplog.text and "TEST_INGEST_TOKEN" in caplog.text


def test_ingest_is_off_unless_configured_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    base = '[[brands]]\nid = "acme"\nqueries = ["acme"]\n'
    path.write_text(base)
    assert not load_config(path).ingest.enabled
    path.write_text("[ingest]\n" + base)
    assert load_config(path).ingest.enabled and load_config(path).ingest.port == 9111
    path.write_text("[ingest]\nenabled = false\n" + base)
    assert not load_config(path).ingest.enabled
    path.write_text('[ingest]\nlisten = "nowhere"\ntoken_env = "s3cr3t value"\nmax_body = 10\ncolour = "red"\n' + base)
    with pytest.raises(InvalidFiles) as info:
        load_config(path)
    lines = [str(p) for p in info.value.problems]
    assert f'{path}:2: ingest.listen: expected "HOST:PORT"' in "\n".join(lines)
    assert any(line.startswith(f"{path}:3: ingest.token_env: expected the NAME") for line in lines)
    assert any(line.startswith(f"{path}:4: ingest.max_body: must be at least 1024") for line in lines)
    assert any(line.startswith(f"{path}:5: ingest.colour") for line in lines)


@pytest.mark.wall_clock
async def test_reload_turns_the_endpoint_on_and_off(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_INGEST_TOKEN", TOKEN)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1h")
    plain = path.read_text()
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system, delivery=Quiet())
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.started.wait(), 15)
        assert daemon.ingest_port is None
        path.write_text(plain.replace("[[brands]]", INGEST + "\n[[brands]]", 1))
        assert await daemon.reload()
        await wait_for_port(daemon)
        path.write_text(plain)
        assert await daemon.reload()
        assert daemon.ingest_port is None
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
