"""Crash safety: the real daemon killed with SIGKILL at random points, restarted on the same database.

A seeded loop of 50 runs against a fake Hacker News serving a stream with bursts of outage posts and a
fake Slack that answers late (so that many kills fall between Slack posting a message and the outbox
recording it). Afterwards every served mention is stored exactly once, every alert event was posted
exactly once (Slack messages by outbox id and incident), and the database passes integrity_check.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.fakes.base import ServerFactory, serve
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.slack import TOKEN, FakeSlack
from tests.faults.conftest import daemon_config, read_db

RUNS = 50
BRANDS = ("python", "acmeco", "zetasoft", "quuxcloud")
SEED = 20261125


class SlowHackerNews(FakeHackerNews):
    """Answers after a random pause, so kills land mid-poll; counts answers under way."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.answering = 0

    async def search_by_date(self, request: web.Request) -> web.Response:
        self.answering += 1
        try:
            await asyncio.sleep(self.rng.uniform(0.0, 0.15))
            return await super().search_by_date(request)
        finally:
            self.answering -= 1


@pytest.fixture
async def slow_hn(aiohttp_server: ServerFactory) -> AsyncIterator[SlowHackerNews]:
    fake = SlowHackerNews(random.Random(SEED + 1))
    yield await serve(fake, fake.app, aiohttp_server, "/api/v1/")


async def start(config: Path, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN}
    env.pop("REDDIT_CLIENT_ID", None)
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "--config", str(config),
            stdout=out, stderr=out, env=env, cwd=config.parent,
        )  # fmt: skip


async def wait_for(check: object, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def db_count(db: Path, sql: str) -> int:
    try:
        return int(read_db(db, sql)[0][0])  # type: ignore[call-overload]
    except sqlite3.OperationalError:  # not created yet
        return -1


@pytest.mark.wall_clock
@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_sigkill_at_random_points_loses_and_repeats_nothing(
    tmp_path: Path, slow_hn: SlowHackerNews, fake_slack: FakeSlack
) -> None:
    rng = random.Random(SEED)
    fake_slack.answer_delay = lambda: rng.uniform(0.1, 0.6)
    config = daemon_config(tmp_path, slow_hn.url, fake_slack.url)
    # Four brands, so that bursts open several incidents (each brand's stays open while its burst is
    # in the rule's window): more alerts, more kills between Slack posting and the outbox knowing it.
    config.write_text(config.read_text() + "".join(
        f'\n[[brands]]\nid = "{b}"\nname = "{b.title()}"\nqueries = ["{b}"]\n' for b in BRANDS[1:]))  # fmt: skip
    db, log = tmp_path / "monitor.db", tmp_path / "daemon.log"
    served: list[str] = []
    kills = Counter[str]()
    counter = 0

    def add(text: str) -> None:
        nonlocal counter
        counter += 1
        served.append(slow_hn.add_hit(f"h{counter}", int(time.time()), text)["objectID"])

    # Warm-up: the first poll of a brand is backfill (baseline, never alerted on); let it land.
    add("python is fine today")
    process = await start(config, log)
    await wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM cursors") > 0, 30)
    process.kill()
    await process.wait()

    for run in range(RUNS):
        brand = BRANDS[run % len(BRANDS)]
        add(f"{brand} note {run}")
        if run % 3 == 1:  # a burst: opens the brand's incident, or grows it (updates)
            for k in range(6):
                add(f"{brand} outage {run}.{k}: everything is down")
        process = await start(config, log)
        # Most kills land after a poll: the daemon needs about a second to start, poll and score (half a
        # second of it loading the language identifier's model), more on a busy machine.
        await asyncio.sleep(rng.uniform(0.05, 0.5) if run % 5 == 0 else rng.uniform(1.3, 2.1))
        # Where the kill lands, as far as the fakes can tell from outside.
        if fake_slack.answering:
            kills["slack posted, answer not yet read"] += 1
        if slow_hn.answering:
            kills["mid-poll"] += 1
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
        await asyncio.sleep(0.05)

    # A last run that is let finish: every hit stored, every alert delivered, then a clean stop.
    started = log.read_text().count("running: ")
    process = await start(config, log)
    try:
        await wait_for(lambda: log.read_text().count("running: ") > started, 30)
        await wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM mentions") >= len(served), 30)
        await wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM outbox") == 0, 30)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    said = log.read_text()
    assert "Traceback" not in said, said[-3000:]

    stored = Counter(str(row[0]) for row in read_db(db, "SELECT id FROM mentions WHERE platform = 'hackernews'"))
    assert set(stored) == set(served) and set(stored.values()) == {1}
    assert read_db(db, "PRAGMA integrity_check") == [("ok",)]
    assert read_db(db, "SELECT COUNT(*) FROM dead_letters") == [(0,)]

    posted = [m["metadata"]["event_payload"] for m in fake_slack.messages]
    by_outbox = Counter(p["outbox_id"] for p in posted)
    assert [i for i, n in by_outbox.items() if n > 1] == [], "an alert event was posted twice"
    incidents = {str(row[0]) for row in read_db(db, "SELECT id FROM incidents")}
    assert incidents, "no burst opened an incident: the loop proved nothing"
    openings = Counter(m["metadata"]["event_payload"]["incident"] for m in fake_slack.messages
                       if "thread_ts" not in m)  # fmt: skip
    reopened = sum(1 for m in fake_slack.messages if "thread_ts" not in m and "reopen" in m.get("text", "").lower())
    assert set(openings) == incidents
    assert sum(openings.values()) - len(incidents) == reopened  # each opened once (a reopening says so)
    threads = {str(r[0]): r[1] for r in read_db(db, "SELECT id, thread_ts FROM incidents")}
    assert all(threads.values()), threads
    assert kills["slack posted, answer not yet read"] > 0 and kills["mid-poll"] > 0, kills
    print(json.dumps({"kills": kills, "incidents": len(incidents), "messages": len(posted)}))
