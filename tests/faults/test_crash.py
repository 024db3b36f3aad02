"""Crash safety: the real daemon killed with SIGKILL at chosen points of its progress, restarted on the
same database.

A seeded loop of 50 runs against a fake Hacker News serving a stream with bursts of outage posts and a
fake Slack. Each run kills the daemon at a point the test chose and the fakes report: while a search
is answered (mid-poll), after Slack posted a message but before the daemon read the answer, right
after a poll stored its mentions, during start-up, or at a seeded random moment. The fakes hold their
answer at the chosen point until the kill, so where a kill lands does not depend on how busy the
machine is. Afterwards every served mention is stored exactly once, every alert event was posted
exactly once (Slack messages by outbox id and incident), and the database passes integrity_check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
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
MID_POLL, SLACK_POSTED, STORED, STARTING, RANDOM = (
    "mid-poll", "slack posted, answer not yet read", "poll stored", "starting", "random"
)  # fmt: skip


class Hold:
    """A point in the daemon's progress: once armed, the next request to reach it is held there (until
    released, or 10 s) and `reached` is set, so the test can kill the daemon exactly there."""

    def __init__(self) -> None:
        self.armed = False
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    def arm(self) -> None:
        self.armed = True
        self.reached.clear()
        self.release.clear()

    def disarm(self) -> None:
        self.armed = False
        self.release.set()

    async def here(self) -> None:
        if not self.armed:
            return
        self.armed = False
        self.reached.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), 10)


class HoldingHackerNews(FakeHackerNews):
    """Holds a search's answer at the test's request."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = Hold()

    async def search_by_date(self, request: web.Request) -> web.Response:
        await self.hold.here()
        return await super().search_by_date(request)


class HoldingSlack(FakeSlack):
    """Posts the message, then holds the answer at the test's request (or answers after a short pause)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = Hold()

    async def before_answer(self) -> None:
        await self.hold.here()
        await super().before_answer()


@pytest.fixture
async def holding_hn(aiohttp_server: ServerFactory) -> AsyncIterator[HoldingHackerNews]:
    fake = HoldingHackerNews()
    yield await serve(fake, fake.app, aiohttp_server, "/api/v1/")


@pytest.fixture
async def holding_slack(aiohttp_server: ServerFactory) -> AsyncIterator[HoldingSlack]:
    fake = HoldingSlack()
    yield await serve(fake, fake.app, aiohttp_server, "/api/")


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


def points(rng: random.Random) -> list[str]:
    """Where each run is killed: burst runs at a Slack post (they make alerts), the others in turn."""
    others = [MID_POLL, STORED, MID_POLL, STARTING, RANDOM]
    return [SLACK_POSTED if run % 3 == 1 else others[rng.randrange(len(others))] for run in range(RUNS)]


async def reach(point: str, hn: HoldingHackerNews, slack: HoldingSlack, stored: Callable[[], bool],
                rng: random.Random) -> str:  # fmt: skip
    """Wait until the running daemon is at the point (or, for a Slack post that does not come, has stored
    the run's mentions); the point reached."""
    if point == MID_POLL:
        await asyncio.wait_for(hn.hold.reached.wait(), 30)
    elif point == SLACK_POSTED:
        posted = asyncio.create_task(slack.hold.reached.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(posted), 5)
        posted.cancel()
        if not slack.hold.reached.is_set():  # this burst made no alert (an open incident not grown enough)
            await wait_for(stored, 30)
            return STORED
    elif point == STORED:
        await wait_for(stored, 30)
    elif point == RANDOM:
        await asyncio.sleep(rng.uniform(0.05, 0.6))
    return point


@pytest.mark.wall_clock
@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_sigkill_at_chosen_points_loses_and_repeats_nothing(
    tmp_path: Path, holding_hn: HoldingHackerNews, holding_slack: HoldingSlack
) -> None:
    rng = random.Random(SEED)
    holding_slack.answer_delay = lambda: rng.uniform(0.0, 0.2)
    config = daemon_config(tmp_path, holding_hn.url, holding_slack.url)
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
        served.append(holding_hn.add_hit(f"h{counter}", int(time.time()), text)["objectID"])

    def stored() -> bool:
        return db_count(db, "SELECT COUNT(*) FROM mentions") >= len(served)

    # Warm-up: the first poll of a brand is backfill (baseline, never alerted on); let it land.
    add("python is fine today")
    process = await start(config, log)
    await wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM cursors") > 0, 30)
    process.kill()
    await process.wait()

    for run, point in enumerate(points(rng)):
        brand = BRANDS[run % len(BRANDS)]
        add(f"{brand} note {run}")
        if run % 3 == 1:  # a burst: opens the brand's incident, or grows it (updates)
            for k in range(6):
                add(f"{brand} outage {run}.{k}: everything is down")
        if point in (MID_POLL, SLACK_POSTED):
            (holding_hn if point == MID_POLL else holding_slack).hold.arm()
        process = await start(config, log)
        try:
            kills[await reach(point, holding_hn, holding_slack, stored, rng)] += 1
        finally:
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL
            holding_hn.hold.disarm()
            holding_slack.hold.disarm()

    # A last run that is let finish: every hit stored, every alert delivered, then a clean stop.
    started = log.read_text().count("running: ")
    process = await start(config, log)
    try:
        await wait_for(lambda: log.read_text().count("running: ") > started, 30)
        await wait_for(stored, 30)
        await wait_for(lambda: db_count(db, "SELECT COUNT(*) FROM outbox") == 0, 30)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    said = log.read_text()
    assert "Traceback" not in said, said[-3000:]

    stored_ids = Counter(str(row[0]) for row in read_db(db, "SELECT id FROM mentions WHERE platform = 'hackernews'"))
    assert set(stored_ids) == set(served) and set(stored_ids.values()) == {1}
    assert read_db(db, "PRAGMA integrity_check") == [("ok",)]
    assert read_db(db, "SELECT COUNT(*) FROM dead_letters") == [(0,)]

    posted = [m["metadata"]["event_payload"] for m in holding_slack.messages]
    by_outbox = Counter(p["outbox_id"] for p in posted)
    assert [i for i, n in by_outbox.items() if n > 1] == [], "an alert event was posted twice"
    incidents = {str(row[0]) for row in read_db(db, "SELECT id FROM incidents")}
    assert incidents, "no burst opened an incident: the loop proved nothing"
    openings = Counter(m["metadata"]["event_payload"]["incident"] for m in holding_slack.messages
                       if "thread_ts" not in m)  # fmt: skip
    reopened = sum(1 for m in holding_slack.messages if "thread_ts" not in m and "reopen" in m.get("text", "").lower())
    assert set(openings) == incidents
    assert sum(openings.values()) - len(incidents) == reopened  # each opened once (a reopening says so)
    threads = {str(r[0]): r[1] for r in read_db(db, "SELECT id, thread_ts FROM incidents")}
    assert all(threads.values()), threads
    assert sum(kills.values()) == RUNS
    assert kills[SLACK_POSTED] >= 5 and kills[MID_POLL] >= 5 and kills[STORED] >= 3, kills
    print(json.dumps({"kills": kills, "incidents": len(incidents), "messages": len(posted)}))
