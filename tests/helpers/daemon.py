"""The daemon under test: a config for the fakes, history and bursts of complaints, a clock to move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.loading import load_all
from monitor.service.daemon import Daemon
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.helpers.clock import Clock

ROOT = Path(__file__).resolve().parent.parent.parent

T0 = 1_795_600_800.0  # 2026-11-25 (a Wednesday) 10:00 UTC
QUERY = '"acme cloud"'


def write_config(
    tmp_path: Path, hn: str, reddit: str, slack: str, interval: str = "5m", tick: str = "1m", slack_extra: str = ""
) -> Path:
    """A config for the fakes, with the shipped negative-spike rule alone (slack_extra: more [slack] lines)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    rules.joinpath("negative-spike.toml").write_text((ROOT / "rules" / "negative-spike.toml").read_text())
    path = tmp_path / "config.toml"
    path.write_text(f"""
[monitor]
database = "monitor.db"
rules = "rules"
tick = "{tick}"
backfill = "3d"

[health]
listen = "127.0.0.1:0"

[slack]
channel = "#pr-alerts"
base_url = "{slack}"
{slack_extra}

[[brands]]
id = "acme"
name = "Acme Cloud"
queries = ['{QUERY}']
exclude = ["acme cloud careers"]
own_accounts = ["AcmeCloud"]
status_url = "https://status.acme.example"

[sources.hackernews]
interval = "{interval}"
base_url = "{hn}"

[sources.reddit]
interval = "{interval}"
base_url = "{reddit}"
oauth_base_url = "{reddit}"
""")
    return path


def seed_history(hn: FakeHackerNews, reddit: FakeReddit, now: float) -> None:
    """Three days of ordinary talk: a neutral post every hour, a complaint every six hours."""
    for h in range(1, 72):
        t = int(now - h * 3600)
        hn.add_hit(f"h{h}", t, "Has anyone tried Acme Cloud for hosting a Postgres replica?")
        if h % 6 == 0:
            reddit.add_post(f"t3_h{h}", t + 60, "Acme Cloud billing is confusing and annoying")


def add_burst(hn: FakeHackerNews, reddit: FakeReddit, start: float, n: int, prefix: str, spacing: float = 20) -> None:
    for i in range(n):
        t = int(start + i * spacing)
        if i % 2:
            hn.add_hit(f"{prefix}{i}", t, f"Acme Cloud is down again, terrible outage, everything broken ({i})")
        else:
            reddit.add_post(f"t3_{prefix}{i}", t, f"Acme Cloud outage is awful, we lost orders ({i})")


async def poll_all(daemon: Daemon) -> None:
    for source in ("hackernews", "reddit"):
        await daemon.poll(source, "acme", QUERY)


def start(config_path: Path, clock: Clock) -> Daemon:
    config, rules = load_all(str(config_path))
    return Daemon(config, rules, config_path, clock=clock)


async def backfill_then_burst(
    daemon: Daemon, clock: Clock, hn: FakeHackerNews, reddit: FakeReddit
) -> list[dict[str, Any]]:
    """First poll (backfill), then 14 complaints in ten minutes, polled and ticked: the events."""
    await poll_all(daemon)
    add_burst(hn, reddit, T0 + 60, 14, "a")
    clock.now = T0 + 600
    await poll_all(daemon)
    return daemon.runtime.engine.tick(clock())


class Quiet:
    """A delivery that keeps alerts instead of printing them."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send(self, event: dict[str, object], thread_ts: str | None) -> str:
        self.sent.append(event)
        return f"{len(self.sent)}.0"
