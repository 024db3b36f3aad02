"""YouTube against a fake Data API: mapping, paging, cursors across restarts, quota, keys, failures."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from monitor.engine.poll import poll_once
from monitor.sources.base import AuthError, BadResponse, RateLimited
from monitor.sources.youtube import YouTube
from tests.fakes import USER_AGENT, drain, make_source, search
from tests.fakes.youtube import QUOTA_EXCEEDED, FakeYouTube, google_error, recorded
from tests.helpers.clock import Clock
from tests.helpers.engine import first_brand, make_engine

T0 = 1_795_500_000  # 2026-11-24 06:00 UTC
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"
# 2026-11-24 20:00 in Los Angeles (PST, UTC-8): four hours before YouTube's quota day resets.
EVENING_PACIFIC = datetime(2026, 11, 25, 4, 0, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch, fake_youtube: FakeYouTube) -> str:
    monkeypatch.setenv("YOUTUBE_API_KEY", fake_youtube.key)
    return fake_youtube.key


def yt(session: aiohttp.ClientSession, fake: FakeYouTube, clock: Clock | None = None, **options: object) -> YouTube:
    source: YouTube = make_source(YouTube, session, fake, clock or Clock(NOW), **options)
    return source


def add(fake: FakeYouTube, count: int, start: float = T0, step: float = 60, prefix: str = "v") -> None:
    for i in range(count):
        fake.add_video(f"{prefix}{i:04d}", start + i * step, f"Acme Cloud video {i}", f"About acme cloud, part {i}")


async def test_a_poll_maps_recorded_results_then_pages_on(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    fake_youtube.answer_next(recorded("search_page1.json"))
    fake_youtube.answer_next(recorded("videos.json"))
    fake_youtube.answer_next(recorded("channels.json"))
    source = yt(session, fake_youtube, Clock(1795531330))  # polled when the newest video came
    since = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    page = await search(source, Q, None, since)
    outage, migrate, pricing = page.mentions
    # videos.list gives the plain, whole text; the search snippet's entities never reach a mention.
    assert outage.title == "Acme Cloud outage: what we know so far & what to do" and outage.platform == "youtube"
    assert outage.text.startswith("Acme Cloud's us-east region") and outage.text.endswith("3:10 Workarounds")
    assert outage.id == "dQ8xAcme001" and outage.url == "https://www.youtube.com/watch?v=dQ8xAcme001"
    assert outage.created_at == datetime(2026, 11, 24, 14, 42, 10, tzinfo=UTC)
    assert outage.author == "Cloud Ops Weekly" and outage.author_followers == 48200 and outage.lang == "en-US"
    assert (outage.likes, outage.replies, outage.reposts) == (412, 97, 0)
    # Likes hidden (no likeCount), subscribers hidden, audio language "zxx" (no speech): unknown, not made up.
    assert migrate.text == "Step by step: moving a small app to Acme Cloud. <3 the new CLI."
    assert (migrate.likes, migrate.replies, migrate.author_followers, migrate.lang) == (0, 0, None, None)
    # Not in videos.list any more (deleted or private since): the search result alone.
    assert pricing.title == "Acme Cloud vs the rest: pricing 2026" and pricing.text == ""
    assert pricing.author_followers == 87 and pricing.likes == 0
    asked, videos, channels = fake_youtube.requests
    assert asked.path == "/youtube/v3/search" and asked.headers["User-Agent"] == USER_AGENT
    assert asked.query == {"part": "snippet", "type": "video", "order": "date", "q": Q, "key": fake_youtube.key,
                            "publishedAfter": "2026-11-24T00:00:00Z", "maxResults": "50"}  # fmt: skip
    assert videos.query["id"] == "dQ8xAcme001,Kp3Acme0002,Zz9Acme0003" and videos.query["part"] == "statistics,snippet"
    assert channels.query["id"] == "UC4kQm2Nw1bD0aRrC7pTqZxA,UCq1Wq2Ee3Rr4Tt5Yy6Uu7Ii,UCr9Lp0Vv3sF2gHh4jKk6lMn"
    assert page.more and json.loads(page.cursor)["token"] == "CAMQAA"
    # The next page: same publishedAfter, the token; then the sweep ends at the newest video.
    fake_youtube.answer_next(recorded("search_page2.json"))
    fake_youtube.answer_next({"kind": "youtube#videoListResponse", "items": []})
    fake_youtube.answer_next({"kind": "youtube#channelListResponse", "items": []})
    last = await search(source, Q, page.cursor, since)
    assert [m.id for m in last.mentions] == ["Ab4Acme0004", "Cd5Acme0005"] and not last.more
    assert last.mentions[0].text == "Honest review of Acme Cloud support after six months."
    assert fake_youtube.requests[3].query["pageToken"] == "CAMQAA"
    assert fake_youtube.requests[3].query["publishedAfter"] == "2026-11-24T00:00:00Z"
    state = json.loads(last.cursor)
    assert state["mark"] == int(outage.created_at.timestamp()) and "token" not in state
    assert set(state["seen"]) == {"dQ8xAcme001"}  # within the overlap (an hour) below the watermark


async def test_paging_then_only_what_is_new(fake_youtube: FakeYouTube, session: aiohttp.ClientSession) -> None:
    add(fake_youtube, 120, step=600)  # fewer than a page (50) within the overlap (an hour)
    fake_youtube.add_video("ancient", T0 - 90000, "Acme Cloud before since")
    clock = Clock(T0 + 119 * 600)  # polled when the newest video came
    source = yt(session, fake_youtube, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    assert pages == 3 and len({m.id for m in mentions}) == len(mentions) == 120
    assert max(Counter(fake_youtube.served_ids()).values()) == 1
    lookups = fake_youtube.paths("/youtube/v3/videos")
    assert [len(r.query["id"].split(",")) for r in lookups] == [50, 50, 20]
    assert fake_youtube.units == 3 * 102
    # Nothing new: one search, no lookups (those would cost quota for nothing).
    before = len(fake_youtube.requests)
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert [r.path for r in fake_youtube.requests[before:]] == ["/youtube/v3/search"]
    # New videos, and one the index added late (older than the watermark, within the overlap).
    fake_youtube.add_video("newer", T0 + 99000, "Acme Cloud newer")
    fake_youtube.add_video("late", T0 + 119 * 600 - 1800, "Acme Cloud indexed late")
    clock.now = T0 + 99_100
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["late", "newer"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_quota_exceeded_pauses_until_midnight_pacific(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 3)
    clock = Clock(EVENING_PACIFIC)
    source = yt(session, fake_youtube, clock)
    fake_youtube.daily_quota = 0  # the key's quota is used up elsewhere
    with pytest.raises(RateLimited) as info:
        await search(source, Q, None, SINCE)
    assert info.value.retry_after == 4 * 3600 and not isinstance(info.value, AuthError)
    assert "quota" in str(info.value) and fake_youtube.key not in str(info.value)
    clock.now += 4 * 3600 - 1
    with pytest.raises(RateLimited):  # during the wait nothing is sent
        await search(source, Q, None, SINCE)
    assert len(fake_youtube.requests) == 1
    clock.now += 1
    fake_youtube.daily_quota = 10000  # the new day
    mentions, _, _ = await drain(source, Q, None, SINCE)
    assert len(mentions) == 3


async def test_the_recorded_quota_answer_on_a_lookup_pauses_too(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 3)
    source = yt(session, fake_youtube, Clock(EVENING_PACIFIC))
    fake_youtube.fail_next(200, body=json.dumps(recorded("search_page2.json")))
    fake_youtube.fail_next(403, body=json.dumps(QUOTA_EXCEEDED))
    with pytest.raises(RateLimited) as info:
        await search(source, Q, None, SINCE)
    assert info.value.retry_after == 4 * 3600


async def test_a_local_budget_waits_for_the_reset_without_asking(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 3)
    clock = Clock(EVENING_PACIFIC)
    source = yt(session, fake_youtube, clock, daily_quota=250)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    await drain(source, Q, cursor, SINCE)  # 204 units charged
    with pytest.raises(RateLimited) as info:
        await search(source, Q, cursor, SINCE)
    assert info.value.retry_after == 4 * 3600 and len(fake_youtube.searches()) == 2
    clock.now += 4 * 3600
    await search(source, Q, cursor, SINCE)
    assert len(fake_youtube.searches()) == 3


def test_polls_a_day_the_quota_allows() -> None:
    assert YouTube.max_polls_per_day(YouTube.options) == 98  # a page: 100 (search) + 1 + 1 (lookups)
    assert YouTube.max_polls_per_day(YouTube.options, queries=3) == 32
    assert YouTube.max_polls_per_day({"daily_quota": 1_000_000}, queries=10) == 980
    assert YouTube.max_polls_per_day({"daily_quota": 0}) == 0  # no local limit
    assert 86400 / YouTube.interval.total_seconds() <= YouTube.max_polls_per_day(YouTube.options, queries=2)


async def test_a_missing_key_is_an_auth_error_naming_the_variable(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("YOUTUBE_API_KEY")
    with pytest.raises(AuthError, match="YOUTUBE_API_KEY"):
        await search(yt(session, fake_youtube), Q, None, SINCE)
    monkeypatch.setenv("ACME_YT_KEY", fake_youtube.key)
    await search(yt(session, fake_youtube, key_env="ACME_YT_KEY"), Q, None, SINCE)
    assert fake_youtube.requests[-1].query["key"] == fake_youtube.key


@pytest.mark.parametrize("answer", ["wrong key", "access_not_configured.json", "forbidden"])
async def test_a_refused_key_is_an_auth_error_without_the_key(
    fake_youtube: FakeYouTube,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    answer: str,
) -> None:
    secret = "AIzaS3cretValue-do-not-log"
    monkeypatch.setenv("YOUTUBE_API_KEY", secret)
    if answer == "access_not_configured.json":
        fake_youtube.key = secret
        fake_youtube.fail_next(403, body=json.dumps(recorded(answer)))
    elif answer == "forbidden":
        fake_youtube.key = secret
        fake_youtube.fail_next(403, body="<html>Forbidden</html>", content_type="text/html")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as info:
        await search(yt(session, fake_youtube), Q, None, SINCE)
    assert "YOUTUBE_API_KEY" in str(info.value) and secret not in str(info.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("monitor")]  # not the fake's access log
    assert not any(secret in line for line in ours) and len(fake_youtube.requests) == 1


async def test_malformed_results_are_skipped_and_good_ones_kept(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="monitor.sources.youtube")
    fake_youtube.answer_next(recorded("malformed_results.json"))
    page = await search(yt(session, fake_youtube), Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["Good0000001", "NoChan00007"]
    assert page.mentions[1].author == "" and page.mentions[1].text == ""
    for label in ("NoTime00003", "NoSnip00004", "Blank000005", "(no videoId)"):
        assert label in caplog.text
    # Only the good ones were looked up; the one without a channel id is not asked about.
    assert fake_youtube.requests[1].query["id"] == "Good0000001,NoChan00007"
    assert fake_youtube.requests[2].query["id"] == "UCgood"


async def test_a_wrong_lookup_shape_is_a_bad_response(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 1)
    fake_youtube.fail_next(200, body=json.dumps(recorded("search_page2.json")))
    fake_youtube.answer_next({"kind": "youtube#videoListResponse"})
    with pytest.raises(BadResponse, match="videos"):
        await search(yt(session, fake_youtube), Q, None, SINCE)


async def test_other_4xx_name_the_reason(fake_youtube: FakeYouTube, session: aiohttp.ClientSession) -> None:
    fake_youtube.answer_next(google_error(400, "invalidSearchFilter", "Invalid filter"), status=400)
    with pytest.raises(BadResponse, match="invalidSearchFilter") as info:
        await search(yt(session, fake_youtube), Q, None, SINCE)
    assert fake_youtube.key not in str(info.value)


async def test_a_refused_page_token_pages_the_sweep_again(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 80)
    source = yt(session, fake_youtube)
    first = await search(source, Q, None, SINCE)
    fake_youtube.answer_next(google_error(400, "invalidPageToken", "The request specifies an invalid page token."), 400)
    again = await search(source, Q, first.cursor, SINCE)
    assert again.mentions == [] and again.more and "token" not in json.loads(again.cursor)
    rest, _, _ = await drain(source, Q, again.cursor, SINCE)
    ids = [m.id for m in first.mentions + rest]
    assert len(ids) == len(set(ids)) == 80


async def test_an_empty_first_poll_keeps_the_start(fake_youtube: FakeYouTube, session: aiohttp.ClientSession) -> None:
    fake_youtube.answer_next(recorded("search_empty.json"))
    source = yt(session, fake_youtube, Clock(T0))
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 1, "mark": T0 - 86400, "polled": T0, "seen": {}}
    assert [r.path for r in fake_youtube.requests] == ["/youtube/v3/search"]
    fake_youtube.add_video("first", T0, "Acme Cloud first")
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == ["first"]


async def test_channel_reach_can_be_turned_off(fake_youtube: FakeYouTube, session: aiohttp.ClientSession) -> None:
    add(fake_youtube, 2)
    await search(yt(session, fake_youtube, channel_reach=False, max_results=10), Q, None, SINCE)
    assert [r.path for r in fake_youtube.requests] == ["/youtube/v3/search", "/youtube/v3/videos"]
    assert fake_youtube.requests[0].query["maxResults"] == "10"


async def test_a_video_listed_twice_on_a_page_is_one_mention(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    answer = recorded("search_page2.json")
    answer["items"].append(answer["items"][0])
    fake_youtube.answer_next(answer)
    page = await search(yt(session, fake_youtube), Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["Ab4Acme0004", "Cd5Acme0005"]


async def test_concurrent_searches_each_read_their_own_error(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession
) -> None:
    add(fake_youtube, 3)
    source = yt(session, fake_youtube, Clock(EVENING_PACIFIC))
    fake_youtube.daily_quota = 0
    results = await asyncio.gather(*(search(source, f"{Q} {i}", None, SINCE) for i in range(4)), return_exceptions=True)
    assert all(isinstance(r, RateLimited) and r.retry_after == 4 * 3600 for r in results)


async def test_videos_and_channels_are_looked_up_only_for_what_the_brand_filter_keeps(
    fake_youtube: FakeYouTube, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    fake_youtube.channels["UCacme"] = {"statistics": {"subscriberCount": "5400", "hiddenSubscriberCount": False}}
    fake_youtube.add_video("anvils00001", T0, "ACME anvil review", "Road runner approved", channel="UCcoyote")
    fake_youtube.add_video("outage00002", T0 + 60, "Acme Cloud outage explained", "What broke", channel="UCacme")
    # A long description is cut in search results: the brand may be in the rest, so it is looked up too.
    fake_youtube.add_video("roundup0003", T0 + 120, "Weekly roundup", "x" * 170 + " and the Acme Cloud outage")
    engine = make_engine(tmp_path)
    source = yt(session, fake_youtube)
    try:
        await poll_once(source, first_brand(engine), "acme", engine, NOW)  # a fuzzy search: more than the brand
        stored = {m.mention.id: m.mention.author_followers for m in engine.store.iter_mentions()}
        fake_youtube.add_video("anvils00004", T0 + 180, "ACME rocket skates", "Beep beep", channel="UCcoyote")
        before = len(fake_youtube.lookups())
        await poll_once(source, first_brand(engine), "acme", engine, NOW + 600)
    finally:
        engine.store.close()
    assert stored == {"outage00002": 5400, "roundup0003": 5400}
    videos, channels = fake_youtube.lookups()[:before]
    assert videos.query["id"] == "roundup0003,outage00002" and channels.query["id"] == "UCacme"  # newest first
    assert len(fake_youtube.lookups()) == before  # a page with nothing the brand filter keeps: no lookup
    assert fake_youtube.units == 100 + 1 + 1 + 100 and source.spent == fake_youtube.units
