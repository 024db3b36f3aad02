"""Reddit against a fake Reddit: mapping, paging to the watermark, restarts, OAuth, rate limits."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import AuthError, RateLimited
from monitor.sources.reddit import Reddit
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.reddit import TOO_MANY, FakeReddit, recorded
from tests.helpers.clock import Clock

T0 = 1_795_500_000
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def reddit(session: aiohttp.ClientSession, fake: FakeReddit, clock: Clock | None = None, **options: object) -> Reddit:
    source: Reddit = make_source(Reddit, session, fake, clock or Clock(NOW), **{"oauth_base_url": fake.url, **options})
    return source


def with_oauth(monkeypatch: pytest.MonkeyPatch, fake: FakeReddit, client_id: str = "cl1ent-id",
               secret: str = "hunter2-s3cret") -> None:  # fmt: skip
    monkeypatch.setenv("ACME_REDDIT_ID", client_id)
    monkeypatch.setenv("ACME_REDDIT_SECRET", secret)
    fake.client_id, fake.client_secret = "cl1ent-id", "hunter2-s3cret"


OAUTH = {"client_id_env": "ACME_REDDIT_ID", "client_secret_env": "ACME_REDDIT_SECRET"}


async def test_a_poll_maps_recorded_posts(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    fake_reddit.posts = [c["data"] for c in recorded()["data"]["children"]]
    page = await reddit(session, fake_reddit, Clock(1795529700)).search(Q, None, datetime.fromtimestamp(T0, UTC))
    first, second = page.mentions
    assert first.id == "t3_1h2k3l4" and first.title == "Acme Cloud outage right now?" and first.platform == "reddit"
    assert (
        first.text == "Since 14:00 UTC every request to Acme Cloud returns 502 & the console won't load. Anyone else?"
    )
    assert first.likes == 212 and first.replies == 87 and first.author == "throwaway_ops"
    assert first.url == "https://www.reddit.com/r/sysadmin/comments/1h2k3l4/acme_cloud_outage_right_now/"
    assert first.author_followers is None  # subreddit_subscribers is not the author's reach
    assert second.text == "" and second.created_at.timestamp() == 1795520000.5
    (request,) = fake_reddit.requests
    assert request.path == "/search.json" and request.headers["User-Agent"] == USER_AGENT
    assert request.query == {"q": Q, "sort": "new", "type": "link", "raw_json": "1", "limit": "100"}
    assert not page.more and json.loads(page.cursor) == {
        "v": 2,
        "mark": 1795529700.0,
        "seen": {"t3_1h2k3l4": 1795529700.0},
    }


async def test_paging_to_the_watermark_then_only_what_is_new(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_reddit.add_post(f"t3_{i:04d}", T0 + i * 10.5, f"acme cloud {i}")
    fake_reddit.add_post("t3_ancient", T0 - 90000, "acme cloud before since")
    clock = Clock(T0 + 2700)
    source = reddit(session, fake_reddit, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    assert pages == 3 and len({m.id for m in mentions}) == len(mentions) == 250
    assert max(Counter(fake_reddit.served_names()).values()) == 1  # `after` pages never overlap
    assert [r.query.get("after") for r in fake_reddit.requests] == [None, "t3_0150", "t3_0050"]
    # Nothing new: one request; it reaches the watermark on its first page.
    before = len(fake_reddit.requests)
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert len(fake_reddit.requests) == before + 1
    # New posts, and one the index added late (made before the poll at T0 + 2700, within the overlap).
    for i in range(3):
        fake_reddit.add_post(f"t3_new{i}", T0 + 9000 + i, f"acme cloud new {i}")
    fake_reddit.add_post("t3_late", T0 + 2600, "acme cloud indexed late")
    clock.now = T0 + 9100
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["t3_late", "t3_new0", "t3_new1", "t3_new2"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_oauth_client_credentials_token_reused_and_renewed(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_oauth(monkeypatch, fake_reddit)
    fake_reddit.token_lifetime = 3600
    fake_reddit.add_post("t3_a", T0, "acme cloud")
    clock = Clock(T0)
    source = reddit(session, fake_reddit, clock, **OAUTH)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    await drain(source, Q, cursor, SINCE)
    (token_request,) = fake_reddit.paths("/api/v1/access_token")
    assert token_request.method == "POST" and token_request.body == "grant_type=client_credentials"
    assert token_request.headers["Authorization"] == "Basic " + base64.b64encode(b"cl1ent-id:hunter2-s3cret").decode()
    assert token_request.headers["User-Agent"] == USER_AGENT
    searches = fake_reddit.searches()
    assert [r.path for r in searches] == ["/search", "/search"]
    assert all(r.headers["Authorization"] == "bearer token-1" for r in searches)
    # Shortly before it expires the token is renewed, not used to the last second.
    clock.now = T0 + 3600 - 30
    await drain(source, Q, cursor, SINCE)
    assert fake_reddit.tokens_issued == ["token-1", "token-2"]
    assert fake_reddit.searches()[-1].headers["Authorization"] == "bearer token-2"


async def test_a_token_revoked_early_is_replaced_once(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_oauth(monkeypatch, fake_reddit)
    source = reddit(session, fake_reddit, **OAUTH)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    fake_reddit.valid_tokens.clear()
    await drain(source, Q, cursor, SINCE)
    assert fake_reddit.tokens_issued == ["token-1", "token-2"]
    # A search that keeps answering 401 with fresh tokens: one renewal, then an AuthError.
    fake_reddit.valid_tokens.clear()
    fake_reddit.tokens_work = False
    with pytest.raises(AuthError):
        await source.search(Q, cursor, SINCE)
    assert fake_reddit.tokens_issued == ["token-1", "token-2", "token-3"]


async def test_refused_credentials_never_show_the_secret(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_oauth(monkeypatch, fake_reddit, secret="wr0ng-s3cret-value")
    source = reddit(session, fake_reddit, **OAUTH)
    with pytest.raises(AuthError) as info:
        await source.search(Q, None, SINCE)
    text = str(info.value)
    assert "ACME_REDDIT_ID" in text and "ACME_REDDIT_SECRET" in text  # names the variables to check
    assert not any(s in text for s in ("wr0ng", "hunter2", "cl1ent-id", "token-", "Basic"))
    assert fake_reddit.searches() == [] and len(fake_reddit.paths("/api/v1/access_token")) == 1


async def test_one_credential_alone_means_anonymous(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", "cl1ent-id")
    await reddit(session, fake_reddit).search(Q, None, SINCE)
    assert [r.path for r in fake_reddit.requests] == ["/search.json"]


async def test_anonymous_403_html_is_an_auth_error(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    # What Reddit answers some datacenter IPs without OAuth.
    fake_reddit.fail_next(403, body="<html><body>whoa there, pardner!</body></html>", content_type="text/html")
    with pytest.raises(AuthError, match="HTTP 403"):
        await reddit(session, fake_reddit).search(Q, None, SINCE)
    assert len(fake_reddit.requests) == 1


async def test_429_in_a_200_answer_blocks_until_the_reset(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0)
    source = reddit(session, fake_reddit, clock)
    fake_reddit.fail_next(200, body=json.dumps(TOO_MANY), headers={"x-ratelimit-reset": "37"})
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 37
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_reddit.requests) == 1
    clock.now = T0 + 37
    await source.search(Q, None, SINCE)
    assert len(fake_reddit.requests) == 2
    fake_reddit.fail_next(200, body=json.dumps(recorded("too_many_requests.json")))  # no reset header
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 60


async def test_http_429_with_retry_after(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    fake_reddit.fail_next(429, body=json.dumps(TOO_MANY), headers={"Retry-After": "12"})
    source = reddit(session, fake_reddit)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 12
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_reddit.requests) == 1


async def test_a_used_up_window_blocks_until_it_resets(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    clock = Clock(T0)
    source = reddit(session, fake_reddit, clock)
    fake_reddit.rate_headers = {"x-ratelimit-used": "10", "x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "42"}
    await source.search(Q, None, SINCE)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 42 and len(fake_reddit.requests) == 1
    fake_reddit.rate_headers = {"x-ratelimit-remaining": "99", "x-ratelimit-reset": "300"}
    clock.now = T0 + 42
    await source.search(Q, None, SINCE)
    await source.search(Q, None, SINCE)
    assert len(fake_reddit.requests) == 3


async def test_malformed_posts_are_skipped_and_good_ones_kept(
    fake_reddit: FakeReddit, session: aiohttp.ClientSession
) -> None:
    fake_reddit.add_post("t3_good", T0, "acme cloud fine", author=None, score=None, permalink=None)
    fake_reddit.posts.append({"name": "t3_notime", "title": "acme cloud", "created_utc": "yesterday"})
    fake_reddit.posts.append({"name": None, "title": "acme cloud", "created_utc": T0 - 5})
    fake_reddit.posts.append({"name": "t3_empty", "title": "", "selftext": "", "created_utc": T0 - 6})
    fake_reddit.add_post("t3_blank", T0 - 7, "", selftext="")
    fake_reddit.posts.append(
        {"name": "t3_untitled", "title": None, "selftext": "acme cloud body", "created_utc": T0 - 8}
    )
    page = await reddit(session, fake_reddit).search("", None, SINCE)
    assert [m.id for m in page.mentions] == ["t3_good", "t3_untitled"]
    good = page.mentions[0]
    assert good.author == "" and good.likes == 0 and good.url == ""


async def test_a_cursor_from_before_version_2_is_read(fake_reddit: FakeReddit, session: aiohttp.ClientSession) -> None:
    fake_reddit.add_post("t3_old", T0, "acme cloud old")
    fake_reddit.add_post("t3_new", T0 + 5, "acme cloud new")
    cursor = json.dumps({"watermark": T0, "seen": ["t3_old"]})
    mentions, cursor, _ = await drain(reddit(session, fake_reddit, overlap=0), Q, cursor, SINCE)
    assert [m.id for m in mentions] == ["t3_new"] and json.loads(cursor)["mark"] == T0 + 5
