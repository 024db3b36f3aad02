"""Operator commands and data upkeep: status, poll, db stats and backup, retention, version."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.commands import main
from monitor.engine.core import Engine
from monitor.loading import load_all
from monitor.mention import Mention
from monitor.sentiment import Scorer
from monitor.service.daemon import Daemon
from monitor.store import Store
from monitor.store.records import IncidentRow
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.clock import Clock
from tests.helpers.daemon import T0, seed_history, write_config


@pytest.fixture
def config_path(tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack) -> Path:
    seed_history(fake_hn, fake_reddit, T0)
    return write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)


def fill(path: Path, n: int, start: float, step: float = 60.0) -> None:
    config, rules = load_all(str(path))
    store = Store.open(config.database)
    engine = Engine(config, rules, store, Scorer.of(config))
    mentions = [Mention("hackernews", str(i), f"Acme Cloud post {i}", _at(start + i * step)) for i in range(n)]
    engine.ingest("acme", mentions, start + n * step)
    store.close()


def _at(ts: float):  # type: ignore[no-untyped-def]
    from monitor.store import from_epoch

    return from_epoch(ts)


def test_db_stats_and_backup(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "stats", "--config", str(config_path)]) == 1  # no database yet
    fill(config_path, 500, T0)
    assert main(["db", "stats", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "rows: mentions 500, cursors 0, incidents 0, outbox 0" in out
    assert "acme            hackernews           500  2026-11-25 10:00:00Z" in out
    target = config_path.parent / "backup" / "copy.db"
    assert main(["db", "backup", str(target), "--config", str(config_path)]) == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 500
    assert main(["db", "backup", str(target), "--config", str(config_path)]) == 1
    assert "exists" in capsys.readouterr().err


def test_retention_deletes_old_rows_and_gives_space_back(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "m.db")
    from monitor.mention import ScoredMention

    old = [ScoredMention(Mention("x", str(i), "y" * 500, _at(T0 - 100 * 86400 + i)), "acme", 0.0, "neutral")
           for i in range(3000)]  # fmt: skip
    new = [ScoredMention(Mention("x", f"n{i}", "new", _at(T0 + i)), "acme", 0.0, "neutral") for i in range(10)]
    store.add_mentions(old + new, T0)
    with store.transaction():
        store.save_incident(IncidentRow("old", "r", "acme", "resolved", T0 - 99 * 86400, T0, T0 - 99 * 86400))
        store.save_incident(IncidentRow("open", "r", "acme", "open", T0 - 99 * 86400, T0))
    pruned = store.prune(T0 - 90 * 86400)
    assert (pruned.mentions, pruned.incidents) == (3000, 1) and pruned.pages_freed > 0
    assert store.count_mentions() == 10 and [i.id for i in store.incidents()] == ["open"]
    assert store.stats()["free_pages"] == 0
    store.close()


def test_keep_days_must_cover_the_rules(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path.write_text(config_path.read_text().replace('backfill = "3d"', 'backfill = "3d"\nkeep_days = 7'))
    assert main(["check", "--config", str(config_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"{config_path}:7: monitor.keep_days: 7 days is shorter than what rule 'negative-spike' reads back"
        " (14 days and more): raise keep_days"
    )


async def test_status_of_a_running_daemon(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.commands.status import fetch_health, status_text

    config, rules = load_all(str(config_path))
    store = Store.open(config.database)
    assert "daemon: not answering" in status_text(config, store, None, T0)
    clock = Clock(T0 + 60)
    daemon = Daemon(config, rules, config_path, clock=clock)
    try:
        await daemon.health_server.start("127.0.0.1", 0)
        await daemon.poll("hackernews", "acme", '"acme cloud"')
        probe = replace(config, health=replace(config.health, port=daemon.health_server.port))
        starting = await asyncio.to_thread(fetch_health, probe)
        await daemon.poll("reddit", "acme", '"acme cloud"')
        health = await asyncio.to_thread(fetch_health, probe)
    finally:
        await daemon.close()
    assert status_text(probe, store, starting, clock()).splitlines()[0] == (
        "daemon: starting: 1 source(s) not polled successfully yet (reddit); start-up grace until 2026-11-25 10:17:00Z"
    )
    text = status_text(probe, store, health, clock())
    store.close()
    assert text.splitlines()[0] == "daemon: ok"
    assert "hackernews   ok       last success" in text
    assert "open incidents: 0" in text and "outbox: 0 alert(s) waiting" in text


async def test_poll_prints_without_storing_and_stores_when_asked(config_path: Path, fake_hn: FakeHackerNews) -> None:
    from monitor.commands.poll import poll_command

    fake_hn.add_hit("careers", int(T0 - 60), "Acme Cloud careers: we are hiring")
    fake_hn.add_hit("protocol", int(T0 - 30), "the ACME protocol in the cloud")
    config, rules = load_all(str(config_path))
    code, lines = await poll_command(config, rules, "hackernews", "acme", None, store_it=False, clock=Clock(T0))
    assert code == 0 and lines[0].startswith("hackernews '\"acme cloud\"': ")
    assert any("careers" in line and "dropped: excluded" in line for line in lines)
    assert not config.database.exists()
    code, lines = await poll_command(config, rules, "hackernews", "acme", None, store_it=True, clock=Clock(T0))
    assert code == 0 and "stored" in lines[0]
    store = Store.open(config.database)
    assert store.count_mentions() > 0
    store.close()
    code, lines = await poll_command(config, rules, "hackernews", "nope", None, store_it=False, clock=Clock(T0))
    assert code == 2 and "unknown brand 'nope'" in lines[0]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("monitor 0.1.0, Python 3.")


def test_database_file_copied_after_a_checkpoint_is_whole(config_path: Path) -> None:
    import shutil

    fill(config_path, 200, T0)
    config, _ = load_all(str(config_path))
    store = Store.open(config.database)
    store.checkpoint()
    copy = config_path.parent / "copied.db"
    shutil.copyfile(config.database, copy)  # the file alone, as a naive backup would
    store.close()
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0] == 200


async def test_silences_and_inhibition(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from monitor.commands.silences import silences_text
    from tests.helpers.clock import Clock
    from tests.helpers.daemon import add_burst, backfill_then_burst, start

    # A crisis rule (critical) beside the shipped negative-spike (high): both would fire on the burst.
    rules = config_path.parent / "rules"
    rules.joinpath("crisis.toml").write_text(
        'name = "crisis"\nkind = "volume"\nseverity = "critical"\n[match]\nany_terms = ["outage"]\n'
        '[detect]\nwindow = "30m"\nmin_count = 5\n'
    )
    assert main(["silences", "add", "--config", str(config_path), "--rule", "nope", "--for", "1h"]) == 2
    assert "--rule: unknown rule 'nope'" in capsys.readouterr().err
    clock = Clock(T0)
    daemon = start(config_path, clock)
    try:
        events = await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)
        # One thread, not two: the open crisis inhibits the lesser negative spike.
        assert [(e["event"], e["rule"]) for e in events] == [("opened", "crisis")]
        silence = daemon.store.add_silence("crisis", "acme", [], "ana", "known story", clock(), clock() + 7200)
        add_burst(fake_hn, fake_reddit, T0 + 700, 12, "b")
        clock.now = T0 + 1200
        for source in ("hackernews", "reddit"):
            await daemon.poll(source, "acme", '"acme cloud"')
        assert daemon.runtime.engine.tick(clock()) == []  # grown, but silenced: no update
        text = silences_text(daemon.store.silences(), clock())
        assert f"#{silence}  rule crisis  brand acme" in text and "by ana: known story" in text
        assert daemon.store.end_silence(silence, clock())
    finally:
        await daemon.close()


async def test_a_terms_silence_stops_those_mentions_counting(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.helpers.clock import Clock
    from tests.helpers.daemon import backfill_then_burst, start

    args = ["silences", "add", "--config", str(config_path), "--brand", "acme", "--terms", "outage, lost orders",
            "--for", "30d", "--comment", "the 2026 outage, handled"]  # fmt: skip
    clock = Clock(T0)
    assert main(args, clock=Clock(T0 - 86400)) == 0 and capsys.readouterr().out == "silence #1 added\n"
    assert main(["silences", "--config", str(config_path)], clock=clock) == 0
    listed = capsys.readouterr().out
    assert "1 silence(s) in force" in listed and "rule *  brand acme terms outage, lost orders" in listed
    daemon = start(config_path, clock)
    try:
        assert await backfill_then_burst(daemon, clock, fake_hn, fake_reddit) == []
    finally:
        await daemon.close()
    assert main(["silences", "end", "1", "--config", str(config_path)], clock=clock) == 0
    assert main(["silences", "end", "1", "--config", str(config_path)], clock=clock) == 1


async def test_daily_digest(
    config_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from monitor.slack.render import render_console
    from tests.fakes.slack import TOKEN
    from tests.helpers.clock import Clock
    from tests.helpers.daemon import backfill_then_burst, start

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    clock = Clock(T0)
    daemon = start(config_path, clock)
    try:
        await backfill_then_burst(daemon, clock, fake_hn, fake_reddit)
        await daemon.outbox.drain()
        daemon.schedule()
        job = daemon.scheduler.get_job("digest:daily")
        assert job is not None and "hour='9'" in str(job.trigger)
        assert daemon.scheduler.get_job("digest:weekly") is not None
        clock.now += 60
        await daemon.digest("daily")
        (item,) = daemon.store.pending()
        assert await daemon.outbox.drain() == 1
    finally:
        await daemon.close()
    digest = item.event
    # The last day (to 10:11): 23 ordinary posts, 3 complaints and the burst of 14; the day before: 24 and 4.
    assert digest["figures"]["count"] == 23 + 3 + 14 and digest["figures"]["previous"]["count"] == 24 + 4
    assert digest["summary"].startswith("40 mentions (+43% on the day before), sentiment -")
    assert [i["rule"] for i in digest["incidents"]] == ["negative-spike"]
    message = fake_slack.messages[-1]
    assert "thread_ts" not in message and message["blocks"][0]["text"]["text"].startswith("Daily digest · Acme Cloud")
    assert "negative-spike opened" in fake_slack.text_of(message)
    assert render_console(digest).startswith("=== Daily digest · Acme Cloud")


def test_digest_times_are_checked(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = config_path.read_text().replace("[health]", '[digests]\ndaily = "9am"\nweekly = "someday 09:00"\n\n[health]')
    config_path.write_text(text)
    assert main(["check", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert 'digests.daily: expected a time like "09:00", or "" for none, got \'9am\'' in err
    assert "digests.weekly: expected a day and time like" in err
