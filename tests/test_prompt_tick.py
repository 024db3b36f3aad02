"""A poll that stores news brings the rule tick forward: the alert does not wait for the next tick."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

from monitor.clock import system
from monitor.loading import load_all
from monitor.service.daemon import Daemon
from tests.fakes.base import ServerFactory, serve
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import TOKEN, FakeSlack
from tests.helpers.daemon import add_burst, seed_history, write_config


class SignallingHackerNews(FakeHackerNews):
    """Counts answered searches, and wakes whoever waits for a number of them."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0
        self.changed = asyncio.Condition()

    async def search_by_date(self, request: web.Request) -> web.Response:
        answer = await super().search_by_date(request)
        async with self.changed:
            self.answered += 1
            self.changed.notify_all()
        return answer

    async def wait_for_answers(self, count: int, within: float = 10.0) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.answered >= count), within)


@pytest.mark.wall_clock
async def test_news_is_judged_at_once_not_at_the_next_hourly_tick(
    tmp_path: Path, aiohttp_server: ServerFactory, fake_reddit: FakeReddit, fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    fake_hn = SignallingHackerNews()
    await serve(fake_hn, fake_hn.app, aiohttp_server, "/api/v1/")
    seed_history(fake_hn, fake_reddit, time.time())
    # The tick runs once at start, then hourly: only a poll with news can bring it forward.
    path = write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url, interval="1s", tick="1h")
    config, rules = load_all(str(path))
    daemon = Daemon(config, rules, path, clock=system)
    task = asyncio.create_task(daemon.run())
    try:
        await fake_hn.wait_for_answers(3)  # backfilled, and the start's tick is behind us
        assert fake_slack.messages == []
        add_burst(fake_hn, fake_reddit, time.time(), 14, "live", spacing=0.1)
        (message,) = await fake_slack.wait_for_messages(1, within=15)
        assert "negative-spike" in fake_slack.text_of(message)
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 15) == 0
