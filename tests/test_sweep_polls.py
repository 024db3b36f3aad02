"""Where a watermark source's sweep starts (sweep.begin/finish): a quiet query's later polls fetch nothing
twice, a post the platform shows late within the overlap is still caught, old cursors keep working,
NewsAPI's known delay, X's id marks, and the platform clock's skew read from Date headers."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources import sweep
from monitor.sources.hackernews import HackerNews
from monitor.sources.newsapi import NewsApi
from monitor.sources.x import X
from tests.fakes import drain, make_source
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.newsapi import FakeNewsApi
from tests.fakes.x import FakeX, snowflake
from tests.helpers.clock import Clock

T0 = 1_795_500_000  # 2026-11-24T06:00:00Z
SINCE = datetime.fromtimestamp(T0 - 4 * 86400, UTC)
Q = "acme cloud"
OVERLAP = 300


def quiet(fake: FakeHackerNews) -> int:
    """A post every two hours for three days, the newest two hours before T0; its time."""
    for i in range(36):
        fake.add_hit(f"q{i}", T0 - 7200 * (i + 1), f"acme cloud quiet {i}")
    return T0 - 7200


def floors(fake: FakeHackerNews) -> list[str]:
    return [r.query["numericFilters"] for r in fake.requests]


async def test_a_quiet_querys_later_polls_fetch_nothing_twice(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    quiet(fake_hn)
    clock = Clock(T0)
    source = make_source(HackerNews, session, fake_hn, clock)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert len(mentions) == 36
    first = len(fake_hn.requests)
    for minute in range(1, 11):  # ten more polls, a minute apart, with nothing new
        clock.now = T0 + 60 * minute
        again, cursor, pages = await drain(source, Q, cursor, SINCE)
        assert again == [] and pages == 1
        assert floors(fake_hn)[-1] == f"created_at_i>={T0 + 60 * (minute - 1) - OVERLAP}"
    assert len(fake_hn.requests) == first + 10
    assert [i for i, n in Counter(fake_hn.served_ids()).items() if n > 1] == []  # nothing served twice


async def test_a_post_shown_late_within_the_overlap_is_caught(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    quiet(fake_hn)
    clock = Clock(T0)
    source = make_source(HackerNews, session, fake_hn, clock)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    # Made before that poll, within the overlap, but shown by the index only now (after the poll); and
    # one made during the poll's own first second.
    fake_hn.add_hit("late", T0 - OVERLAP + 1, "acme cloud indexed late")
    fake_hn.add_hit("at-the-start", T0, "acme cloud as the poll began")
    clock.now = T0 + 60
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["at-the-start", "late"]
    # Then the previous sweep's start (T0 + 60) less the overlap: what is within the overlap of the
    # newest post (T0) is fetched again, by design (the store and `seen` drop it); nothing older.
    clock.now = T0 + 120
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert floors(fake_hn)[-1] == f"created_at_i>={T0 + 60 - OVERLAP}"
    assert [i for i, n in Counter(fake_hn.served_ids()).items() if n > 1] == ["at-the-start"]


async def test_a_cursor_without_polled_starts_from_the_watermark_less_the_overlap(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    newest = quiet(fake_hn)
    clock = Clock(T0)
    source = make_source(HackerNews, session, fake_hn, clock)
    old = json.dumps({"v": 2, "mark": newest, "seen": {"q0": newest}})  # written before `polled` existed
    again, cursor, pages = await drain(source, Q, old, SINCE)
    assert again == [] and pages == 1 and floors(fake_hn) == [f"created_at_i>={newest - OVERLAP}"]
    assert json.loads(cursor) == {"v": 2, "mark": newest, "polled": T0, "seen": {}}
    clock.now = T0 + 60
    await drain(source, Q, cursor, SINCE)
    assert floors(fake_hn)[-1] == f"created_at_i>={T0 - OVERLAP}"


@pytest.mark.parametrize(("skew", "polled"), [(-120, T0 - 120), (120, T0), (None, None)])
async def test_the_platforms_clock_moves_the_sweeps_start_back_never_forward(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession, skew: int | None, polled: int | None
) -> None:
    quiet(fake_hn)
    clock = Clock(T0)
    source = make_source(HackerNews, session, fake_hn, clock)
    if skew is None:
        fake_hn.no_date = True  # no Date header: nothing known of the platform's clock, the old rule
    else:
        fake_hn.date = lambda: clock() + skew  # behind ours (our clock ahead), or ahead of ours
    _, cursor, _ = await drain(source, Q, None, SINCE)
    state = json.loads(cursor)
    assert state.get("polled") == polled and source.http.ahead == (None if skew is None else -skew)


async def test_newsapi_starts_a_known_delay_below_the_previous_sweep(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSAPI_KEY", fake_newsapi.api_key)
    for i in range(36):
        fake_newsapi.add_article(f"https://news.example/{i}", T0 - 7200 * (i + 1), f"Acme Cloud story {i}")
    clock = Clock(T0)
    source = make_source(NewsApi, session, fake_newsapi, clock)  # the free plan: a day late
    _, cursor, _ = await drain(source, Q, None, SINCE)
    # The newest article is two hours old, within the day: the previous sweep's start changes nothing.
    assert "polled" not in json.loads(cursor)
    clock.now = T0 + 2 * 86400
    _, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert json.loads(cursor)["polled"] == T0 + 2 * 86400
    clock.now = T0 + 2 * 86400 + 900
    served = len(fake_newsapi.served_urls())
    _, cursor, _ = await drain(source, Q, cursor, SINCE)
    # From the previous sweep's start less the day and the overlap: above every article.
    expected = datetime.fromtimestamp(T0 + 2 * 86400 - 86400 - source.overlap, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert fake_newsapi.requests[-1].query["from"] == expected and len(fake_newsapi.served_urls()) == served
    paid = make_source(NewsApi, session, fake_newsapi, clock, delay=0)  # a paid plan: no delay
    await drain(paid, Q, cursor, SINCE)
    no_delay = datetime.fromtimestamp(T0 + 2 * 86400 + 900 - source.overlap, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert fake_newsapi.requests[-1].query["from"] == no_delay


async def test_x_asks_since_the_id_of_the_previous_sweeps_start(
    fake_x: FakeX, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", fake_x.token)
    clock = Clock(T0)
    fake_x.clock = clock
    fake_x.reset_at = T0 + 86400
    for i in range(12):
        fake_x.add_post(T0 - 7200 * (i + 1), f"acme cloud quiet {i}")
    source = make_source(X, session, fake_x, clock, overlap=OVERLAP)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert len(mentions) == 12 and json.loads(cursor)["polled"] == T0
    clock.now = T0 + 60
    again, _, pages = await drain(source, Q, cursor, SINCE)
    # since_id is the id of T0 less the overlap, above every post: nothing is served again (the
    # watermark's rule would ask from two hours ago less the overlap).
    assert again == [] and pages == 1
    assert int(fake_x.requests[-1].query["since_id"]) == snowflake(T0 - OVERLAP)


def test_begin_and_finish_share_one_floor() -> None:
    """A sweep keeps in `seen` exactly what the next one's floor can fetch again."""
    state = sweep.begin({"mark": 1000, "seen": {"a": 700, "b": 950}}, 100, now=2000.5)
    assert state["floor"] == 900 and state["started"] == 2000.5
    state["new"]["c"] = 1990
    done = sweep.finish(state, 1990, 100, ahead=0.5)
    assert done == {"mark": 1990, "polled": 2000, "seen": {"c": 1990}}
    after = sweep.begin(done, 100, now=2060)
    assert after["floor"] == 1900 and sweep.begin(after, 100, now=9999)["started"] == 2060  # going on
