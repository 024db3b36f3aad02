"""NewsAPI against a fake /v2/everything: mapping, sliding windows, restarts, the result cap, errors in bodies."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import AuthError, BadResponse, RateLimited
from monitor.sources.newsapi import NewsApi
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.newsapi import FakeNewsApi, recorded
from tests.helpers.clock import Clock

T0 = 1_795_500_000  # 2026-11-24T06:00:00Z
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"
KEY = "n3ws-k3y-0123456789"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSAPI_KEY", KEY)


def news(session: aiohttp.ClientSession, fake: FakeNewsApi, clock: Clock | None = None, **options: object) -> NewsApi:
    source: NewsApi = make_source(NewsApi, session, fake, clock or Clock(NOW), **options)
    return source


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def windows(fake: FakeNewsApi) -> list[tuple[str, str | None, str]]:
    return [(r.query["from"], r.query.get("to"), r.query["page"]) for r in fake.requests]


async def test_a_poll_maps_recorded_articles(fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession) -> None:
    fake_newsapi.articles = recorded()["articles"] + recorded("everything_older.json")["articles"]
    page = await news(session, fake_newsapi, Clock(1795533127 + 60)).search(Q, None, SINCE)
    by_id = {m.id: m for m in page.mentions}
    reuters = by_id["https://www.reuters.com/technology/acme-cloud-outage-2026-11-24/"]
    assert reuters.title == "Acme Cloud outage hits thousands of businesses" and reuters.platform == "newsapi"
    # The content repeats the description and goes on: one text, without the "[+2345 chars]" marker.
    assert reuters.text == (
        "Acme Cloud said on Tuesday that a configuration change took down its European region for three hours & "
        "more. The company apologised to customers and promised service credits…"
    )
    assert reuters.author == "Jane Doe" and reuters.url == reuters.id and reuters.lang is None
    assert reuters.created_at == datetime(2026, 11, 24, 15, 12, 7, tzinfo=UTC)
    assert (reuters.likes, reuters.replies, reuters.reposts, reuters.author_followers) == (0, 0, 0, None)
    register = by_id["https://www.theregister.com/2026/11/24/acme_cloud_ceo/"]
    assert register.title == "Acme Cloud's CEO: \"it's 100% on us\"" and register.author == "The Register"
    assert register.text == (
        "Chief exec promises credits after three-hour wobble\nAcme Cloud boss Ann Smith took to the company blog on "
        "Tuesday."
    )
    prices = by_id["https://techcrunch.com/2026/11/24/acme-cloud-prices/"]
    assert prices.text == "" and prices.created_at == datetime(2026, 11, 24, 13, 5, 55, 123000, tzinfo=UTC)
    assert by_id["https://www.heise.de/news/Acme-Cloud-Stoerung-9990001.html"].author == "Kai Muster"
    assert "https://removed.com" not in by_id and len(page.mentions) == 4  # "[Removed]" articles are skipped
    (request,) = fake_newsapi.requests
    assert request.path == "/v2/everything" and request.headers["User-Agent"] == USER_AGENT
    assert request.headers["X-Api-Key"] == KEY and "apiKey" not in request.query  # the key never in the URL
    assert request.query == {"q": Q, "sortBy": "publishedAt", "pageSize": "100", "page": "1",
                             "from": "2026-11-23T06:00:00"}  # fmt: skip
    assert not page.more
    newest = int(datetime(2026, 11, 24, 15, 12, 7, tzinfo=UTC).timestamp())
    assert json.loads(page.cursor) == {"v": 1, "mark": newest, "seen": {
        "https://www.reuters.com/technology/acme-cloud-outage-2026-11-24/": newest,
        "https://www.theregister.com/2026/11/24/acme_cloud_ceo/": newest - 1927,
    }}  # fmt: skip


async def test_windows_slide_down_past_the_100_result_cap_then_only_what_is_new(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_newsapi.add_article(f"https://n{i}.example/acme", T0 + i * 60, f"Acme Cloud story {i}")
    clock = Clock(T0 + 15_000)
    source = news(session, fake_newsapi, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert pages == 3 and len(ids) == len(set(ids)) == 250
    # Always page 1 of a window ending at the oldest second of the page before: the cap never bites.
    start = iso(T0 - 86400)
    assert windows(fake_newsapi) == [(start, None, "1"), (start, iso(T0 + 150 * 60), "1"),
                                     (start, iso(T0 + 51 * 60), "1")]  # fmt: skip
    repeats = [u for u, n in Counter(fake_newsapi.served_urls()).items() if n > 1]
    assert sorted(repeats) == ["https://n150.example/acme", "https://n51.example/acme"]
    again, cursor, pages = await drain(source, Q, cursor, SINCE)
    assert again == [] and pages == 1 and windows(fake_newsapi)[-1] == (iso(T0 + 249 * 60 - 3600), None, "1")
    # A new article, and one NewsAPI indexed late (older than the watermark, within the overlap).
    fake_newsapi.add_article("https://late.example/acme", T0 + 249 * 60 - 1000, "Acme Cloud indexed late")
    fake_newsapi.add_article("https://newer.example/acme", T0 + 99999, "Acme Cloud newer")
    clock.now = T0 + 100_000  # the last sweep less the free plan's day is still below the watermark
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["https://late.example/acme", "https://newer.example/acme"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_a_second_fuller_than_a_page_pages_by_number_then_goes_below_at_the_cap(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake_newsapi.max_results = 4
    for i in range(5):
        fake_newsapi.add_article(f"https://same{i}.example/a", T0, f"Acme Cloud same second {i}")
    fake_newsapi.add_article("https://older.example/a", T0 - 60, "Acme Cloud older")
    fake_newsapi.add_article("https://newest.example/a", T0 + 60, "Acme Cloud newest")
    with caplog.at_level(logging.INFO, logger="monitor.sources.newsapi"):
        mentions, _, _ = await drain(news(session, fake_newsapi, page_size=2), Q, None, SINCE)
    ids = {m.id for m in mentions}
    # Pages 1 and 2 of that second fit under the cap of 4; page 3 is maximumResultsReached: the window goes
    # on below the second (its fifth article is out of reach) instead of ending the sweep.
    assert {"https://newest.example/a", "https://older.example/a"} <= ids and len(ids) == 6
    assert [r.query["page"] for r in fake_newsapi.requests][-3:] == ["2", "3", "1"]
    assert "going on below that second" in caplog.text


async def test_maximum_results_reached_on_a_first_page_ends_the_sweep(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    fake_newsapi.answer_next(recorded("maximum_results_reached.json"), status=426)
    page = await news(session, fake_newsapi).search(Q, None, SINCE)
    assert page.mentions == [] and not page.more and json.loads(page.cursor)["mark"] == T0 - 86400


async def test_a_missing_key_is_an_auth_error_without_a_request(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSAPI_KEY")
    with pytest.raises(AuthError, match="NEWSAPI_KEY"):
        await news(session, fake_newsapi).search(Q, None, SINCE)
    assert fake_newsapi.requests == []


@pytest.mark.parametrize("status", [401, 200])
async def test_a_refused_key_names_the_variable_never_the_key(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.setenv("ACME_NEWS_KEY", "wr0ng-s3cret-key")
    source = news(session, fake_newsapi, key_env="ACME_NEWS_KEY")
    if status == 200:  # the same error object, with HTTP 200
        fake_newsapi.answer_next(recorded("api_key_invalid.json"), status=200)
    with pytest.raises(AuthError) as info:
        await source.search(Q, None, SINCE)
    text = str(info.value)
    assert "ACME_NEWS_KEY" in text and "apiKeyInvalid" in text and "wr0ng" not in text and KEY not in text
    assert fake_newsapi.requests[0].headers["X-Api-Key"] == "wr0ng-s3cret-key"


@pytest.mark.parametrize("status", [429, 200])
async def test_rate_limited_blocks_and_the_sweep_resumes(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, status: int
) -> None:
    for i in range(150):
        fake_newsapi.add_article(f"https://n{i}.example/a", T0 + i * 60, f"Acme Cloud {i}")
    clock = Clock(T0 + 86400)
    source = news(session, fake_newsapi, clock)
    first = await source.search(Q, None, SINCE)
    fake_newsapi.answer_next(recorded("rate_limited.json"), status=status)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, first.cursor, SINCE)
    assert info.value.retry_after == 3600 and "rateLimited" in str(info.value)
    with pytest.raises(RateLimited):  # during the wait nothing is sent
        await source.search(Q, first.cursor, SINCE)
    assert len(fake_newsapi.requests) == 2
    clock.now += 3600
    rest, _, _ = await drain(source, Q, first.cursor, SINCE)
    assert sorted(m.id for m in first.mentions + rest) == sorted(f"https://n{i}.example/a" for i in range(150))


async def test_the_days_quota_used_up_honours_retry_after(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0)
    source = news(session, fake_newsapi, clock)
    fake_newsapi.requests_left = 1
    await source.search(Q, None, SINCE)
    fake_newsapi.fail_next(429, body=json.dumps(recorded("rate_limited.json")), headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 120
    clock.now += 120
    with pytest.raises(RateLimited) as info:  # the fake's own quota: rateLimited without Retry-After
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 3600 and len(fake_newsapi.requests) == 3


async def test_malformed_articles_are_skipped_and_good_ones_kept(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    fake_newsapi.answer_next(recorded("malformed.json"))
    page = await news(session, fake_newsapi, language="en").search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["https://news.example.com/acme-credits",
                                             "https://news.example.com/untitled"]  # fmt: skip
    good, untitled = page.mentions
    assert good.author == "Example News" and good.text == "Credits arrived today." and good.lang == "en"
    assert untitled.title == "" and untitled.text == "Acme Cloud, untitled" and untitled.author == ""
    assert fake_newsapi.requests[0].query["language"] == "en"


@pytest.mark.parametrize("status", [400, 200])
async def test_an_error_body_is_a_bad_response(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession, status: int
) -> None:
    fake_newsapi.answer_next(recorded("parameter_invalid.json"), status=status)  # with HTTP 400, or 200
    with pytest.raises(BadResponse):
        await news(session, fake_newsapi).search(Q, None, SINCE)


async def test_an_html_error_page_is_a_bad_response_or_an_auth_error(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    fake_newsapi.fail_next(400, body="<html><body>Bad Request</body></html>", content_type="text/html")
    with pytest.raises(BadResponse, match="not a JSON object"):
        await news(session, fake_newsapi).search(Q, None, SINCE)
    fake_newsapi.fail_next(401, body="<html><body>Unauthorized</body></html>", content_type="text/html")
    with pytest.raises(AuthError, match="NEWSAPI_KEY"):
        await news(session, fake_newsapi).search(Q, None, SINCE)


async def test_an_empty_first_poll_keeps_the_start(fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession) -> None:
    fake_newsapi.answer_next(recorded("empty.json"))
    source = news(session, fake_newsapi, Clock(T0))
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 1, "mark": T0 - 86400, "seen": {}}
    fake_newsapi.add_article("https://first.example/a", T0, "Acme Cloud first")
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == ["https://first.example/a"]


async def test_a_start_further_back_than_the_plan_reaches_is_moved_up(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    clock = Clock(NOW)
    fake_newsapi.clock = clock  # the fake refuses a `from` further back than its plan's month
    fake_newsapi.add_article("https://a.example/1", NOW - 3600, "Acme Cloud news")
    long_ago = datetime.fromtimestamp(NOW - 90 * 86400, UTC)  # a backfill of three months
    mentions, _, pages = await drain(news(session, fake_newsapi, clock), Q, None, long_ago)
    assert [m.id for m in mentions] == ["https://a.example/1"] and pages == 1
    assert windows(fake_newsapi) == [(iso(int(NOW) - 27 * 86400 + 1), None, "1")]  # `reach`: 27 days back


async def test_a_plan_that_reaches_less_far_says_how_far_and_the_sweep_starts_there(
    fake_newsapi: FakeNewsApi, session: aiohttp.ClientSession
) -> None:
    clock = Clock(NOW)
    fake_newsapi.clock, fake_newsapi.history = clock, 20  # a plan shorter than the default reach
    fake_newsapi.add_article("https://a.example/1", NOW - 3600, "Acme Cloud news")
    long_ago = datetime.fromtimestamp(NOW - 90 * 86400, UTC)
    mentions, _, pages = await drain(news(session, fake_newsapi, clock), Q, None, long_ago)
    assert [m.id for m in mentions] == ["https://a.example/1"] and pages == 2 and len(fake_newsapi.requests) == 2
    refused, taken = windows(fake_newsapi)
    assert refused[0] == iso(int(NOW) - 27 * 86400 + 1) and taken[0] == "2026-11-06T00:00:00"  # the day after
