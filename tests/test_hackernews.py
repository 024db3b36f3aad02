"""Hacker News against a fake Algolia: mapping, paging, cursors across polls and restarts, failures."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import RateLimited
from monitor.sources.hackernews import HackerNews
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.hackernews import FakeHackerNews, recorded
from tests.helpers.clock import Clock

T0 = 1_795_500_000
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"


def hn(
    session: aiohttp.ClientSession, fake: FakeHackerNews, clock: Clock | None = None, **options: object
) -> HackerNews:
    source: HackerNews = make_source(HackerNews, session, fake, clock or Clock(NOW), **options)
    return source


def filters(fake: FakeHackerNews) -> list[str]:
    return [r.query["numericFilters"] for r in fake.requests]


async def test_a_poll_maps_recorded_hits_and_returns_a_cursor(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    fake_hn.hits = recorded()["hits"]
    since = datetime.fromtimestamp(1795268000, UTC)
    page = await hn(session, fake_hn, Clock(1795530011 + 60)).search(Q, None, since)
    by_id = {m.id: m for m in page.mentions}
    comment = by_id["41890123"]
    assert comment.text == (  # entities and <p> turned into plain text
        "Acme Cloud has been down for us since 14:00 – every deploy fails with a 502. Their status page says "
        '"all systems operational".\nNot great.'
    )
    assert comment.title == "" and comment.author == "pgarcia" and comment.platform == "hackernews"
    assert comment.created_at == datetime(2026, 11, 24, 14, 20, 11, tzinfo=UTC)
    assert comment.url == "https://news.ycombinator.com/item?id=41890123"
    assert comment.likes == 0 and comment.replies == 0 and comment.author_followers is None
    story = by_id["41890001"]
    assert story.title == "Ask HN: Is Acme Cloud down?" and story.likes == 57 and story.replies == 31
    assert story.text == "Our API calls to Acme Cloud time out since about 14:00 UTC. Anyone else?"
    assert by_id["41889950"].text == "We moved to Acme Cloud last year and it's been solid & cheap."
    (request,) = fake_hn.requests
    assert request.path == "/api/v1/search_by_date" and request.headers["User-Agent"] == USER_AGENT
    assert request.query == {"query": Q, "tags": "(story,comment)", "numericFilters": "created_at_i>=1795268000",
                             "hitsPerPage": "100", "page": "0"}  # fmt: skip
    assert not page.more
    # The watermark is the newest hit, `polled` when the sweep started (later than the watermark); ids
    # within the overlap (300 s) below the later of the two are kept to filter.
    assert json.loads(page.cursor) == {"v": 2, "mark": 1795530011, "polled": 1795530071,
                                       "seen": {"41890123": 1795530011}}  # fmt: skip


async def test_paging_across_pages_then_only_what_is_new(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_hn.add_hit(str(1000 + i), T0 + i * 10, f"acme cloud post {i}")
    clock = Clock(T0 + 2500)
    source = hn(session, fake_hn, clock, hits_per_page=100)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert pages == 3 and len(ids) == len(set(ids)) == 250
    # Each next page asks below the oldest second of the page before: only that one hit comes twice
    # over the wire (and is dropped by id), never as a mention.
    repeats = [i for i, n in Counter(fake_hn.served_ids()).items() if n > 1]
    assert sorted(repeats) == ["1051", "1150"] and all(r.query["page"] == "0" for r in fake_hn.requests)
    assert filters(fake_hn)[1:] == [f"created_at_i>={T0 - 86400},created_at_i<={T0 + 1500}",
                                    f"created_at_i>={T0 - 86400},created_at_i<={T0 + 510}"]  # fmt: skip
    # Nothing new: one request, nothing returned, from the first sweep's start (later than the
    # watermark) less the overlap.
    clock.now = T0 + 2800
    again, cursor, pages = await drain(source, Q, cursor, SINCE)
    assert again == [] and pages == 1 and filters(fake_hn)[-1] == f"created_at_i>={T0 + 2500 - 300}"
    # New hits, one at the floor's own second and one the index added late (both made before the
    # sweep at T0 + 2800, within the overlap), and a newer one: exactly those come.
    fake_hn.add_hit("at-the-floor", T0 + 2500, "acme cloud late")
    fake_hn.add_hit("indexed-late", T0 + 2600, "acme cloud indexed late")
    fake_hn.add_hit("newer", T0 + 2900, "acme cloud newer")
    clock.now = T0 + 3000
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["at-the-floor", "indexed-late", "newer"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_hits_arriving_between_pages_are_all_fetched_once(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(200):
        fake_hn.add_hit(str(i), T0 + i, f"acme cloud {i}")
    clock = Clock(T0 + 200)
    source = hn(session, fake_hn, clock)
    first = await source.search(Q, None, SINCE)
    fake_hn.add_hit("newer", T0 + 500, "acme cloud newer")  # above the sweep: next poll
    fake_hn.add_hit("late-above", T0 + 150, "acme cloud late")  # in the part already fetched: next poll
    fake_hn.add_hit("late-below", T0 + 10, "acme cloud late below")  # still ahead: this sweep
    rest, cursor, _ = await drain(source, Q, first.cursor, SINCE)
    this_sweep = {m.id for m in first.mentions + rest}
    assert "late-below" in this_sweep and not {"newer", "late-above"} & this_sweep
    clock.now = T0 + 600
    next_poll, _, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in next_poll) == ["late-above", "newer"]


async def test_a_sweep_goes_past_algolias_reach_of_1000_hits(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(1250):
        fake_hn.add_hit(str(i), T0 + i, f"acme cloud {i}")
    mentions, _, _ = await drain(hn(session, fake_hn), Q, None, SINCE)
    assert sorted(m.id for m in mentions) == sorted(str(i) for i in range(1250))


async def test_more_hits_in_one_second_than_a_page_holds(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        fake_hn.add_hit(f"same{i}", T0, f"acme cloud {i}")
    fake_hn.add_hit("older", T0 - 1, "acme cloud older")
    fake_hn.add_hit("newest", T0 + 1, "acme cloud newest")
    mentions, _, _ = await drain(hn(session, fake_hn, hits_per_page=2), Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids)) == 7


async def test_malformed_hits_are_skipped_and_good_ones_kept(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    fake_hn.answer_next(recorded("malformed_hits.json"))
    page = await hn(session, fake_hn).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["41890777", "41890730"]
    good, story = page.mentions
    assert good.text == "Acme Cloud support answered within ten minutes, credit where it's due."
    # A title is plain text with entities: unescaped, never stripped of what looks like a tag.
    assert story.title == "Acme Cloud & the <b> tag nobody closed" and story.text == ""
    assert story.author == "" and story.likes == 0 and story.replies == 0


async def test_a_rate_limit_mid_sweep_blocks_and_the_sweep_resumes_later(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_hn.add_hit(str(i), T0 + i, f"acme cloud {i}")
    clock = Clock(T0 + 1000)
    source = hn(session, fake_hn, clock)
    first = await source.search(Q, None, SINCE)
    fake_hn.fail_next(429, body='{"message": "too many requests"}', headers={"Retry-After": "90"})
    with pytest.raises(RateLimited) as info:
        await source.search(Q, first.cursor, SINCE)
    assert info.value.retry_after == 90
    with pytest.raises(RateLimited):  # during the block nothing is sent
        await source.search(Q, first.cursor, SINCE)
    assert len(fake_hn.requests) == 2
    clock.now += 90
    rest, _, _ = await drain(source, Q, first.cursor, SINCE)
    assert sorted(m.id for m in first.mentions + rest) == sorted(str(i) for i in range(250))


async def test_options_reach_the_request(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.add_story("9", T0, "Acme Cloud raises prices", points=12, num_comments=4)
    fake_hn.add_hit("10", T0, "acme cloud comment")
    page = await hn(session, fake_hn, tags="story", hits_per_page=20).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["9"] and page.mentions[0].likes == 12
    assert fake_hn.requests[0].query["tags"] == "story" and fake_hn.requests[0].query["hitsPerPage"] == "20"


async def test_a_cursor_from_before_version_2_is_read(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.add_hit("old", T0, "acme cloud old")
    fake_hn.add_hit("new", T0 + 5, "acme cloud new")
    cursor = json.dumps({"since": T0, "seen": ["old"]})
    mentions, cursor, _ = await drain(hn(session, fake_hn, overlap=0), Q, cursor, SINCE)
    assert [m.id for m in mentions] == ["new"] and json.loads(cursor)["mark"] == T0 + 5
    assert filters(fake_hn)[0] == f"created_at_i>={T0}"


async def test_an_empty_first_poll_keeps_the_start(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    source = hn(session, fake_hn, Clock(T0))
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 2, "mark": T0 - 86400, "polled": T0, "seen": {}}
    fake_hn.add_hit("first", T0, "acme cloud first")
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == ["first"]
