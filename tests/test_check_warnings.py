"""`monitor check` warnings: missing credentials of enabled sources, intervals past documented quotas."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from monitor.clock import system
from monitor.commands import main
from monitor.commands.check import check_warnings
from monitor.loading import load_all, load_config
from monitor.service.daemon import Daemon
from monitor.sources import SOURCES
from monitor.sources.quota import budget_lines
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.daemon import Quiet, write_config

BRANDS = """
[[brands]]
id = "acme"
queries = ["acme cloud", "acmecloud"]

[[brands]]
id = "globex"
queries = ["globex"]
"""


def write(tmp_path: Path, sources: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BRANDS + sources)
    return path


def warnings(path: Path, **environ: str) -> list[str]:
    return [str(w) for w in check_warnings(load_config(path), environ)]


def test_missing_credentials_are_named_with_their_consequence(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[sources.x]
interval = "1h"

[sources.bluesky]
interval = "1h"

[sources.reddit]
interval = "1h"

[sources.youtube]
enabled = false
""",
    )
    found = warnings(path, BLUESKY_HANDLE="me.bsky.social")
    assert (
        f"{path}:10: sources.x.token_env: warning: X_BEARER_TOKEN is not set in the environment: x will pause"
        in found[0]
    )
    assert any("sources.bluesky.password_env: warning: BLUESKY_APP_PASSWORD is not set" in w for w in found)
    assert not any("BLUESKY_HANDLE" in w for w in found)
    assert any("REDDIT_CLIENT_ID is not set in the environment: optional, but without it it searches anonymously"
               in w for w in found)  # fmt: skip
    assert not any("YOUTUBE" in w for w in found)  # disabled sources are not checked
    everything = {"X_BEARER_TOKEN": "t", "BLUESKY_HANDLE": "h", "BLUESKY_APP_PASSWORD": "p",
                  "REDDIT_CLIENT_ID": "i", "REDDIT_CLIENT_SECRET": "s"}  # fmt: skip
    assert warnings(path, **everything) == []


def test_intervals_past_documented_quotas(tmp_path: Path) -> None:
    # three queries across the brands
    path = write(
        tmp_path,
        """
[sources.youtube]
interval = "15m"

[sources.newsapi]
interval = "30m"

[sources.stackexchange]
interval = "10m"

[sources.gdelt]
interval = "10s"
""",
    )
    env = {"YOUTUBE_API_KEY": "k", "NEWSAPI_KEY": "k"}
    found = warnings(path, **env)
    joined = "\n".join(found)
    # YouTube: 10,000 units / (102 a page x 3 queries) = 32 polls a day; every 15m is 96
    assert "sources.youtube.interval: warning: every 15m x 3 query(ies) needs 96 polls a day per query but the" \
           " quota of 10000 units allows 32" in joined  # fmt: skip
    assert "use at least 45m" in joined
    # NewsAPI: 48 polls x 3 queries = 144 > 100
    assert "sources.newsapi.interval: warning: every 30m x 3 query(ies) is 144 requests a day; NewsAPI's free plan" \
           " allows 100: use at least 43m12s" in joined  # fmt: skip
    # Stack Exchange without a key: 432 > 300; with one, fine
    assert "Stack Exchange allows 300 (a key in the environment raises it to 10,000)" in joined
    assert not any("stackexchange" in w for w in warnings(path, STACKEXCHANGE_KEY="k", **env))
    # GDELT: a request every 3.3 s
    assert "sources.gdelt.interval: warning: every 10s x 3 query(ies) is a request every 3.3s" in joined
    slow = write(
        tmp_path,
        """
[sources.youtube]
interval = "1h"

[sources.newsapi]
interval = "1h"

[sources.stackexchange]
interval = "15m"

[sources.gdelt]
interval = "15m"
""",
    )
    assert not any("interval" in w for w in warnings(slow, **env, STACKEXCHANGE_KEY="k"))


def test_check_warns_but_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("NEWSAPI_KEY", raising=False)
    (tmp_path / "rules").mkdir()
    path = write(tmp_path, '\n[sources.newsapi]\ninterval = "5m"\n')
    assert main(["check", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    assert "sources.newsapi.key_env: warning: NEWSAPI_KEY is not set" in err
    assert "sources.newsapi.interval: warning: every 5m x 3 query(ies) is 864 requests a day" in err


def test_youtube_budget(tmp_path: Path) -> None:
    path = write(tmp_path, '\n[sources.youtube]\ninterval = "30m"\n')
    assert budget_lines(load_config(path), SOURCES) == [
        "youtube: 10000 quota units a day fit 32 poll(s) a day of each of 3 query(ies), one every 45m at most;"
        " configured every 30m: the quota runs out, the source pauses until midnight Pacific time"
    ]
    path = write(tmp_path, '\n[sources.youtube]\ninterval = "1h"\ndaily_quota = 0\n')
    assert budget_lines(load_config(path), SOURCES) == [
        "youtube: daily_quota = 0: no local quota count, Google's answers decide"
    ]


@pytest.mark.wall_clock
async def test_youtube_budget_is_logged_at_daemon_start(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv("YOUTUBE_API_KEY", "k")
    caplog.set_level(logging.INFO, logger="monitor")
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1h")
    path.write_text(path.read_text() + f'\n[sources.youtube]\ninterval = "1h"\nbase_url = "{fake_hn.url}"\n')
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system, delivery=Quiet())
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 15)
    daemon.stop.set()
    assert await asyncio.wait_for(task, 15) == 0
    assert "youtube: 10000 quota units a day fit 98 poll(s) a day of each of 1 query(ies), one every 14m42s" \
           " at most; configured every 1h" in caplog.text  # fmt: skip


def test_shipped_source_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    from monitor.sources import SOURCES

    root = Path(__file__).resolve().parent.parent
    text = (root / "config.toml").read_text()
    head, _, examples = text.partition("# The other sources")
    example = re.compile(r"# (\[sources\.\w+\]|\w+ = )")
    uncommented = [line[2:] if example.match(line) else line for line in examples.splitlines()[1:]]
    path = tmp_path / "config.toml"
    path.write_text(head.replace("# [ingest]", "[ingest]").replace("# listen", "listen")
                    .replace("# token_env", "token_env").replace("# max_body", "max_body")
                    + "\n".join(uncommented))  # fmt: skip
    (tmp_path / "rules").mkdir()
    config = load_config(path)
    assert set(config.sources) == set(SOURCES)
    assert [n for n, s in config.sources.items() if s.enabled] == ["hackernews", "reddit"]
    assert config.ingest.enabled and config.ingest.port == 9111
    for name, source in config.sources.items():
        assert source.interval == SOURCES[name].interval, name
        assert dict(source.options) == SOURCES[name].options or name in ("mastodon", "rss"), name
    env_example = (root / "systemd" / "monitor.env.example").read_text()
    for name in config.secret_names:
        assert name in env_example, name


def test_ingest_token_missing_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_text('[ingest]\ntoken_env = "HOOK_TOKEN"\n' + path.read_text())
    assert warnings(path) == [
        f"{path}:2: ingest.token_env: warning: HOOK_TOKEN is not set: the daemon cannot serve /ingest"
    ]
    assert warnings(path, HOOK_TOKEN="0123456789abcdef") == []


def test_a_short_ingest_token_and_listeners_on_every_interface_are_warnings(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_text('[ingest]\ntoken_env = "HOOK_TOKEN"\nlisten = "[::]:9111"\n[health]\nlisten = "0.0.0.0:9110"\n'
                    + path.read_text())  # fmt: skip
    said = warnings(path, HOOK_TOKEN="s3cr3t")
    assert said == [
        f"{path}:5: health.listen: warning: 0.0.0.0 listens on every network interface: /healthz and /metrics can"
        " be reached from other machines; use 127.0.0.1 (behind a TLS proxy for remote senders) unless a firewall"
        " keeps them out",
        f"{path}:3: ingest.listen: warning: [::] listens on every network interface: /ingest can be reached from"
        " other machines; use 127.0.0.1 (behind a TLS proxy for remote senders) unless a firewall keeps them out",
        f"{path}:2: ingest.token_env: warning: the token in HOOK_TOKEN has 6 character(s), easy to guess: use at"
        " least 16 random ones (`openssl rand -hex 32`)",
    ]
    assert not any("s3cr3t" in line for line in said)
