"""Security: secrets never in logs, errors, metrics, health, alerts or the database; the health server
on loopback unless told otherwise; outgoing requests only to the hosts config names."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from yarl import URL

from monitor.engine.poll import poll_once
from monitor.loading import load_config
from monitor.service.wiring import build_sources
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.newsapi import FakeNewsApi
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import TOKEN, FakeSlack
from tests.fakes.x import FakeX
from tests.faults.conftest import daemon_config, read_db
from tests.helpers.clock import Clock
from tests.helpers.sources import BY_NAME, QUERY, SPECS, T0

SECRETS = {
    "SLACK_BOT_TOKEN": TOKEN,
    "REDDIT_CLIENT_ID": "r3ddit-client-id-77",
    "REDDIT_CLIENT_SECRET": "r3ddit-s3cret-value-88",
    "FAULTS_X_TOKEN": "x-b3arer-WRONG-value-99",  # refused: the error path must not quote it
    "FAULTS_NEWS_KEY": "n3ws-WRONG-key-value-11",  # refused too
    "MONITOR_INGEST_TOKEN": "1ngest-t0ken-value-22",
}


def urlencoded(value: str) -> list[str]:
    from urllib.parse import quote

    return [value, quote(value), quote(value, safe="")]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:  # 503 while a source is failing: the body still counts
        return str(exc.read().decode())


@pytest.mark.wall_clock
@pytest.mark.slow
async def test_no_secret_in_logs_errors_metrics_health_alerts_or_database(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_x: FakeX, fake_newsapi: FakeNewsApi,
    fake_slack: FakeSlack,
) -> None:  # fmt: skip
    config = daemon_config(tmp_path, fake_hn.url, fake_slack.url)
    text = config.read_text().replace("[sources.reddit]\nenabled = false", "[sources.reddit]\nenabled = true")
    reddit = f'base_url = "{fake_reddit.url}"\noauth_base_url = "{fake_reddit.url}"'
    text = text.replace('base_url = "https://www.reddit.com/"', reddit).replace('interval = "5m"', 'interval = "1s"')
    text += f"""
[sources.x]
enabled = true
interval = "1s"
base_url = "{fake_x.url}"
token_env = "FAULTS_X_TOKEN"

[sources.newsapi]
enabled = true
interval = "1s"
base_url = "{fake_newsapi.url}"
key_env = "FAULTS_NEWS_KEY"

[ingest]
listen = "127.0.0.1:0"
token_env = "MONITOR_INGEST_TOKEN"
"""
    config.write_text(text)
    fake_reddit.client_id, fake_reddit.client_secret = SECRETS["REDDIT_CLIENT_ID"], SECRETS["REDDIT_CLIENT_SECRET"]
    fake_slack.fail_next(500)  # one failed delivery: its error is logged too
    now = int(time.time())
    fake_hn.add_hit("old", now - 3600, "python is fine")
    env = {**os.environ, **SECRETS}
    env.pop("SLACK_APP_TOKEN", None)
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "-v", "run", "--config", str(config), stdout=out, stderr=out, env=env,
            cwd=tmp_path,
        )  # fmt: skip
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while "running: " not in log.read_text() or not read_db(
            tmp_path / "monitor.db", "SELECT * FROM cursors WHERE source = 'hackernews'"
        ):
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)
        for i in range(6):
            fake_hn.add_hit(f"b{i}", int(time.time()) + 1, f"python outage {i}: everything is down")
        await fake_slack.wait_for_messages(1, within=30)
        port = re.search(r"health and metrics on http://127\.0\.0\.1:(\d+)/", log.read_text())
        assert port is not None  # on loopback
        seen.append(await asyncio.to_thread(fetch, f"http://127.0.0.1:{port[1]}/metrics"))
        seen.append(await asyncio.to_thread(fetch, f"http://127.0.0.1:{port[1]}/healthz"))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    said = log.read_text()
    assert "x: paused" in said and "FAULTS_X_TOKEN" in said  # the refusal was logged, naming the variable
    seen += [said, (tmp_path / "monitor.db").read_bytes().decode(errors="replace")]
    seen += [fake_slack.text_of(m) for m in fake_slack.messages]
    for name, value in SECRETS.items():
        for form in urlencoded(value):
            for where in seen:
                assert form not in where, f"{name} leaked"


def test_the_health_server_listens_on_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    base = '[monitor]\ndatabase = "m.db"\n[[brands]]\nid = "a"\nname = "A"\nqueries = ["a"]\n'
    (tmp_path / "config.toml").write_text(base)
    config = load_config(tmp_path / "config.toml")
    assert (config.health.host, config.ingest.host) == ("127.0.0.1", "127.0.0.1")
    (tmp_path / "config.toml").write_text(base + '[health]\nlisten = "0.0.0.0:9110"\n')
    assert load_config(tmp_path / "config.toml").health.host == "0.0.0.0"  # told otherwise


@pytest.fixture
async def traced() -> AsyncIterator[tuple[aiohttp.ClientSession, list[URL]]]:
    """A session that records the URL of every request it sends (redirects included)."""
    urls: list[URL] = []

    async def on_start(_: Any, __: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
        urls.append(params.url)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, urls


@pytest.fixture
def every_fake(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every platform's running fake, by source name."""
    return {spec.name: request.getfixturevalue(spec.fixture) for spec in SPECS}


async def test_requests_go_only_to_the_hosts_config_names(
    tmp_path: Path, every_fake: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    traced: tuple[aiohttp.ClientSession, list[URL]],
) -> None:  # fmt: skip
    session, urls = traced
    (tmp_path / "rules").mkdir()
    tables, allowed = [], set()
    clock = Clock(T0)
    for spec in SPECS:
        fake = every_fake[spec.name]
        fake.date = clock
        if hasattr(fake, "clock"):
            fake.clock = clock
        spec.add(fake, 1, T0 - 600)
        for name, value in spec.env.items():
            monkeypatch.setenv(name, value(fake))
        options = "".join(f'{k} = "{v}"\n' for k, v in spec.options.items() if isinstance(v, str))
        options += "".join(f'{k} = "{fake.url}"\n' for k in spec.url_options)
        tables.append(f'[sources.{spec.name}]\nenabled = true\nbase_url = "{fake.url}"\n{options}')
        allowed.add((URL(fake.url).host, URL(fake.url).port))
    (tmp_path / "config.toml").write_text(
        f'[monitor]\ndatabase = "m.db"\n[[brands]]\nid = "acme"\nname = "Acme"\nqueries = ["{QUERY}"]\n\n'
        + "\n".join(tables)
    )
    config = load_config(tmp_path / "config.toml")
    from monitor.engine.core import Engine
    from monitor.sentiment import Scorer
    from monitor.store import Store

    store = Store.open(":memory:")
    engine = Engine(config, [], store, Scorer.of(config))
    brand = config.brand("acme")
    assert brand is not None
    for name, source in build_sources(config, session, clock).items():
        await poll_once(source, brand, QUERY, engine, T0)
        assert urls, name
    store.close()
    assert {(u.host, u.port) for u in urls} <= allowed
    assert {u.scheme for u in urls} == {"http"}
    assert len({u.port for u in urls}) == len(BY_NAME)  # every source made requests, each to its own host


# Secrets of the shapes platforms hand out, pasted where a variable's NAME belongs.
PASTED = ["Xk3jAbC9dEfGh2LmNoPq", "3f9a0c2e8d7b41f6a5c3e2d1b0a99887", "AKIAIOSFODNN7EXAMPLE", "abcd-efgh-ijkl-mnop"]


@pytest.mark.parametrize("secret", PASTED)
def test_a_secret_pasted_into_any_env_key_is_refused_and_never_echoed(
    tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.commands import main
    from monitor.sources import SOURCES

    keys = [("slack", k) for k in ("token_env", "webhook_env", "app_token_env")] + [("ingest", "token_env")]
    keys += [(f"sources.{name}", k) for name, cls in SOURCES.items() for k in cls.options if k.endswith("_env")]
    tables: dict[str, list[str]] = {}
    for table, key in keys:
        tables.setdefault(table, []).append(f'{key} = "{secret}"')
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('[monitor]\ndatabase = "m.db"\n[[brands]]\nid = "a"\nname = "A"\nqueries = ["a"]\n' + "".join(
        f"[{table}]\n" + "\n".join(lines) + "\n" for table, lines in tables.items()))  # fmt: skip
    for command in ("check", "run"):
        assert main([command, "--config", str(config)], clock=Clock(T0)) == 2
        captured = capsys.readouterr()
        said = captured.out + captured.err
        assert secret not in said
        problems = [line for line in captured.err.splitlines() if "expected the NAME of an environment" in line]
        assert len(problems) == len(keys), said  # one line per key, each naming it
        for table, key in keys:
            assert any(f": {table}.{key}: expected the NAME" in line for line in problems), (table, key)
    assert not (tmp_path / "m.db").exists()  # refused before anything started
