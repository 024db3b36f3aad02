"""Benchmarks of the running daemon against the test suite's fake servers on loopback (not tests).

latency(): wall-clock time from the poll that brings the mention completing a spike to the fake Slack
receiving the alert, one sample per brand. idle(): a daemon in a child process polling many brand
queries with nothing new: its CPU, the requests per poll, items fetched twice on those quiet
queries (the goal: none), items fetched again per poll on one busy query whose posts are within the
overlap of its newest (the overlap's cost, by design), and requests made while a Retry-After is
pending. Brand names are zero-padded (Brand007): the fake matches a query as a substring, and
"brand1" would also find Brand10 to Brand19. cli_start(): how long `monitor --help`, `check` and
`version` take to start against `python -c pass`. Each prints nothing; bench/run.py calls them and prints the table
(`python bench/live.py cli` and `python bench/live.py idle [BRANDS INTERVAL ROUNDS]` print one alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import procfs  # noqa: E402

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


def _config(
    folder: Path,
    hn: str,
    slack: str,
    brands: int,
    interval: str,
    tick: str,
    busy: bool = False,
    every_rule: bool = False,
) -> Path:
    """A config of brands brands on the fake Hacker News, with the shipped negative-spike rule (every_rule:
    all the shipped rule files)."""
    if every_rule:
        shutil.copytree(ROOT / "rules", folder / "rules", dirs_exist_ok=True)
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


async def _sample_rss(pid: int, samples: list[tuple[float, float]]) -> None:
    """(time, VmRSS in MB) of the process twice a second until cancelled."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        while True:
            samples.append((time.perf_counter(), procfs.memory_mb(pid)["VmRSS"]))
            await asyncio.sleep(0.5)


async def _polled_once(hn: FakeHackerNews, queries: int, within: float) -> None:
    """Until every query has been asked for at least once (the first, backfill round)."""
    deadline = time.perf_counter() + within
    while len({r.query.get("query") for r in hn.requests}) < queries and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def _retry_after(hn: FakeHackerNews, interval: float) -> int:
    """Requests for one query while the Retry-After (3 x interval) its 429 asked for is pending."""
    mark = len(hn.requests)
    hn.fail_next(429, headers={"Retry-After": str(int(3 * interval))}, body='{"message": "slow down"}')
    while len(hn.requests) <= mark:  # noqa: ASYNC110 - the fake only appends to a list
        await asyncio.sleep(0.05)
    limited_query = hn.requests[mark].query.get("query")
    await asyncio.sleep(2 * interval)  # inside the 3-interval Retry-After
    return sum(1 for r in hn.requests[mark + 1 :] if r.query.get("query") == limited_query)


async def _idle(folder: Path, brands: int, interval: float, rounds: int) -> dict[str, Any]:
    hn, slack = FakeHackerNews(), FakeSlack()
    await serve(hn, hn.app, _start, "/api/v1/")
    await serve(slack, slack.app, _start, "/api/")
    now = time.time()
    _seed(hn, brands, now)
    for k in range(5):  # one busy brand: a post a minute for the last five minutes
        hn.add_hit(f"busy-{k}", int(now - 60 * k - 30), f"BusyBrand release notes, part {k}")
    path = _config(folder, hn.url, slack.url, brands, f"{interval:g}s", tick="1m", busy=True, every_rule=True)
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(path), cwd=folder, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rss: list[tuple[float, float]] = []
    sampler = asyncio.create_task(_sample_rss(child.pid, rss))
    try:
        # Warm up: start, imports, the first (backfill) poll of every query, then one ordinary round.
        await _polled_once(hn, brands + 1, within=brands * 0.2 + 60)
        await asyncio.sleep(interval + 2)
        first, served_before = len(hn.requests), len(hn.served_ids())
        cpu0, t0 = _cpu_seconds(child.pid), time.perf_counter()
        await asyncio.sleep(rounds * interval)
        cpu, wall = _cpu_seconds(child.pid) - cpu0, time.perf_counter() - t0
        quiet_requests = [r for r in hn.requests[first:] if "busybrand" not in r.query.get("query", "")]
        busy_polls = len(hn.requests) - first - len(quiet_requests)
        polls = brands * wall / interval
        live_served = hn.served_ids()[served_before:]
        busy_again = sum(1 for i in live_served if i.startswith("busy-"))
        quiet_again = len(live_served) - busy_again
        during = await _retry_after(hn, interval)
        memory = procfs.memory_mb(child.pid)  # at the end: VmHWM covers the whole run
    finally:
        sampler.cancel()
        child.terminate()
        await asyncio.wait_for(child.wait(), 20)
    steady = sorted(mb for at, mb in rss if t0 <= at <= t0 + wall)
    return {"cpu_share": cpu / wall, "cpu_per_poll": cpu / max(polls * (brands + 1) / brands, 1),
            "rss_mb": steady[len(steady) // 2], "rss_min_mb": steady[0], "rss_max_mb": steady[-1],
            "peak_rss_mb": memory["VmHWM"], "rss_anon_mb": memory["RssAnon"], "rss_file_mb": memory["RssFile"],
            "requests_per_poll": len(quiet_requests) / max(polls, 1), "refetched": quiet_again,
            "busy_refetched_per_poll": busy_again / max(busy_polls, 1), "during_retry_after": during,
            "polls": polls, "interval": interval, "brands": brands}  # fmt: skip


def idle(brands: int = 100, interval: float = 60.0, rounds: int = 3) -> dict[str, Any]:
    """The real daemon (`monitor run`, a child process) polling brands queries (and a busy one) every
    interval seconds with nothing new, measured over rounds intervals after its first polls.

    cpu_share: its CPU seconds over the wall seconds of those rounds; rss_mb: the median of its VmRSS
    sampled twice a second over them (rss_min_mb, rss_max_mb the extremes); peak_rss_mb: its VmHWM
    (its whole run); rss_anon_mb and rss_file_mb: VmRSS split into heap and mapped files at the end; the
    polling figures as before. It runs every shipped rule file. Takes about (rounds + 4) x interval + 30 s.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_idle(Path(tmp), brands, interval, rounds))


def _command_line() -> list[str]:
    """How a user starts monitor: the console script beside this Python, else `python -m monitor`."""
    script = Path(sys.executable).with_name("monitor")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def cli_start(runs: int = 9) -> dict[str, float]:
    """Median wall milliseconds of starting, in alternating turns: "floor" (`python -c pass`), "help"
    (`monitor --help`), "check" (`monitor check` on a config of 100 brands and the shipped rule) and
    "version" (`monitor version`). Python may write and use its bytecode cache as an installed copy
    does (PYTHONDONTWRITEBYTECODE is dropped); a first untimed turn fills it."""
    import statistics
    import tempfile

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(Path(tmp), "http://127.0.0.1:9/api/v1/", "http://127.0.0.1:9/api/", 100, "1m", "1m")
        commands = {
            "floor": [sys.executable, "-c", "pass"],
            "help": [*_command_line(), "--help"],
            "check": [*_command_line(), "check", "--config", str(config)],
            "version": [*_command_line(), "version"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for turn in range(runs + 1):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, env=env, cwd=tmp, capture_output=True, check=True)
                if turn:
                    times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


if __name__ == "__main__":
    if sys.argv[1:2] == ["cli"]:
        print(cli_start())
    elif sys.argv[1:2] == ["idle"]:
        print(idle(*(float(a) if "." in a else int(a) for a in sys.argv[2:])))  # type: ignore[arg-type]
    else:
        print(latency(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
        print(cli_start())
        print(idle())
