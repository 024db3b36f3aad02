"""X against a fake API v2 recent search: mapping, retweets, paging, restarts, rate limits, caps, tokens."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import AuthError, BadResponse, RateLimited
from monitor.sources.x import X
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.x import TOO_MANY, FakeX, recorded, snowflake
from tests.helpers.clock import Clock

T0 = 1_795_500_000  # 2026-11-24 06:00 UTC: posts are made from here on
NOW = T0 + 100_000
SINCE = datetime.fromtimestamp(NOW - 2 * 86400, UTC)
Q = "acme cloud"


@pytest.fixture
def clock(fake_x: FakeX) -> Clock:
    clock = Clock(NOW)
    fake_x.clock = clock
    fake_x.reset_at = NOW + 900
    return clock


@pytest.fixture(autouse=True)
def bearer(monkeypatch: pytest.MonkeyPatch, fake_x: FakeX) -> str:
    monkeypatch.setenv("X_BEARER_TOKEN", fake_x.token)
    return fake_x.token


def x(session: aiohttp.ClientSession, fake: FakeX, clock: Clock, **options: object) -> X:
    source: X = make_source(X, session, fake, clock, **options)
    return source


def since_ids(fake: FakeX) -> list[str]:
    return [r.query["since_id"] for r in fake.requests]


async def test_a_poll_maps_recorded_posts_then_pages_on(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
    page1, page2 = recorded("search_page1.json"), recorded("search_page2.json")
    fake_x.answer_next(page1)
    source = x(session, fake_x, clock)
    since = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    page = await source.search(Q, None, since)
    original, long, quote, media = page.mentions
    # The retweet is not a mention: its original is, with the retweets in its reposts.
    assert original.id == page1["includes"]["tweets"][0]["id"] == "2125228513031102471"
    assert original.text == "We are investigating elevated 502 errors in us-east. Updates at https://t.co/AbCdEf1234"
    assert original.author == "AcmeCloudStatus" and original.author_followers == 240512
    assert (original.likes, original.replies, original.reposts) == (402, 96, 311)
    assert original.url == "https://x.com/AcmeCloudStatus/status/2125228513031102471"
    assert original.created_at == datetime(2026, 11, 24, 14, 2, 17, tzinfo=UTC) and original.platform == "x"
    # A long post's whole text is its note_tweet; X's &amp; &gt; are unescaped, nothing else touched.
    assert long.text.startswith("Acme Cloud post-mortem") and long.text.endswith("but this one hurt.")
    assert "load balancers & could not" in long.text and long.author == "dana_ops" and long.author_followers == 1893
    assert quote.text == "3rd outage this quarter >:( @AcmeCloudStatus https://t.co/Q1w2E3r4T5" and quote.reposts == 2
    assert media.lang is None and long.lang == "en"  # "qme": media only, no language
    (request,) = fake_x.requests
    assert request.path == "/2/tweets/search/recent" and request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Authorization"] == f"Bearer {fake_x.token}"
    assert request.query == {
        "query": Q, "max_results": "100", "since_id": str(snowflake(since.timestamp())),
        "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id",
        "tweet.fields": "created_at,public_metrics,lang,conversation_id,referenced_tweets,note_tweet,author_id",
        "user.fields": "username,public_metrics",
    }  # fmt: skip
    assert page.more and json.loads(page.cursor)["next"] == page1["meta"]["next_token"]
    fake_x.answer_next(page2)
    last = await source.search(Q, page.cursor, since)
    assert [m.id for m in last.mentions] == ["2125226692703162375", "2125222905246654471"] and not last.more
    assert last.mentions[1].lang == "es" and last.mentions[0].author == "samr"
    assert fake_x.requests[1].query["next_token"] == page1["meta"]["next_token"]
    assert since_ids(fake_x) == [request.query["since_id"]] * 2
    state = json.loads(last.cursor)
    # The watermark is the newest post (the retweet); `polled`, when the sweep started (15:00), is later,
    # so the next sweep starts from it less the overlap: nothing below that is kept as seen.
    assert state == {"v": 1, "mark": "2125235760788406279", "polled": 1795532400, "seen": {}}


async def test_paging_then_only_what_is_new(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    for i in range(250):
        fake_x.add_post(T0 + i * 30, f"acme cloud post {i}")
    clock.now = T0 + 249 * 30  # polled when the newest post came: the watermark's own rule
    source = x(session, fake_x, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    assert pages == 3 and len({m.id for m in mentions}) == len(mentions) == 250
    assert max(Counter(fake_x.served_ids()).values()) == 1
    newest = max(int(m.id) for m in mentions)
    assert json.loads(cursor)["mark"] == str(newest)  # exact: these ids do not fit a float
    # Nothing new: one request, since_id the watermark's time less the overlap (60 s).
    before = len(fake_x.requests)
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert len(fake_x.requests) == before + 1 and int(since_ids(fake_x)[-1]) == snowflake(T0 + 249 * 30 - 60)
    # New posts, and one the index added late (older than the watermark, within the overlap).
    fake_x.add_post(T0 + 9000, "acme cloud newer")
    late = fake_x.add_post(T0 + 249 * 30 - 20, "acme cloud indexed late")
    clock.now = T0 + 9100
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.text for m in fresh) == ["acme cloud indexed late", "acme cloud newer"]
    assert late["id"] in {m.id for m in fresh}
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_retweets_count_toward_the_original(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    original = fake_x.add_post(T0, "Acme Cloud is down again", author="dana_ops")
    for i in range(3):
        fake_x.add_retweet(original, T0 + 10 + i, by=f"fan{i}")
    old = fake_x.add_post(NOW - 5 * 86400, "acme cloud from before the window", author="samr")
    fake_x.add_retweet(old, T0 + 20)
    source = x(session, fake_x, clock)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    # One mention for the original (its retweets are its reposts), none for a retweet of an old post.
    assert [(m.id, m.reposts, m.author) for m in mentions] == [(original["id"], 3, "dana_ops")]
    # More retweets later: still not mentions, and the original is not sent again.
    fake_x.add_retweet(original, T0 + 40)
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_a_used_up_window_blocks_until_its_reset(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    fake_x.add_post(T0, "acme cloud")
    fake_x.limit = 2
    source = x(session, fake_x, clock)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    clock.now += 100
    await source.search(Q, cursor, SINCE)  # the answer says: none left until reset_at
    with pytest.raises(RateLimited) as info:
        await source.search(Q, cursor, SINCE)
    assert info.value.retry_after == 800 and len(fake_x.requests) == 2  # no request, so never a 429
    clock.now = fake_x.reset_at
    fake_x.new_window(clock.now + 900)
    await source.search(Q, cursor, SINCE)
    assert len(fake_x.requests) == 3


async def test_a_429_waits_for_the_reset(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    source = x(session, fake_x, clock)
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(NOW + 420)}
    fake_x.answer_next(recorded("rate_limited.json"), status=429, headers=headers)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 420
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_x.requests) == 1
    fake_x.answer_next(TOO_MANY, status=429)  # no headers at all: Http's default wait
    clock.now += 420
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 60


async def test_a_429_whose_reset_has_passed_waits_the_default_not_a_second(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    source = x(session, fake_x, clock)
    passed = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(NOW - 30)}
    fake_x.answer_next(TOO_MANY, status=429, headers=passed)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 60 and "waiting 60s" in str(info.value)


async def test_a_reset_is_read_on_xs_clock(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    source = x(session, fake_x, clock)
    fake_x.date = lambda: clock() - 600  # X's clock ten minutes behind ours: its reset looks past to us
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(NOW - 600 + 420)}
    fake_x.answer_next(TOO_MANY, status=429, headers=headers)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert 419 <= info.value.retry_after <= 421 and "waiting 420s" in str(info.value)


@pytest.mark.parametrize(("status", "fixture", "words"), [(429, "usage_capped.json", "usage cap"),
                                                          (402, None, "402 Payment Required")])  # fmt: skip
async def test_a_usage_cap_pauses_the_source_and_says_so(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock, status: int, fixture: str | None, words: str
) -> None:
    source = x(session, fake_x, clock)
    headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "449", "x-rate-limit-reset": str(NOW + 900)}
    body = recorded(fixture) if fixture else {"title": "Payment Required", "status": 402}
    fake_x.answer_next(body, status=status, headers=headers)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 3600 and words in str(info.value) and not isinstance(info.value, AuthError)
    clock.now += 3599
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_x.requests) == 1
    clock.now += 1
    fake_x.new_window(clock.now + 900)
    await source.search(Q, None, SINCE)
    assert len(fake_x.requests) == 2


async def test_a_missing_token_is_an_auth_error_naming_the_variable(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("X_BEARER_TOKEN")
    with pytest.raises(AuthError, match="X_BEARER_TOKEN"):
        await x(session, fake_x, clock).search(Q, None, SINCE)
    assert fake_x.requests == []
    monkeypatch.setenv("ACME_X_TOKEN", fake_x.token)
    await x(session, fake_x, clock, token_env="ACME_X_TOKEN").search(Q, None, SINCE)
    assert len(fake_x.requests) == 1


@pytest.mark.parametrize("refusal", ["wrong token", "client_forbidden.json"])
async def test_a_refused_token_is_an_auth_error_without_the_token(
    fake_x: FakeX,
    session: aiohttp.ClientSession,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
) -> None:
    secret = "AAAAs3cret-bearer-do-not-log"
    monkeypatch.setenv("X_BEARER_TOKEN", secret)
    if refusal != "wrong token":
        fake_x.answer_next(recorded(refusal), status=403)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as info:
        await x(session, fake_x, clock).search(Q, None, SINCE)
    text = str(info.value)
    assert "X_BEARER_TOKEN" in text and secret not in text and "Bearer" not in text
    assert ("client-not-enrolled" in text) == (refusal != "wrong token")
    assert not any(secret in r.getMessage() for r in caplog.records)
    assert len(fake_x.requests) == 1


async def test_malformed_posts_are_skipped_and_good_ones_kept(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.sources.x")
    body = recorded("malformed_posts.json")
    fake_x.answer_next(body)
    page = await x(session, fake_x, clock).search(Q, None, SINCE)
    good, stranger = page.mentions
    assert good.id == body["data"][0]["id"] and good.author == "samr" and good.likes == 5
    assert stranger.author == "" and stranger.author_followers is None and stranger.likes == 0
    assert stranger.url == f"https://x.com/i/web/status/{stranger.id}"
    assert "(no id)" in caplog.text and body["data"][3]["id"] in caplog.text and body["data"][4]["id"] in caplog.text


async def test_errors_in_a_200_or_a_400_are_read(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    source = x(session, fake_x, clock)
    fake_x.answer_next(recorded("errors_only.json"))
    with pytest.raises(BadResponse, match="Could not find tweet"):
        await source.search(Q, None, SINCE)
    fake_x.answer_next(recorded("invalid_request.json"), status=400)
    with pytest.raises(BadResponse, match="'since_id' must be a tweet id created after"):
        await source.search(Q, None, SINCE)


async def test_since_id_stays_within_seven_days(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    fake_x.add_post(NOW - 3600, "acme cloud recent")
    source = x(session, fake_x, clock)
    # A first poll asked to go back 30 days, and a watermark 10 days old: both start at the reach's edge.
    long_ago = datetime.fromtimestamp(NOW - 30 * 86400, UTC)
    mentions, _, _ = await drain(source, Q, None, long_ago)
    stale = json.dumps({"v": 1, "mark": str(snowflake(NOW - 10 * 86400)), "seen": {}})
    again, _, _ = await drain(source, Q, stale, long_ago)
    assert len(mentions) == len(again) == 1
    edge = snowflake(NOW - 7 * 86400 + 3600)  # an hour inside the edge: time to page before it moves past
    assert [int(s) for s in since_ids(fake_x)] == [edge, edge]


async def test_an_empty_first_poll_keeps_the_start(fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock) -> None:
    fake_x.answer_next(recorded("search_empty.json"))
    source = x(session, fake_x, clock)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 1, "mark": str(snowflake(SINCE.timestamp())), "polled": NOW,
                                                     "seen": {}}  # fmt: skip
    post = fake_x.add_post(NOW - 10, "acme cloud first")
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == [post["id"]]


async def test_a_refused_next_token_pages_the_sweep_again(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    for i in range(150):
        fake_x.add_post(T0 + i, f"acme cloud {i}")
    source = x(session, fake_x, clock)
    first = await source.search(Q, None, SINCE)
    refusal = {"errors": [{"parameters": {"next_token": ["b26v89c19zqg8o3fzzz"]},
                           "message": "Invalid 'next_token':'b26v89c19zqg8o3fzzz'."}],
               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
               "type": "https://api.twitter.com/2/problems/invalid-request"}  # fmt: skip
    fake_x.answer_next(refusal, status=400)
    again = await source.search(Q, first.cursor, SINCE)
    assert again.mentions == [] and again.more and "next" not in json.loads(again.cursor)
    rest, _, _ = await drain(source, Q, again.cursor, SINCE)
    ids = [m.id for m in first.mentions + rest]
    assert len(ids) == len(set(ids)) == 150


async def test_a_sweep_left_past_the_seven_days_starts_again_at_the_edge(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    for i in range(150):
        fake_x.add_post(T0 + i, f"acme cloud {i}")
    source = x(session, fake_x, clock)
    first = await source.search(Q, None, SINCE)
    assert first.more
    clock.now = fake_x.clock() + 8 * 86400  # the process was down for eight days
    fake_x.reset_at = clock.now + 900
    recent = fake_x.add_post(clock.now - 3600, "acme cloud after the pause")
    rest, cursor, _ = await drain(source, Q, first.cursor, SINCE)
    assert [m.id for m in rest] == [recent["id"]]
    assert int(since_ids(fake_x)[-1]) == snowflake(clock.now - 7 * 86400 + 3600)
    assert json.loads(cursor)["mark"] == recent["id"]


async def test_a_backfill_past_seven_days_pages_on_with_its_token_while_time_moves(
    fake_x: FakeX, session: aiohttp.ClientSession, clock: Clock
) -> None:
    for i in range(150):
        fake_x.add_post(NOW - 3 * 86400 + i * 600, f"acme cloud {i}")
    fake_x.behave(clock)  # 20 ms an answer, and the clock a little further on with each request
    source = x(session, fake_x, clock)
    mentions, cursor, pages = await drain(source, Q, None, datetime.fromtimestamp(NOW - 14 * 86400, UTC))
    # Two pages, two requests: page 2 with page 1's token and since_id, however far the edge moved meanwhile.
    assert pages == 2 and len(fake_x.requests) == 2 and len({m.id for m in mentions}) == 150
    first, second = (r.query for r in fake_x.requests)
    assert second["since_id"] == first["since_id"] and second["next_token"] in fake_x.tokens
    assert json.loads(cursor)["mark"] == max(m.id for m in mentions)  # the watermark moved to the newest
