"""Hacker News and Reddit sources against fake servers: mapping, paging, cursors, rate limits, errors."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest

from monitor.config import SourceConfig
from monitor.mention import Mention
from monitor.sources.base import AuthError, BadResponse, RateLimited, TransientError
from monitor.sources.hackernews import HackerNews
from monitor.sources.http import Http, retry_after_seconds
from monitor.sources.reddit import Reddit
from tests.fakes.platforms import FakeHackerNews, FakeReddit, fixture

T0 = 1_795_500_000
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
UA = "monitor-tests/1.0 (+https://example.org)"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def make(cls: Any, session: aiohttp.ClientSession, url: str, **options: Any) -> Any:
    config = SourceConfig(
        name=cls.name, enabled=True, interval=timedelta(minutes=5), base_url=url,
        options=MappingProxyType({**cls.options, **options}),
    )  # fmt: skip
    return cls(config, Http(session, UA, timeout=5, sleep=no_sleep))


async def drain(source: Any, query: str, cursor: str | None) -> tuple[list[Mention], str, int]:
    """Fetch pages until no more wait; returns mentions, the final cursor and the page count."""
    mentions: list[Mention] = []
    pages = 0
    while True:
        page = await source.search(query, cursor, SINCE)
        pages += 1
        mentions.extend(page.mentions)
        cursor = page.cursor
        if not page.more:
            assert cursor is not None
            return mentions, cursor, pages


# Hacker News


async def test_hn_maps_recorded_hits(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.hits = fixture("hackernews", "search_by_date.json")["hits"]
    source = make(HackerNews, session, fake_hn.url)
    page = await source.search("acme cloud", None, datetime.fromtimestamp(1795268000, UTC))
    by_id = {m.id: m for m in page.mentions}
    comment = by_id["41890123"]
    assert comment.text == (
        "Acme Cloud has been down for us since 14:00 – every deploy fails with a 502. Their status page says "
        '"all systems operational".\nNot great.'
    )
    assert comment.created_at == datetime(2026, 11, 24, 14, 20, 11, tzinfo=UTC)
    assert comment.url == "https://news.ycombinator.com/item?id=41890123"
    assert comment.author == "pgarcia" and comment.platform == "hackernews"
    story = by_id["41890001"]
    assert story.title == "Ask HN: Is Acme Cloud down?" and story.likes == 57 and story.replies == 31
    assert by_id["41889950"].text == "We moved to Acme Cloud last year and it's been solid & cheap."
    request = fake_hn.requests[0]
    assert request.query["numericFilters"] == "created_at_i>=1795268000"
    assert request.query["tags"] == "(story,comment)" and request.headers["User-Agent"] == UA
    assert not page.more and json.loads(page.cursor) == {"since": 1795530011, "seen": ["41890123"]}


async def test_hn_pages_and_then_fetches_only_what_is_new(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_hn.add_hit(str(1000 + i), T0 + i * 10, f"acme cloud post {i}")
    source = make(HackerNews, session, fake_hn.url, hits_per_page=100)
    mentions, cursor, pages = await drain(source, "acme cloud", None)
    assert pages == 3 and len(mentions) == len({m.id for m in mentions}) == 250
    # Nothing new: one request, nothing fetched twice.
    before = len(fake_hn.requests)
    again, cursor, _ = await drain(source, "acme cloud", cursor)
    assert again == [] and len(fake_hn.requests) == before + 1
    # New items, one of them in the same second as the watermark, arrive: exactly those come.
    fake_hn.add_hit("late-same-second", T0 + 2490, "acme cloud late")
    fake_hn.add_hit("newer", T0 + 5000, "acme cloud newer")
    fresh, _, _ = await drain(source, "acme cloud", cursor)
    assert sorted(m.id for m in fresh) == ["late-same-second", "newer"]


async def test_hn_resumes_mid_paging_after_a_restart(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    for i in range(300):
        fake_hn.add_hit(str(i), T0 + i, f"acme cloud {i}")
    first = make(HackerNews, session, fake_hn.url, hits_per_page=100)
    page = await first.search("acme cloud", None, SINCE)
    assert page.more
    # Items arrive while we are between pages; then the process dies and a new one resumes.
    fake_hn.add_hit("arrived-meanwhile", T0 + 9999, "acme cloud meanwhile")
    second = make(HackerNews, session, fake_hn.url, hits_per_page=100)
    rest, cursor, _ = await drain(second, "acme cloud", page.cursor)
    ids = [m.id for m in page.mentions + rest]
    assert len(ids) == len(set(ids)) == 300
    newer, _, _ = await drain(second, "acme cloud", cursor)
    assert [m.id for m in newer] == ["arrived-meanwhile"]


async def test_hn_goes_past_algolias_reach(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    for i in range(1250):
        fake_hn.add_hit(str(i), T0 + i, f"acme cloud {i}")
    source = make(HackerNews, session, fake_hn.url, hits_per_page=100)
    mentions, _, _ = await drain(source, "acme cloud", None)
    assert {m.id for m in mentions} == {str(i) for i in range(1250)}


async def test_hn_keeps_good_hits_of_a_partly_bad_page(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.add_hit("good", T0, "acme cloud fine")
    fake_hn.hits.append({"objectID": "no-time", "comment_text": "acme cloud"})
    fake_hn.hits.append({"objectID": "bad-time", "created_at_i": "yesterday", "comment_text": "acme cloud"})
    fake_hn.hits.append({"objectID": "empty", "created_at_i": T0, "comment_text": None})
    page = await make(HackerNews, session, fake_hn.url).search("acme cloud", None, SINCE)
    assert [m.id for m in page.mentions] == ["good"]


async def test_hn_wrong_shape_is_a_bad_response(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.fail_next(200, body='{"message": "unexpected"}')
    with pytest.raises(BadResponse):
        await make(HackerNews, session, fake_hn.url).search("acme", None, SINCE)


# The shared HTTP policy


async def test_429_blocks_every_request_until_retry_after(
    fake_hn: FakeHackerNews, session: aiohttp.ClientSession
) -> None:
    fake_hn.fail_next(429, body='{"message": "slow down"}', headers={"Retry-After": "120"})
    source = make(HackerNews, session, fake_hn.url)
    with pytest.raises(RateLimited) as info:
        await source.search("acme", None, SINCE)
    assert info.value.retry_after == 120
    with pytest.raises(RateLimited):
        await source.search("acme", None, SINCE)
    assert len(fake_hn.requests) == 1


async def test_5xx_is_retried_then_recovers(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.add_hit("1", T0, "acme cloud")
    fake_hn.fail_next(500, times=1)
    fake_hn.fail_next(502, body="<html><body>Bad Gateway</body></html>", content_type="text/html")
    page = await make(HackerNews, session, fake_hn.url).search("acme", None, SINCE)
    assert [m.id for m in page.mentions] == ["1"] and len(fake_hn.requests) == 3


async def test_5xx_beyond_the_retries_is_transient(fake_hn: FakeHackerNews, session: aiohttp.ClientSession) -> None:
    fake_hn.fail_next(503, times=3)
    with pytest.raises(TransientError, match="HTTP 503"):
        await make(HackerNews, session, fake_hn.url).search("acme", None, SINCE)
    fake_hn.fail_next(200, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(BadResponse, match="not JSON"):
        await make(HackerNews, session, fake_hn.url).search("acme", None, SINCE)


async def test_unreachable_host_is_transient(session: aiohttp.ClientSession) -> None:
    source = make(HackerNews, session, "http://127.0.0.1:9/")
    with pytest.raises(TransientError):
        await source.search("acme", None, SINCE)


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30", 0) == 30
    assert retry_after_seconds(None, 0) == 60
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert retry_after_seconds("soon", 0) == 60


# Reddit


async def test_reddit_maps_recorded_posts(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    fake_reddit.posts = [c["data"] for c in fixture("reddit", "search.json")["data"]["children"]]
    source = make(Reddit, session, fake_reddit.url)
    page = await source.search("acme cloud", None, datetime.fromtimestamp(1795500000, UTC))
    first, second = page.mentions
    assert first.id == "t3_1h2k3l4" and first.title == "Acme Cloud outage right now?"
    assert first.text.startswith("Since 14:00 UTC every request") and first.likes == 212 and first.replies == 87
    assert first.url == "https://www.reddit.com/r/sysadmin/comments/1h2k3l4/acme_cloud_outage_right_now/"
    assert first.author_followers is None
    assert second.text == "" and second.created_at.timestamp() == 1795520000.5
    request = fake_reddit.requests[0]
    assert request.path == "/search.json" and request.headers["User-Agent"] == UA
    assert request.query | {"q": "acme cloud", "sort": "new", "raw_json": "1", "type": "link"} == request.query


async def test_reddit_pages_to_the_watermark(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    for i in range(250):
        fake_reddit.add_post(f"t3_{i:04d}", T0 + i * 10.5, f"acme cloud {i}")
    source = make(Reddit, session, fake_reddit.url)
    mentions, cursor, pages = await drain(source, "acme cloud", None)
    assert pages == 3 and len({m.id for m in mentions}) == len(mentions) == 250
    before = len(fake_reddit.requests)
    assert (await drain(source, "acme cloud", cursor))[0] == []
    assert len(fake_reddit.requests) == before + 1
    for i in range(3):
        fake_reddit.add_post(f"t3_new{i}", T0 + 9000 + i, f"acme cloud new {i}")
    fresh, _, _ = await drain(source, "acme cloud", cursor)
    assert sorted(m.id for m in fresh) == ["t3_new0", "t3_new1", "t3_new2"]


async def test_reddit_resumes_mid_paging(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    for i in range(230):
        fake_reddit.add_post(f"t3_{i:04d}", T0 + i, f"acme cloud {i}")
    page = await make(Reddit, session, fake_reddit.url).search("acme cloud", None, SINCE)
    fake_reddit.add_post("t3_meanwhile", T0 + 5000, "acme cloud meanwhile")
    second = make(Reddit, session, fake_reddit.url)
    rest, cursor, _ = await drain(second, "acme cloud", page.cursor)
    ids = [m.id for m in page.mentions + rest]
    assert len(ids) == len(set(ids)) == 230
    assert [m.id for m in (await drain(second, "acme cloud", cursor))[0]] == ["t3_meanwhile"]


async def test_reddit_oauth_client_credentials(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_REDDIT_ID", "client-id")
    monkeypatch.setenv("ACME_REDDIT_SECRET", "client-secret-value")
    fake_reddit.add_post("t3_a", T0, "acme cloud")
    source = make(Reddit, session, fake_reddit.url, oauth_base_url=fake_reddit.url,
                  client_id_env="ACME_REDDIT_ID", client_secret_env="ACME_REDDIT_SECRET")  # fmt: skip
    _, cursor, _ = await drain(source, "acme cloud", None)
    await drain(source, "acme cloud", cursor)
    (token_request,) = fake_reddit.paths("/api/v1/access_token")
    expected = base64.b64encode(b"client-id:client-secret-value").decode()
    assert token_request.headers["Authorization"] == f"Basic {expected}"
    assert "grant_type=client_credentials" in token_request.body
    searches = fake_reddit.paths("/search")
    assert len(searches) == 2 and all(r.headers["Authorization"] == "bearer token-1" for r in searches)
    # A token revoked early is replaced once, transparently.
    fake_reddit.valid_tokens.clear()
    await drain(source, "acme cloud", cursor)
    assert fake_reddit.tokens_issued == ["token-1", "token-2"]


async def test_reddit_refused_credentials_never_show_the_secret(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", "client-id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "hunter2-secret")
    fake_reddit.fail_next(401, body='{"message": "Unauthorized", "error": 401}')
    source = make(Reddit, session, fake_reddit.url, oauth_base_url=fake_reddit.url)
    with pytest.raises(AuthError) as info:
        await source.search("acme", None, SINCE)
    assert "hunter2" not in str(info.value) and "client-id" not in str(info.value)


async def test_reddit_rate_limits(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    source = make(Reddit, session, fake_reddit.url)
    fake_reddit.fail_next(200, body='{"message": "Too Many Requests", "error": 429}')
    with pytest.raises(RateLimited):
        await source.search("acme", None, SINCE)
    assert len(fake_reddit.requests) == 1
    other = make(Reddit, session, fake_reddit.url)
    fake_reddit.rate_headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "42", "x-ratelimit-used": "10"}
    await other.search("acme", None, SINCE)
    with pytest.raises(RateLimited) as info:
        await other.search("acme", None, SINCE)
    assert 40 < (info.value.retry_after or 0) <= 42 and len(fake_reddit.requests) == 2
