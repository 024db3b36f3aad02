"""The daemon end to end against fake Hacker News, Reddit and Slack servers on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.clock import system
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import TOKEN, FakeSlack
from tests.helpers.clock import Clock
from tests.helpers.daemon import (
    QUERY,
    ROOT,
    T0,
    add_burst,
    backfill_then_burst,
    poll_all,
    seed_history,
    start,
    write_config,
)


@pytest.fixture
def daemon_setup(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    seed_history(fake_hn, fake_reddit, T0)
    return write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)


async def test_spike_alert_thread_update_and_resolve(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        await poll_all(daemon)  # first poll: three days of backfill, never alerted on
        assert daemon.store.count_mentions() == 71 + 11
        assert daemon.runtime.engine.tick(clock()) == []
        (opened,) = await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)
        assert opened["event"] == "opened" and opened["figures"]["count"] == 14
        await daemon.outbox.drain()

        add_burst(fake_hn, fake_reddit, T0 + 700, 12, "b")
        clock.now = T0 + 1200
        await poll_all(daemon)
        assert [e["event"] for e in daemon.runtime.engine.tick(clock())] == ["updated"]
        await daemon.outbox.drain()

        for step in range(1, 40):  # quiet for a while: resolved after an hour below threshold
            clock.now = T0 + 1200 + step * 300
            daemon.runtime.engine.tick(clock())
        await daemon.outbox.drain()
    finally:
        await daemon.close()
    root, update, resolved = fake_slack.messages
    assert "thread_ts" not in root and update["thread_ts"] == root["ts"] == resolved["thread_ts"]
    (chart,) = fake_slack.uploads  # the chart, in the alert's thread
    assert chart["bytes"].startswith(b"\x89PNG") and chart["thread_ts"] == root["ts"] and chart["channel"] == "C0123"
    assert chart["title"] == "negative-spike · Acme Cloud · last 48 hours"
    assert "negative-spike" in root["blocks"][0]["text"]["text"]
    assert "14 negative posts in the last hour (since 09:10 UTC)" in fake_slack.text_of(root)
    assert "Update:" in fake_slack.text_of(update) and "Resolved" in fake_slack.text_of(resolved)


async def test_slack_down_then_back_delivers_once(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        assert len(await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)) == 1
        fake_slack.fail_next(503)
        assert await daemon.outbox.drain() == 0
        assert daemon.store.outbox_size() == 1
        assert await daemon.outbox.drain() == 0  # backing off: no attempt yet
        assert len(fake_slack.requests) == 1
        clock.now += 3600
        assert await daemon.outbox.drain() == 1
        assert await daemon.outbox.drain() == 0
        assert [r.path for r in fake_slack.requests if r.path == "/api/chat.postMessage"] == [
            "/api/chat.postMessage"
        ] * 2
    finally:
        await daemon.close()
    assert len(fake_slack.messages) == 1 and daemon_setup.parent.joinpath("monitor.db").exists()


async def test_restart_refetches_and_realerts_nothing(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    clock = Clock(T0)
    fake_hn.date = fake_reddit.date = clock  # the platforms' clocks are ours (their Date headers)
    first = start(daemon_setup, clock)
    try:
        assert len(await backfill_then_burst(first, clock, fake_hn, fake_reddit)) == 1
        await first.outbox.drain()
        stored = first.store.count_mentions()
    finally:
        await first.close()
    assert len(fake_slack.messages) == 1

    clock.now = T0 + 660
    hn_before, reddit_before = len(fake_hn.requests), len(fake_reddit.requests)
    second = start(daemon_setup, clock)
    try:
        await poll_all(second)
        assert second.store.count_mentions() == stored
        assert second.runtime.engine.tick(clock()) == []
        await second.outbox.drain()
    finally:
        await second.close()
    # One request per source, asking only for what is newer than what was stored (less Hacker News'
    # overlap for hits its index adds late, which the cursor's seen ids filter out): from the last
    # sweep's start (T0 + 600, later than the newest hit, T0 + 60 + 13 * 20) less the overlap.
    assert len(fake_hn.requests) == hn_before + 1 and len(fake_reddit.requests) == reddit_before + 1
    assert fake_hn.requests[-1].query["numericFilters"] == f"created_at_i>={int(T0 + 600) - 300}"
    assert len(fake_slack.messages) == 1


async def test_exclusions_own_accounts_and_fuzzy_matches_are_dropped(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit
) -> None:
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        await poll_all(daemon)
        before = daemon.store.count_mentions()
        fake_hn.add_hit("own", int(T0 + 10), "Acme Cloud status: all good", author="AcmeCloud")
        fake_hn.add_hit("careers", int(T0 + 11), "Acme Cloud careers page is hiring")
        fake_hn.add_hit("fuzzy", int(T0 + 12), "The ACME protocol and cloud certificates")
        fake_hn.add_hit("real", int(T0 + 13), "acme  cloud is fine today")
        fake_hn.add_hit("german", int(T0 + 14), "Acme Cloud ist nicht erreichbar und ich bin sauer")
        clock.now = T0 + 60
        await poll_all(daemon)
        new = [m for m in daemon.store.mentions_between(T0, T0 + 60)]
    finally:
        await daemon.close()
    assert sorted(m.mention.id for m in new) == ["german", "real"]
    assert daemon.store.count_mentions if before else True
    german = next(m for m in new if m.mention.id == "german")
    assert german.compound is None and german.label is None


@pytest.mark.wall_clock
async def test_running_daemon_alerts_and_stops(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import time

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    now = time.time()
    seed_history(fake_hn, fake_reddit, now)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1s", tick="1s")
    # Posted just after the daemon starts: live mentions, not backfill.
    add_burst(fake_hn, fake_reddit, time.time() + 1, 14, "live", spacing=0.1)
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system)
    task = asyncio.create_task(daemon.run())
    messages = await fake_slack.wait_for_messages(1, within=20)
    daemon.stop.set()
    assert await asyncio.wait_for(task, 15) == 0
    assert "negative-spike" in fake_slack.text_of(messages[0])


async def no_sleep(_: float) -> None:
    return None


async def test_a_failing_source_is_logged_once_backs_off_and_recovers(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    daemon.runtime.sources["hackernews"].http.sleep = no_sleep  # type: ignore[attr-defined]
    health = daemon.runtime.health["hackernews"]
    try:
        fake_hn.fail_next(500, times=6)
        await poll_all(daemon)
        assert len(fake_hn.requests) == 3 and health.failing_since == T0
        assert daemon.store.count_mentions() == 11  # Reddit carried on
        clock.now += 5
        await poll_all(daemon)
        assert len(fake_hn.requests) == 3  # backing off: no request
        clock.now += 3600
        await poll_all(daemon)
        assert len(fake_hn.requests) == 6 and health.failures == 2
        clock.now += 7200
        await poll_all(daemon)
        # The backfill reaches three days back from the first good poll, three hours later.
        assert health.failing_since is None and daemon.store.count_mentions() == 68 + 11
    finally:
        await daemon.close()
    said = [r.getMessage() for r in caplog.records if r.name == "monitor.engine.poll"]
    assert said == ["hackernews: polls failing: HTTP 500 from " + fake_hn.url + "search_by_date",
                    "hackernews: recovered after 2 failed poll(s)"]  # fmt: skip


async def test_refused_credentials_pause_one_source_only(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        fake_reddit.fail_next(403, body="<html>blocked</html>", content_type="text/html")
        await poll_all(daemon)
        clock.now += 86400
        await poll_all(daemon)
    finally:
        await daemon.close()
    assert len(fake_reddit.requests) == 1 and daemon.runtime.health["reddit"].paused
    assert len(fake_hn.requests) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == ["reddit: paused until the config is reloaded: HTTP 403 from "
                      + fake_reddit.url + "search.json: credentials missing, wrong or refused"]  # fmt: skip


@pytest.mark.parametrize("lost", ["opened", "updated"])
async def test_a_post_whose_answer_was_lost_is_not_sent_twice(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack, lost: str
) -> None:
    # With the channel given by id, even a first post can be looked for; by name, once one went out.
    text = daemon_setup.read_text()  # noqa: ASYNC240 (a small file, before anything runs)
    daemon_setup.write_text(text.replace('channel = "#pr-alerts"', 'channel = "C0123"'))  # noqa: ASYNC240
    clock = Clock(T0)
    fake_slack.clock = clock
    first = start(daemon_setup, clock)
    try:
        await backfill_then_burst(first, clock, fake_hn, fake_reddit)
        if lost == "updated":
            assert await first.outbox.drain() == 1
            add_burst(fake_hn, fake_reddit, T0 + 700, 12, "b")
            clock.now = T0 + 1200
            await poll_all(first)
            assert [e["event"] for e in first.runtime.engine.tick(clock())] == ["updated"]
        fake_slack.lose_answers = 1
        assert await first.outbox.drain() == 0  # Slack posted it; the answer never came back
    finally:
        await first.close()  # and the daemon dies before it learns more
    posted = len(fake_slack.messages)
    clock.now += 3600
    second = start(daemon_setup, clock)
    try:
        assert await second.outbox.drain() == 1
        assert second.store.outbox_size() == 0
    finally:
        await second.close()
    assert len(fake_slack.messages) == posted
    look = "/api/conversations.history" if lost == "opened" else "/api/conversations.replies"
    assert fake_slack.requests[-1].path == look


async def test_incoming_webhook_mode(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)
        assert await daemon.outbox.drain() == 1
        for step in range(1, 30):
            clock.now = T0 + 600 + step * 300
            daemon.runtime.engine.tick(clock())
        fake_slack.errors.append("no_service")
        assert await daemon.outbox.drain() == 0  # the webhook was revoked: kept in the outbox
        assert daemon.store.outbox_size() == 1
    finally:
        await daemon.close()
    (opened,) = fake_slack.messages
    assert opened["webhook"] and opened["blocks"][0]["type"] == "header"
    assert not any(b["type"] == "actions" for b in opened["blocks"])


async def test_a_quiet_brand_alerts_on_its_first_burst(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Watched for three days (the backfill) with nothing said: those are real zeros, so the baseline is
    # three days long although the brand's first mention is the burst itself.
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)
    clock = Clock(T0)
    daemon = start(path, clock)
    try:
        await poll_all(daemon)
        assert daemon.store.count_mentions() == 0
        assert len(daemon.runtime.engine.watched["acme"]) == 3 * 24 + 1
        add_burst(fake_hn, fake_reddit, T0 + 60, 8, "q")
        clock.now = T0 + 600
        await poll_all(daemon)
        (opened,) = daemon.runtime.engine.tick(clock())
    finally:
        await daemon.close()
    assert opened["event"] == "opened" and opened["figures"]["baseline_hours"] >= 71


async def test_alerts_go_out_without_a_chart_when_matplotlib_is_missing(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import sys

    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")] or ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the charts extra were not installed
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        assert len(await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)) == 1
        assert await daemon.outbox.drain() == 1
    finally:
        await daemon.close()
    assert len(fake_slack.messages) == 1 and fake_slack.uploads == []


async def test_a_source_failing_half_an_hour_alerts_through_the_silence_rule(
    daemon_setup: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack
) -> None:
    rules = daemon_setup.parent / "rules"
    rules.joinpath("collector-silent.toml").write_text((ROOT / "rules" / "collector-silent.toml").read_text())
    clock = Clock(T0)
    daemon = start(daemon_setup, clock)
    try:
        await poll_all(daemon)
        fake_reddit.fail_next(503, times=1000)
        for minute in range(0, 36, 5):
            clock.now = T0 + minute * 60
            await daemon.poll("reddit", "acme", QUERY)
            await daemon.poll("hackernews", "acme", QUERY)
            daemon.runtime.engine.tick(clock.now)
            await daemon.outbox.drain()
        texts = [fake_slack.text_of(m) for m in fake_slack.messages]
        assert len(texts) == 1, texts
        assert "collector-silent" in texts[0] and "reddit failing for" in texts[0] and "HTTP 503" in texts[0]
    finally:
        await daemon.close()
