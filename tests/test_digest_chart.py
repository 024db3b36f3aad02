"""The digests' chart: the period's volume and negatives, uploaded into the digest's thread like an
alert's chart; without matplotlib the digest goes out all the same."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from monitor.slack.chart import chart_png
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import TOKEN, FakeSlack
from tests.helpers.clock import Clock
from tests.helpers.daemon import T0, backfill_then_burst, seed_history, start, write_config


@pytest.fixture
def config_path(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    seed_history(fake_hn, fake_reddit, T0)
    return write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)


async def digests(config_path: Path, hn: FakeHackerNews, reddit: FakeReddit) -> list[dict]:  # type: ignore[type-arg]
    clock = Clock(T0)
    daemon = start(config_path, clock)
    try:
        await backfill_then_burst(daemon, clock, hn, reddit)
        await daemon.outbox.drain()
        clock.now += 60
        await daemon.digest("daily")
        await daemon.digest("weekly")
        events = [item.event for item in daemon.store.pending()]
        assert await daemon.outbox.drain() == 2
    finally:
        await daemon.close()
    return events


async def test_digests_carry_a_chart_of_the_period(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    daily, weekly = await digests(config_path, fake_hn, fake_reddit)
    chart = daily["chart"]
    assert (chart["kind"], chart["width"], len(chart["volume"])) == ("digest", 3600.0, 24)
    assert chart["start"] == T0 + 660 - 86400 and chart["zone"] == "UTC"
    assert sum(chart["volume"]) == daily["figures"]["count"] == 40
    assert chart["volume"][-1] == 14 and chart["negative"][-1] == 14  # the burst, in the last hour
    assert all(n <= v for n, v in zip(chart["negative"], chart["volume"], strict=True))
    week = weekly["chart"]
    assert (week["width"], len(week["volume"])) == (86400.0, 7) and sum(week["volume"]) == weekly["figures"]["count"]
    _alert, daily_message, weekly_message = fake_slack.messages
    _alert_chart, daily_chart, weekly_chart = fake_slack.uploads
    assert daily_chart["thread_ts"] == daily_message["ts"] and weekly_chart["thread_ts"] == weekly_message["ts"]
    assert daily_chart["title"] == "Acme Cloud · mentions per hour" and daily_chart["bytes"].startswith(b"\x89PNG")
    assert weekly_chart["title"] == "Acme Cloud · mentions per day" and weekly_chart["bytes"].startswith(b"\x89PNG")
    sent = [unquote_plus(r.body) + str(r.query) for r in fake_slack.requests if "files." in r.path]
    assert any("mentions and negative mentions per hour" in body for body in sent)  # the alt text


async def test_digests_go_out_without_matplotlib(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")] or ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the charts extra were not installed
    daily, _weekly = await digests(config_path, fake_hn, fake_reddit)
    assert chart_png(daily["chart"]) is None
    assert len(fake_slack.messages) == 3 and fake_slack.uploads == []
