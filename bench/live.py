"""Benchmarks of the running daemon against the test suite's fake servers on loopback (not tests).

latency(): wall-clock time from the poll that brings the mention completing a spike to the fake Slack
receiving the alert, one sample per brand. idle(): a daemon in a child process polling many brand
queries with nothing new: its CPU, the requests per poll, items fetched twice on those quiet
queries (the goal: none), items fetched again per poll on one busy query whose posts are within the
overlap of its newest (the overlap's cost, by design), and requests made while a Retry-After is
pending. Brand names are zero-padded (Brand007): the fake matches a query as a substring, and
"brand1" would also find Brand10 to Brand19. Each prints nothing; bench/run.py calls them and prints the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.clock import system  # noqa: E402
from monitor.loading import load_all  # noqa: E402
from monitor.service.daemon import Daemon  # noqa: E402
from tests.fakes.base import serve  # noqa: E402
from tests.fakes.hackernews import FakeHackerNews  # noqa: E402
from tests.fakes.slack import TOKEN, FakeSlack  # noqa: E402

RULE = (ROOT / "rules" / "negative-spike.toml").read_text()


async def _start(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def _name(i: int) -> str:
    """Brand i's name, zero-padded so that no brand's name holds another's."""
    return f"Brand{i:03d}"


def _config(folder: Path, hn: str, slack: str, brands: int, interval: str, tick: str, busy: bool = False) -> Path:
    (folder / "rules").mkdir(exist_ok=True)
    (folder / "rules" / "negative-spike.toml").write_text(RULE)
    names = [_name(i) for i in range(brands)] + (["BusyBrand"] if busy else [])
    blocks = "".join(
        f'\n[[brands]]\nid = "b{i}"\nname = "{n}"\nqueries = [\'"{n.lower()}"\']\n' for i, n in enumerate(names)
    )
    path = folder / "config.toml"
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
{blocks}
[sources.hackernews]
interval = "{interval}"
base_url = "{hn}"
""")
    return path


def _seed(hn: FakeHackerNews, brands: int, now: float) -> None:
    """Three days of quiet talk per brand: a neutral post every two hours."""
    for i in range(brands):
        for h in range(1, 72, 2):
            hn.add_hit(f"s{i}-{h}", int(now - h * 3600), f"Has anyone tried {_name(i)} for hosting a replica?")


class TimedHackerNews(FakeHackerNews):
    """The fake, noting when each search came in and which ids it served."""

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[tuple[float, str, list[str]]] = []  # (time, query, ids served)

    async def search_by_date(self, request: web.Request) -> web.Response:
        at, before = time.perf_counter(), len(self.served)
        answer = await super().search_by_date(request)
        ids = self.served[-1] if len(self.served) > before else []
        self.polls.append((at, request.query.get("query", ""), ids))
        return answer


class TimedSlack(FakeSlack):
    """The fake, noting when each message was received."""

    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[tuple[float, str]] = []  # (time, text)

    async def post_message(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        answer = await super().post_message(request)
        self.alerts.append((at, self.text_of(self.messages[-1]) if self.messages else ""))
        return answer


async def _latency(folder: Path, brands: int, spacing: float) -> list[float]:
    os.environ["SLACK_BOT_TOKEN"] = TOKEN
    hn, slack = TimedHackerNews(), TimedSlack()
    await serve(hn, hn.app, _start, "/api/v1/")
    await serve(slack, slack.app, _start, "/api/")
    now = time.time()
    _seed(hn, brands, now)
    # The shipped rule's 1-minute tick: the alert must not wait for it (a poll with news brings it forward).
    path = _config(folder, hn.url, slack.url, brands, interval="2s", tick="1m")
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system)
    task = asyncio.create_task(daemon.run())
    await asyncio.sleep(brands * 0.2 + 4)  # every query has been polled (backfill) at least once
    bursts: dict[str, set[str]] = {}
    for i in range(brands):
        ids = {f"x{i}-{k}" for k in range(14)}
        for k in range(14):
            hn.add_hit(f"x{i}-{k}", int(time.time()) - 1, f"{_name(i)} is down again, terrible outage ({k})")
        bursts[f"b{i}"] = ids
        await asyncio.sleep(spacing)  # one spike at a time: latency, not a queue of simultaneous alerts
    with contextlib.suppress(TimeoutError):  # a brand that did not alert has no sample
        await slack.wait_for(lambda: len(slack.alerts) >= brands, within=30)
    daemon.stop.set()
    await asyncio.wait_for(task, 20)
    samples = []
    for i in range(brands):
        ids = bursts[f"b{i}"]
        poll = next((at for at, query, served in hn.polls if _name(i).lower() in query and ids & set(served)), None)
        alert = next((at for at, text in slack.alerts if _name(i) in text), None)
        if poll is not None and alert is not None:
            samples.append(alert - poll)
    return samples


def latency(brands: int = 30, spacing: float = 1.0) -> list[float]:
    """Seconds from the completing poll to the alert at the fake Slack, one per brand that alerted."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_latency(Path(tmp), brands, spacing))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _idle(folder: Path, brands: int, interval: float, rounds: int) -> dict[str, Any]:
    hn, slack = FakeHackerNews(), FakeSlack()
    await serve(hn, hn.app, _start, "/api/v1/")
    await serve(slack, slack.app, _start, "/api/")
    now = time.time()
    _seed(hn, brands, now)
    for k in range(5):  # one busy brand: a post a minute for the last five minutes
        hn.add_hit(f"busy-{k}", int(now - 60 * k - 30), f"BusyBrand release notes, part {k}")
    path = _config(folder, hn.url, slack.url, brands, interval=f"{interval:g}s", tick="1m", busy=True)
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(path), cwd=folder, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # Warm up: start, imports, the first (backfill) poll of every query.
        await asyncio.sleep(brands * 0.2 + interval + 3)
        first = len(hn.requests)
        served_before = len(hn.served_ids())
        cpu0, t0 = _cpu_seconds(child.pid), time.perf_counter()
        await asyncio.sleep(rounds * interval)
        cpu, wall = _cpu_seconds(child.pid) - cpu0, time.perf_counter() - t0
        quiet_requests = [r for r in hn.requests[first:] if "busybrand" not in r.query.get("query", "")]
        busy_polls = len(hn.requests) - first - len(quiet_requests)
        polls = brands * wall / interval
        live_served = hn.served_ids()[served_before:]
        busy_again = sum(1 for i in live_served if i.startswith("busy-"))
        quiet_again = len(live_served) - busy_again
        # Retry-After: the next answer is a 429 asking for 3 x interval; count requests for that query meanwhile.
        mark = len(hn.requests)
        hn.fail_next(429, headers={"Retry-After": str(int(3 * interval))}, body='{"message": "slow down"}')
        while len(hn.requests) <= mark:  # noqa: ASYNC110 - the fake only appends to a list
            await asyncio.sleep(0.05)
        limited_query = hn.requests[mark].query.get("query")
        await asyncio.sleep(2 * interval)  # inside the 3-interval Retry-After
        during = sum(1 for r in hn.requests[mark + 1 :] if r.query.get("query") == limited_query)
    finally:
        child.terminate()
        await asyncio.wait_for(child.wait(), 20)
    return {"cpu_share": cpu / wall, "cpu_per_poll": cpu / max(polls * (brands + 1) / brands, 1),
            "requests_per_poll": len(quiet_requests) / max(polls, 1), "refetched": quiet_again,
            "busy_refetched_per_poll": busy_again / max(busy_polls, 1), "during_retry_after": during,
            "polls": polls}  # fmt: skip


def idle(brands: int = 100, interval: float = 6.0, rounds: int = 5) -> dict[str, Any]:
    """The daemon polling brands queries every interval seconds (a compressed minute) with nothing new."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_idle(Path(tmp), brands, interval, rounds))


if __name__ == "__main__":
    print(latency(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
    print(idle())
