"""The command line as users and systemd run it: exit codes, one-line problems, signals, score, demo."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit

ROOT = Path(__file__).resolve().parent.parent


def monitor(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # No timeout here (pytest-timeout bounds each test): subprocess's timed wait polls with time.sleep,
    # which fails under CI's faketime run when the child is still exiting as its output closes.
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], input=stdin, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, cwd=ROOT,
    )  # fmt: skip


def test_check_accepts_the_shipped_files() -> None:
    result = monitor("check", "--config", "config.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: 1 brand(s), 2 of 2 source(s) enabled, 7 rule(s)"


def test_check_lists_each_problem_on_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.toml").read_text().replace('interval = "5m"', 'interval = "often"', 1)
                      .replace('rules = "rules"', 'rules = "myrules"'))  # fmt: skip
    rules = tmp_path / "myrules"
    rules.mkdir()
    rules.joinpath("spike.toml").write_text((ROOT / "rules" / "negative-spike.toml").read_text()
                                            .replace("min_ratio = 2.0", "min_ratio = 0.5"))  # fmt: skip
    rules.joinpath("broken.toml").write_text('name = "broken"\nkind = "volume"\n[detect\n')
    result = monitor("check", "--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{config}:")
    assert "sources.hackernews.interval: expected a duration" in lines[0]
    config.write_text(config.read_text().replace('"often"', '"5m"'))
    result = monitor("check", "--config", str(config))
    assert result.returncode == 2
    assert sorted(result.stderr.splitlines()) == [
        f"{rules / 'broken.toml'}:3: not valid TOML: Expected ']' at the end of a table declaration",
        f"{rules / 'spike.toml'}:22: detect.min_ratio: must be between 1 and inf, got 0.5",
    ]


def test_score_reads_lines_and_replay_objects() -> None:
    lines = [
        "Acme Cloud is down again, this is terrible",
        json.dumps({"id": "7", "text": "I love the new dashboard", "platform": "x", "created_at": 0}),
        "Der Dienst ist nicht erreichbar und ich bin sauer",
    ]
    result = monitor("score", "--config", "config.toml", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    negative, positive, german = (json.loads(line) for line in result.stdout.splitlines())
    assert negative["label"] == "negative" and negative["compound"] < -0.05
    assert positive["id"] == "7" and positive["label"] == "positive"
    assert german["compound"] is None and german["label"] is None


async def read_until(stream: asyncio.StreamReader, text: str, seen: list[str]) -> None:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 20)).decode()
        assert line, f"process ended before {text!r}; it said: {''.join(seen)}"
        seen.append(line)
        if text in line:
            return


@pytest.mark.wall_clock
async def test_run_reloads_on_sighup_and_stops_on_sigterm(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    rules.joinpath("spike.toml").write_text((ROOT / "rules" / "negative-spike.toml").read_text())
    config = tmp_path / "config.toml"
    config.write_text(
        (ROOT / "config.toml").read_text()
        .replace("https://hn.algolia.com/api/v1/", fake_hn.url).replace("https://www.reddit.com/", fake_reddit.url)
        .replace('rules = "rules"', f'rules = "{rules}"').replace('interval = "5m"', 'interval = "1s"')
        .replace('listen = "127.0.0.1:9110"', 'listen = "127.0.0.1:0"')
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "REDDIT_CLIENT_ID")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert process.stderr is not None
    said: list[str] = []
    try:
        await read_until(process.stderr, "running: 1 brand(s), 2 source(s), 1 rule(s)", said)
        assert any("SLACK_BOT_TOKEN is not set: alerts will print to the console" in line for line in said)
        rules.joinpath("bad.toml").write_text('name = "bad"\nkind = "spike"\n[detect]\nwindow = "soon"\n')
        process.send_signal(signal.SIGHUP)
        await read_until(process.stderr, "bad.toml:4: detect.window", said)
        assert any("reload refused, keeping the running config and rules" in line for line in said)
        rules.joinpath("bad.toml").write_text(rules.joinpath("spike.toml").read_text().replace("negative-spike", "b"))
        process.send_signal(signal.SIGHUP)
        await read_until(process.stderr, "reloaded: 1 brand(s), 2 source(s), 2 rule(s)", said)
        assert fake_hn.requests  # it polls: the first poll job starts at once
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
        await read_until(process.stderr, "stopped", said)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.wall_clock
def test_demo_shows_an_alert_offline() -> None:
    result = monitor("demo", "--speed", "3600")
    assert result.returncode == 0, result.stderr
    assert "=== HIGH · negative-spike · Acme Cloud" in result.stdout
    assert "holding statement (outage)" in result.stdout
    assert result.stdout.rstrip().endswith("alert(s) shown.")


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) == 2, commands
    assert "monitor run --config config.toml" in commands[0]
    assert commands[1] in ci.splitlines()
