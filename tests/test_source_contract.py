"""The contract every source keeps, tried on each of the ten against its fake (tests/helpers/sources.py).

The fakes answer as the services do: 20 ms late, with the test's clock moving on with every request,
page tokens that must come back as they came, and the platform's own refusals. A sweep is asked to go
back further than the platform's search reaches (`backfill` longer than X's seven days, NewsAPI's
month, GDELT's three months), and its requests are counted against what the platform's paging needs.
What is specific to one platform is tested in its own file (tests/test_<platform>.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.engine.core import Engine
from monitor.engine.poll import poll_once
from monitor.sanitize import INT_MAX
from monitor.sources.base import BadResponse, RateLimited
from tests.fakes import drain
from tests.fakes.x import X_EPOCH_MS
from tests.helpers.clock import Clock
from tests.helpers.engine import first_brand, make_engine
from tests.helpers.sources import DAY, QUERY, T0, Spec, make, texts

NOW = float(T0)
SPACING = 1800  # seconds between items: a few fall within any source's overlap, never a page of them


def behaving(spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch,
             clock: Clock) -> Any:  # fmt: skip
    """The source on a fake that answers 20 ms late and moves the clock with each request, small pages."""
    fake.behave(clock)
    fake.date = clock
    options = dict([spec.page]) if spec.page else {}
    return make(spec, fake, fake.url, session, clock, monkeypatch, **options)


def backfill(spec: Spec) -> datetime:
    """A start further back than the platform's search reaches (two weeks past it; 60 days without one)."""
    return datetime.fromtimestamp(NOW - (spec.window or 46 * DAY) - 14 * DAY, UTC)


def two_pages(spec: Spec, fake: Any) -> int:
    """Items for a sweep of two pages (one, for a feed), the second far from full; how many."""
    count = spec.per_page + 2 if spec.page else 3
    for i in range(count):
        spec.add(fake, i, NOW - SPACING * (count - i))
    return count


def watermark(cursor: str) -> float:
    """The time of a cursor's watermark: epoch seconds, or the time in an X or Mastodon id."""
    state = json.loads(cursor)
    if "marks" in state:  # Mastodon: a snowflake per stream, milliseconds << 16
        return max(state["marks"].values()) / 1000 / 2**16
    mark = state["mark"]
    return ((int(mark) >> 22) + X_EPOCH_MS) / 1000 if isinstance(mark, str) else float(mark)


def answer(fake: Any, path: str, body: Any) -> None:
    """Script one answer of the search, whatever its shape (JSON, or text as it is)."""
    text = body if isinstance(body, str) else json.dumps(body)
    kind = "text/html" if isinstance(body, str) else "application/json"
    fake.fail_next(200, body=text, content_type=kind, path=path)


async def test_a_two_page_sweep_back_past_the_search_window_pays_only_for_its_pages(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(NOW, tick=0.001)
    count = two_pages(spec, fake)
    source = behaving(spec, fake, session, monkeypatch, clock)
    since = backfill(spec)
    mentions, cursor, pages = await drain(source, QUERY, None, since)
    expected = 2 if spec.page else 1
    assert texts(mentions) == {f"item{i}" for i in range(count)} and len(mentions) == count
    assert (pages, spec.searches(fake)) == (expected, expected), "a page asked for more than once"
    assert len(fake.requests) == expected + spec.overhead(expected)
    # The watermark moved up to the newest item (the last one, SPACING before NOW), from the backfill's start.
    assert NOW - SPACING - 1 <= watermark(cursor) <= clock.now
    # So the next poll asks once, and brings only what is new.
    spec.add(fake, 99, clock.now - 60)
    clock.now += 300
    newer, _, pages = await drain(source, QUERY, cursor, since)
    assert texts(newer) == {"item99"} and pages == 1 and spec.searches(fake) == expected + 1


async def test_a_restart_mid_sweep_goes_on_where_the_cursor_says(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(NOW, tick=0.001)
    count = two_pages(spec, fake)
    since = backfill(spec)
    first = await behaving(spec, fake, session, monkeypatch, clock).search(QUERY, None, since)
    assert first.more == bool(spec.page)
    # While the process is down, a post above the sweep (the next poll's) and one in the part not fetched
    # yet (made long ago, shown late); then a new process, with nothing but the stored cursor.
    spec.add(fake, 98, clock.now - 30)
    if spec.page:
        spec.add(fake, 97, NOW - SPACING * count - 60)
    clock.now += 120
    second = behaving(spec, fake, session, monkeypatch, clock)
    rest, cursor, _ = await drain(second, QUERY, first.cursor, since)
    ids = [m.id for m in first.mentions + rest]
    assert len(ids) == len(set(ids)), "fetched twice"
    expected = {f"item{i}" for i in range(count)} | ({"item97"} if spec.page else set())
    assert texts(first.mentions + rest) - {"item98"} == expected
    assert spec.searches(fake) == 2  # page 1, then page 2 (a feed: read again, by the new process)
    assert NOW - SPACING - 1 <= watermark(cursor) <= clock.now  # the sweep's newest (item98 is the next poll's)
    clock.now += 300
    newer, cursor, pages = await drain(second, QUERY, cursor, since)
    assert texts(first.mentions + rest + newer) >= expected | {"item98"} and pages == 1
    assert watermark(cursor) >= NOW - 60


async def test_a_wrong_shape_is_a_bad_response(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make(spec, fake, fake.url, session, Clock(NOW), monkeypatch)
    for body in spec.wrong_shapes:
        answer(fake, spec.paths[0], body)
        with pytest.raises(BadResponse):
            await source.search(QUERY, None, backfill(spec))


async def test_a_5xx_is_retried_within_the_poll(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec.add(fake, 0, NOW - 600)
    source = make(spec, fake, fake.url, session, Clock(NOW), monkeypatch)
    fake.fail_next(502, body="<html><body>Bad Gateway</body></html>", content_type="text/html", path=spec.paths[0])
    fake.fail_next(503, body='{"error": "unavailable"}', path=spec.paths[0])
    mentions, _, _ = await drain(source, QUERY, None, backfill(spec))
    assert texts(mentions) == {"item0"} and spec.searches(fake) == 3


async def test_the_platforms_own_refusal_is_a_rate_limit_obeyed(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(NOW)
    spec.add(fake, 0, NOW - 600)
    source = make(spec, fake, fake.url, session, clock, monkeypatch)
    spec.throttle(fake)
    with pytest.raises(RateLimited) as refused:
        await drain(source, QUERY, None, backfill(spec))
    wait = refused.value.retry_after
    assert wait is not None and wait >= 60 and f"{wait:.0f}s" in str(refused.value)
    sent = len(fake.requests)
    with pytest.raises(RateLimited):  # nothing is sent until the wait is over
        await source.search(QUERY, None, backfill(spec))
    assert len(fake.requests) == sent
    clock.now += wait + 1
    mentions, _, _ = await drain(source, QUERY, None, backfill(spec))
    assert texts(mentions) == {"item0"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(tmp_path)
    yield engine
    engine.store.close()


async def test_a_poisoned_item_costs_nothing_else_and_the_cursor_moves(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    clock = Clock(NOW)
    for i in range(3):
        spec.add(fake, i, NOW - 3600 + i * 600)
    spec.poison(fake, 3, NOW - 1800 + 60)  # among the good ones: a count past 2^63, a lone surrogate
    source = behaving(spec, fake, session, monkeypatch, clock)
    brand = first_brand(engine)
    await poll_once(source, brand, QUERY, engine, clock.now)
    rows = engine.store.db.execute("SELECT id, title, text, likes, author_followers FROM mentions").fetchall()
    assert len(rows) == 4, rows  # every good one, and the poisoned one repaired
    assert all(likes <= INT_MAX and (reach or 0) <= INT_MAX for _, _, _, likes, reach in rows)
    (poisoned,) = [row for row in rows if "item3" in f"{row[1]} {row[2]}"]
    assert "\ufffd" in f"{poisoned[1]} {poisoned[2]}" and "\x00" not in f"{poisoned[1]} {poisoned[2]}"
    assert engine.store.cursor(spec.name, "acme", QUERY) is not None, "the cursor did not move"
    spec.add(fake, 4, clock.now - 30)  # the source is not stuck on it: the next poll stores what is new
    clock.now += 300
    await poll_once(source, brand, QUERY, engine, clock.now)
    found = engine.store.db.execute("SELECT title || ' ' || text FROM mentions").fetchall()
    assert any("item4" in row[0] for row in found)
