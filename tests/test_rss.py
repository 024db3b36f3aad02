"""RSS / Atom (Google News by default) against a fake feed server: mapping, conditional GET, cursors, failures."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import aiohttp
import pytest

from monitor.config import SourceConfig
from monitor.sources.base import AuthError, BadResponse, RateLimited, TransientError
from monitor.sources.http import Http
from monitor.sources.rss import Rss
from tests.fakes import USER_AGENT
from tests.fakes.rss import FakeFeeds, recorded
from tests.helpers.clock import Clock, no_sleep

NOW = datetime(2026, 11, 24, 16, 30, tzinfo=UTC).timestamp()
SINCE = datetime(2026, 11, 23, tzinfo=UTC)
Q = '"acme cloud"'
VERGE = "CBMiakFVX3lxTE1hY21lLWNsb3VkLW91dGFnZS10aGUtdmVyZ2U"
REUTERS = "CBMiZkFVX3lxTE1hY21lLWNsb3VkLWNvbmZpZy1yZXV0ZXJz"
BLOOMBERG = "CBMiYkFVX3lxTE1hY21lLWNsb3VkLWNyZWRpdHMtYmxvb21iZXJn"
ARS = "CBMiYEFVX3lxTE1hY21lLWNsb3VkLXN0YXR1cy1hcnM"


def rss(session: aiohttp.ClientSession, fake: FakeFeeds, clock: Clock | None = None, **options: object) -> Rss:
    # As make_source, whose own `url` parameter would take the `url` option.
    config = SourceConfig(name=Rss.name, enabled=True, interval=timedelta(minutes=5), base_url=fake.url,
                          options=MappingProxyType({**Rss.options, **options}))  # fmt: skip
    return Rss(config, Http(session, USER_AGENT, timeout=5, sleep=no_sleep, clock=clock or Clock(NOW)))


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def test_a_google_news_feed_maps_onto_mentions(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.document = recorded("google_news.xml")
    page = await rss(session, fake_rss).search(Q, None, SINCE)
    assert not page.more
    # The TechRadar item (22 November) is older than since: not taken.
    assert [m.id for m in page.mentions] == [VERGE, REUTERS]
    verge, reuters = page.mentions
    # "Headline - Publisher": the publisher (its <source>) is cut off the title and is the author;
    # the description only repeats headline and publisher, so there is no text.
    assert verge.title == "Acme Cloud outage takes down thousands of sites & apps" and verge.text == ""
    assert verge.author == "The Verge" and verge.platform == "rss" and verge.lang == "en"
    assert verge.created_at == datetime(2026, 11, 24, 14, 35, tzinfo=UTC)
    assert verge.url == f"https://news.google.com/rss/articles/{VERGE}?oc=5"
    assert verge.author_followers is None and verge.likes == verge.replies == verge.reposts == 0
    # A story cluster: the related coverage stays as text, the item's own headline does not.
    assert reuters.title == "Acme Cloud says Tuesday's outage was caused by a faulty config push"
    assert reuters.text == "Acme Cloud blames config change for global outage The Register"
    (request,) = fake_rss.requests
    assert request.path == "/rss/search" and request.headers["User-Agent"] == USER_AGENT
    assert request.query == {"q": Q, "hl": "en-US", "gl": "US", "ceid": "US:en"}
    assert "application/rss+xml" in request.headers["Accept"]
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    state = json.loads(page.cursor)
    assert state["mark"] == at("2026-11-24T14:35:00+00:00") and sorted(state["seen"]) == sorted([VERGE, REUTERS])
    assert state["etag"].startswith('"') and state["modified"] == fake_rss.modified


async def test_the_next_poll_is_conditional_and_a_304_is_an_empty_page(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    fake_rss.add("a1", "Acme Cloud raises prices", NOW - 600)
    source = rss(session, fake_rss)
    first = await source.search(Q, None, SINCE)
    assert [m.id for m in first.mentions] == ["a1"]
    etag = json.loads(first.cursor)["etag"]
    again = await source.search(Q, first.cursor, SINCE)
    assert again.mentions == [] and not again.more and json.loads(again.cursor) == json.loads(first.cursor)
    last = fake_rss.requests[-1]
    assert last.headers["If-None-Match"] == etag and last.headers["If-Modified-Since"] == fake_rss.modified
    assert fake_rss.not_modified == 1 and fake_rss.served_ids() == ["a1"]
    # The feed changes: a 200 again, and only the new item comes.
    fake_rss.add("a2", "Acme Cloud apologises", NOW - 60)
    fresh = await source.search(Q, again.cursor, SINCE)
    assert [m.id for m in fresh.mentions] == ["a2"] and json.loads(fresh.cursor)["etag"] != etag


async def test_a_server_without_validators_still_gives_nothing_twice(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    fake_rss.conditional = False
    for i in range(30):
        fake_rss.add(f"g{i}", f"Acme Cloud story {i}", NOW - 3600 + i * 60)
    source = rss(session, fake_rss)
    cursor = None
    got = []
    for i in range(3):
        fake_rss.add(f"new{i}", f"Acme Cloud newer story {i}", NOW - 30 + i)
        page = await source.search(Q, cursor, SINCE)
        got += [m.id for m in page.mentions]
        cursor = page.cursor
        assert "etag" not in json.loads(cursor) and "If-None-Match" not in fake_rss.requests[-1].headers
    assert len(got) == len(set(got)) == 33


async def test_late_indexed_stories_are_found_and_old_ones_drifting_back_are_not(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    fake_rss.document = recorded("google_news.xml")
    first = await rss(session, fake_rss).search(Q, None, SINCE)
    fake_rss.document = recorded("google_news_later.xml")
    # A new process (only the stored cursor carries over) reads the next feed: Bloomberg is new, Ars
    # Technica is dated before the watermark (indexed late) but within the overlap; The Verge and
    # Reuters were fetched already; the 2025 story is far below the watermark.
    later = await rss(session, fake_rss).search(Q, first.cursor, SINCE)
    assert [m.id for m in later.mentions] == [BLOOMBERG, ARS]
    assert json.loads(later.cursor)["mark"] == at("2026-11-24T15:48:00+00:00")
    assert Counter(m.id for m in first.mentions + later.mentions).most_common(1)[0][1] == 1
    # With no overlap, a story dated before the watermark is not taken.
    fake_rss.document = recorded("google_news_later.xml")
    strict = await rss(session, fake_rss, overlap=0).search(Q, first.cursor, SINCE)
    assert [m.id for m in strict.mentions] == [BLOOMBERG]


async def test_a_restart_with_the_same_cursor_fetches_nothing_twice(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        fake_rss.add(f"s{i}", f"Acme Cloud item {i}", NOW - 7200 + i)
    first = await rss(session, fake_rss).search(Q, None, SINCE)
    fake_rss.add("s5", "Acme Cloud item 5", NOW - 100)
    fake_rss.items.insert(0, fake_rss.items.pop())  # relevance order: the newest is not last
    second = await rss(session, fake_rss).search(Q, first.cursor, SINCE)
    third = await rss(session, fake_rss).search(Q, second.cursor, SINCE)
    assert [m.id for m in second.mentions] == ["s5"] and third.mentions == []
    assert fake_rss.not_modified == 1


async def test_an_empty_feed_keeps_the_start(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.document = recorded("google_news_empty.xml")
    page = await rss(session, fake_rss).search(Q, None, SINCE)
    assert page.mentions == [] and json.loads(page.cursor)["mark"] == SINCE.timestamp()


async def test_a_future_date_does_not_push_the_watermark_past_now(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    fake_rss.add("future", "Acme Cloud embargoed story", NOW + 86400 * 3)
    page = await rss(session, fake_rss, overlap=0).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["future"] and json.loads(page.cursor)["mark"] == NOW
    fake_rss.add("soon-after", "Acme Cloud next story", NOW + 60)
    assert [m.id for m in (await rss(session, fake_rss).search(Q, page.cursor, SINCE)).mentions] == ["soon-after"]


async def test_an_atom_feed_at_any_url(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.feeds["acme.atom"] = (recorded("atom.xml"), "application/atom+xml")
    source = rss(session, fake_rss, url=f"{fake_rss.url}feeds/acme.atom")
    page = await source.search("acme", None, SINCE)
    assert fake_rss.requests[0].path == "/feeds/acme.atom" and fake_rss.requests[0].query == {}
    post, note = page.mentions
    assert post.id == "tag:acmewatch.example.org,2026-11-24:/post-mortem"
    assert post.title == "Acme Cloud & the <missing> post-mortem"  # an HTML title, turned into text
    assert post.text == ("Three days after the outage, Acme Cloud has still not published a post-mortem.\n"
                         "Customers — us included — are waiting.")  # fmt: skip
    assert post.created_at == datetime(2026, 11, 24, 15, 5, tzinfo=UTC)  # published, not updated; in UTC
    assert post.author == "Mara Lind" and post.lang == "en" and post.url.endswith("/2026/11/post-mortem")
    assert note.created_at == datetime(2026, 11, 23, 9, 15, tzinfo=UTC)  # only <updated>
    assert note.lang == "de" and note.author == "" and note.text.startswith("Die Region Frankfurt")


async def test_a_url_template_gets_the_encoded_query(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    source = rss(session, fake_rss, url="rss/search?q={query}&hl=de&gl=DE&ceid=DE:de")
    assert (
        source.feed_url("acme & co/ü") == f"{fake_rss.url}rss/search?q=acme%20%26%20co%2F%C3%BC&hl=de&gl=DE&ceid=DE:de"
    )
    await source.search("acme & co/ü", None, SINCE)
    assert fake_rss.requests[0].query == {"q": "acme & co/ü", "hl": "de", "gl": "DE", "ceid": "DE:de"}


async def test_malformed_entries_are_skipped_and_good_ones_kept(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake_rss.feeds["ops.xml"] = (recorded("malformed_entries.xml"), "application/rss+xml")
    source = rss(session, fake_rss, url=f"{fake_rss.url}feeds/ops.xml")
    with caplog.at_level(logging.INFO, logger="monitor.sources.rss"):
        page = await source.search("acme", None, SINCE)
    good, undated = page.mentions
    assert good.id == "https://opsweekly.example.com/?p=4121"  # the guid, not the link
    assert good.created_at == datetime(2026, 11, 24, 15, 45, tzinfo=UTC)  # RFC 822 with +0200, in UTC
    assert (
        good.text
        == "After the third outage this quarter we moved our workloads off Acme Cloud.\nHere is what it cost us."
    )
    assert good.author == "Sam Okafor" and good.lang == "en" and good.title == "Why we left Acme Cloud"
    # No guid: the link identifies it; no date: dated by the fetch, and the watermark does not move for it.
    assert undated.id == "https://opsweekly.example.com/notes/acme-status"
    assert undated.created_at.timestamp() == NOW and undated.text == "Acme Cloud's status page is green again."
    assert json.loads(page.cursor)["mark"] == good.created_at.timestamp()
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 3
    assert any("no guid, id or link" in s for s in skipped) and any(
        "opsweekly-4118: unreadable date" in s for s in skipped
    )
    assert any("opsweekly-4117: no title or text" in s for s in skipped)
    # The undated entry is remembered by id: the next poll (no validators this time) does not take it again.
    fake_rss.conditional = False
    assert (await source.search("acme", page.cursor, SINCE)).mentions == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"items": []}', "application/json"), (recorded("rate_limited.html"), "text/html"), ("", "text/html")],
)
async def test_a_body_that_is_not_a_feed_is_a_bad_response(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession, body: bytes | str, content_type: str
) -> None:
    fake_rss.answer_next(body, content_type=content_type)
    with pytest.raises(BadResponse, match="not an RSS or Atom feed"):
        await rss(session, fake_rss).search(Q, None, SINCE)


async def test_a_missing_feed_and_a_broken_cursor_are_bad_responses(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(BadResponse, match="HTTP 404"):
        await rss(session, fake_rss, url=f"{fake_rss.url}feeds/gone.xml").search(Q, None, SINCE)
    for cursor in ("not json", "[]", '{"seen": {}}'):
        with pytest.raises(BadResponse, match="cursor"):
            await rss(session, fake_rss).search(Q, cursor, SINCE)


async def test_a_429_page_blocks_every_request_until_the_wait_is_over(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    fake_rss.add("r1", "Acme Cloud story", NOW - 60)
    clock = Clock(NOW)
    source = rss(session, fake_rss, clock)
    fake_rss.answer_next(recorded("rate_limited.html"), status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 120
    with pytest.raises(RateLimited):  # during the wait nothing is sent
        await source.search(Q, None, SINCE)
    assert len(fake_rss.requests) == 1
    clock.now += 120
    assert [m.id for m in (await source.search(Q, None, SINCE)).mentions] == ["r1"]


async def test_a_429_without_retry_after_waits_the_default(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.answer_next(recorded("rate_limited.html"), status=429)
    with pytest.raises(RateLimited) as info:
        await rss(session, fake_rss).search(Q, None, SINCE)
    assert info.value.retry_after == 60


async def test_a_503_page_is_retried_then_transient(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.add("e1", "Acme Cloud story", NOW - 60)
    fake_rss.answer_next(recorded("error.html"), status=503)
    page = await rss(session, fake_rss).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["e1"] and len(fake_rss.requests) == 2
    fake_rss.answer_next(recorded("error.html"), status=503)
    fake_rss.answer_next(recorded("error.html"), status=503)
    fake_rss.answer_next(recorded("error.html"), status=503)
    with pytest.raises(TransientError, match="HTTP 503"):
        await rss(session, fake_rss).search(Q, None, SINCE)


async def test_a_feed_behind_auth_is_an_auth_error(fake_rss: FakeFeeds, session: aiohttp.ClientSession) -> None:
    fake_rss.answer_next("<html>Forbidden</html>", status=403)
    with pytest.raises(AuthError, match="HTTP 403") as info:
        await rss(session, fake_rss, url=f"{fake_rss.url}feeds/private.xml?key=s3cret").search(Q, None, SINCE)
    assert "s3cret" not in str(info.value)


def _feed(*items: str) -> bytes:
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://e.org/</link>'
            "<description>d</description>" + "".join(items) + "</channel></rss>").encode()  # fmt: skip


async def test_an_undated_entry_is_not_taken_again_while_the_feed_holds_it(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession
) -> None:
    undated = "<item><title>Acme Cloud undated</title><link>https://e.org/undated</link></item>"
    fake_rss.feeds["f.xml"] = (_feed(undated), "application/rss+xml")
    clock = Clock(NOW)
    source = rss(session, fake_rss, clock, url=f"{fake_rss.url}feeds/f.xml", overlap=0)
    first = await source.search("acme", None, SINCE)
    assert [m.id for m in first.mentions] == ["https://e.org/undated"]
    # Dated entries move the watermark far past the undated entry's fetch time.
    clock.now += 86400 * 10
    dated = ('<item><title>Acme Cloud later</title><guid isPermaLink="false">later</guid>'
             "<pubDate>Sun, 06 Dec 2026 00:00:00 GMT</pubDate></item>")  # fmt: skip
    fake_rss.feeds["f.xml"] = (_feed(dated, undated), "application/rss+xml")
    second = await source.search("acme", first.cursor, SINCE)
    assert [m.id for m in second.mentions] == ["later"]
    assert "https://e.org/undated" in json.loads(second.cursor)["seen"]
    fake_rss.feeds["f.xml"] = (_feed(undated, dated), "application/rss+xml")
    assert (await source.search("acme", second.cursor, SINCE)).mentions == []


@pytest.mark.parametrize("ref", ["&#xD800;", "&#55296;", "&#0;", "&#x110000;", "&#99999999999999999999999;"])
async def test_a_character_no_feed_may_hold_costs_only_its_own_character(
    fake_rss: FakeFeeds, session: aiohttp.ClientSession, ref: str
) -> None:
    fake_rss.add("g1", "Acme Cloud outage", NOW - 600, raw=f" {ref} today")  # feedparser itself raised on these
    fake_rss.add("g2", "Acme Cloud status page", NOW - 60)
    page = await rss(session, fake_rss).search(Q, None, SINCE)
    mentions = page.mentions
    assert sorted(m.id for m in mentions) == ["g1", "g2"]
    assert mentions[0].title.startswith("Acme Cloud outage") and "\ud800" not in mentions[0].title
