"""Storage faults: the disk full or the database read-only while running, a corrupt file at start,
two daemons on one database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.clock import system
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from monitor.store import DaemonLock, Store, StoreError
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.slack import TOKEN, FakeSlack
from tests.faults.conftest import ROOT, daemon_config, read_db
from tests.helpers.clock import Clock
from tests.helpers.sources import T0


def monitor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No timeout (pytest-timeout bounds the test): a timed wait polls with time.sleep, broken under faketime.
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


@pytest.mark.parametrize("garbage", [b"this is not a database at all\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_corrupt_database_refuses_to_start_naming_the_file_and_what_to_do(tmp_path: Path, garbage: bytes) -> None:
    config = daemon_config(tmp_path, "http://127.0.0.1:9/api/v1/")
    db = tmp_path / "monitor.db"
    db.write_bytes(garbage)
    for command in ("run", "status"):
        result = monitor(command, "--config", str(config), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert lines[0].startswith(f"{db}: cannot use the database") and "move it aside" in lines[0]
    assert db.read_bytes() == garbage  # left as it was, for whoever wants to rescue it


@pytest.mark.wall_clock
async def test_a_second_daemon_on_the_same_database_refuses_to_start(tmp_path: Path, fake_hn: FakeHackerNews) -> None:
    config = daemon_config(tmp_path, fake_hn.url)
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config), stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert first.stderr is not None
    try:
        while b"running: " not in await asyncio.wait_for(first.stderr.readline(), 20):
            pass
        second = await asyncio.to_thread(monitor, "run", "--config", str(config), cwd=tmp_path)
        assert second.returncode == 2
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith(f"{tmp_path / 'monitor.db'}: another monitor daemon (pid {first.pid})"), line
        assert first.returncode is None  # the first one runs on
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), 20) == 0
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    # Once it stopped, the database is free again.
    config_data, rules = load_all(str(config))
    again = Daemon(config_data, rules, config, clock=system)
    await again.close()


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
async def test_a_write_failure_is_one_clear_error_nothing_half_written_then_recovery(
    tmp_path: Path, fake_hn: FakeHackerNews, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, fault: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    now = T0
    clock = Clock(now)
    fake_hn.date = clock
    fake_hn.add_hit("old", int(now - 7200), "python is fine")
    config_path = daemon_config(tmp_path, fake_hn.url, fake_slack.url)
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=clock)
    poll = daemon._tracked(daemon.poll)
    try:
        await poll("hackernews", "python", "python")  # the first poll: backfill
        db = daemon.store.db
        cursor_before = daemon.store.cursor("hackernews", "python", "python")
        for i in range(6):
            fake_hn.add_hit(f"burst{i}", int(now + i), f"python outage {i}, all down. " + "details " * 2000)
        clock.now = now + 60
        if fault == "disk full":
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
        else:
            db.execute("PRAGMA query_only = 1")
        for _ in range(3):
            await poll("hackernews", "python", "python")
        assert daemon.store.cursor("hackernews", "python", "python") == cursor_before  # did not advance
        assert read_db(tmp_path / "monitor.db", "SELECT COUNT(*) FROM mentions") == [(1,)]  # none half-stored
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "cannot write to the database" in errors[0] and str(config.database) in errors[0]
        assert not any(r.exc_info for r in caplog.records)  # no traceback
        # Space (or write access) comes back: the same pages are fetched again and stored once.
        db.execute("PRAGMA max_page_count = 1073741823" if fault == "disk full" else "PRAGMA query_only = 0")
        await poll("hackernews", "python", "python")
        assert read_db(tmp_path / "monitor.db", "SELECT COUNT(*) FROM mentions") == [(7,)]
        assert any("can be written again" in r.getMessage() for r in caplog.records)
        tick = daemon._tracked(daemon.tick)
        await tick()
        assert daemon.store.outbox_size() == 1  # the burst's alert, written with its incident
    finally:
        await daemon.close()
    assert read_db(tmp_path / "monitor.db", "PRAGMA integrity_check") == [("ok",)]


def test_store_open_says_which_file_and_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError) as caught:
        Store.open(db)
    assert str(caught.value).startswith(f"{db}: cannot use the database (file is not a database)")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "x.db").mkdir()  # a directory where the file should be
    with pytest.raises(StoreError, match=r"x\.db: cannot use the database"):
        Store.open(folder / "x.db")


async def test_an_unforeseen_error_in_a_poll_is_logged_once_and_the_source_backs_off(
    tmp_path: Path, fake_hn: FakeHackerNews, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A damaged cursor row (valid JSON, wrong types) makes the source's cursor reader raise a TypeError:
    # no SourceError, yet the daemon must treat it as one and not log a traceback on every poll.
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    clock = Clock(T0)
    fake_hn.date = clock
    config_path = daemon_config(tmp_path, fake_hn.url)
    config, rules = load_all(str(config_path))
    daemon = Daemon(config, rules, config_path, clock=clock)
    try:
        with daemon.store.transaction():
            daemon.store.set_cursor("hackernews", "python", "python", '{"source": 5, "live_since": 1}', clock.now)
        poll = daemon._tracked(daemon.poll)
        health = daemon.runtime.health["hackernews"]
        for _ in range(3):
            clock.now = max(clock.now, health.not_before) + 1
            await poll("hackernews", "python", "python")
        assert health.failures == 3 and not health.ready(clock.now)
        assert len([r for r in caplog.records if r.exc_info]) == 1  # the traceback once, for the bug report
        assert "unexpected TypeError" in health.last_error
    finally:
        await daemon.close()


async def test_a_start_that_fails_half_way_gives_back_the_lock_and_the_store(
    tmp_path: Path, fake_hn: FakeHackerNews
) -> None:
    config_path = daemon_config(tmp_path, fake_hn.url)
    config, rules = load_all(str(config_path))
    Store.open(config.database).close()
    # A mentions table that lost its columns: the history read after Store.open fails.
    with sqlite3.connect(config.database) as db:
        db.execute("ALTER TABLE mentions RENAME TO mentions_damaged")
        db.execute("CREATE TABLE mentions (rowid INTEGER PRIMARY KEY, brand TEXT)")
    with pytest.raises(sqlite3.OperationalError):
        Daemon(config, rules, config_path, clock=Clock(T0))
    # The lock was released (another daemon may take it) and the store closed (the file can be mended).
    lock = DaemonLock(config.database)
    lock.acquire()
    lock.release()
    with sqlite3.connect(config.database) as db:
        db.execute("DROP TABLE mentions")
        db.execute("ALTER TABLE mentions_damaged RENAME TO mentions")
    daemon = Daemon(config, rules, config_path, clock=Clock(T0))
    await daemon.close()
