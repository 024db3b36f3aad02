"""Helpers the fault suite shares: a config for the real daemon on fakes, and reading its database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.faults.proxy import fault_proxy  # noqa: F401  (the fixture, for every test here)

ROOT = Path(__file__).resolve().parents[2]


def daemon_config(tmp_path: Path, hn_url: str, slack_url: str | None = None, rules: str = "", **replace: str) -> Path:
    """config.toml for the real daemon: Hacker News (and Slack) on loopback fakes, short intervals and tick.

    rules: the text of one rule file (default: a volume rule on outage words, quick to open and resolve).
    """
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    rules_dir.joinpath("outage.toml").write_text(rules or VOLUME_RULE)
    text = (
        (ROOT / "config.toml").read_text()
        .replace("https://hn.algolia.com/api/v1/", hn_url)
        .replace('rules = "rules"', f'rules = "{rules_dir}"')
        .replace('database = "monitor.db"', f'database = "{tmp_path / "monitor.db"}"')
        .replace('tick = "1m"', 'tick = "1s"')
        .replace('interval = "5m"', 'interval = "1s"', 1)
        .replace("[sources.reddit]\nenabled = true", "[sources.reddit]\nenabled = false")
        .replace('listen = "127.0.0.1:9110"', 'listen = "127.0.0.1:0"')
        .replace('daily = "09:00"', 'daily = ""').replace('weekly = "mon 09:00"', 'weekly = ""')
    )  # fmt: skip
    if slack_url is not None:
        text = text.replace("https://slack.com/api/", slack_url).replace('channel = "#pr-alerts"', 'channel = "C0123"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


VOLUME_RULE = """
name = "outage-burst"
kind = "volume"
brands = ["*"]
severity = "critical"

[match]
any_terms = ["outage"]

[detect]
window = "1m"
min_count = 5

[alert]
cooldown = "0s"
resolve_after = "2s"
update_when_grown = 0.3
"""


def read_db(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows from the daemon's database, read through a separate connection (WAL lets it run alongside)."""
    with sqlite3.connect(path, timeout=10) as conn:
        return conn.execute(sql, params).fetchall()
