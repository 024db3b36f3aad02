"""Mastodon against a fake instance: mapping, min_id paging, search with a token, restarts, rate limits."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import AuthError, BadResponse, RateLimited
from monitor.sources.mastodon import Mastodon, hashtag, snowflake
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.mastodon import TOO_MANY, FakeMastodon, recorded, snowflake_at
from tests.helpers.clock import Clock

T0 = 1_795_500_000
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"
TAG_PATH = "/api/v1/timelines/tag/acmecloud"
SECRET = "s3cret-token-value"


@pytest.fixture(autouse=True)
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)


def mastodon(session: aiohttp.ClientSession, fake: FakeMastodon, clock: Clock | None = None,
             **options: object) -> Mastodon:  # fmt: skip
    source: Mastodon = make_source(Mastodon, session, fake, clock or Clock(NOW), **options)
    return source


def with_token(monkeypatch: pytest.MonkeyPatch, fake: FakeMastodon, token: str = SECRET) -> None:
    monkeypatch.setenv("ACME_MASTODON_TOKEN", token)
    fake.token = SECRET


TOKEN = {"token_env": "ACME_MASTODON_TOKEN"}


async def test_a_poll_maps_recorded_statuses(fake_mastodon: FakeMastodon, session: aiohttp.ClientSession) -> None:
    fake_mastodon.statuses = recorded()
    since = datetime(2026, 11, 24, tzinfo=UTC)
    page = await mastodon(session, fake_mastodon).search("Acme Cloud", None, since)
    anna, jonas, kit = page.mentions
    assert (
        anna.platform == "mastodon" and anna.id == "https://mastodon.example/users/ops_anna/statuses/113541209876543210"
    )
    assert anna.text == ("Is #AcmeCloud down for anyone else? Every deploy since 14:00 fails with a 502 & the console "
                         "won't load.\nStatus page says \"all good\".")  # fmt: skip
    assert anna.title == "" and anna.lang == "en"
    assert anna.author == "ops_anna@mastodon.example" and anna.author_followers == 5230  # local acct qualified
    assert anna.url == "https://mastodon.example/@ops_anna/113541209876543210"
    assert anna.created_at == datetime(2026, 11, 24, 14, 21, 7, 512000, tzinfo=UTC)
    assert (anna.likes, anna.replies, anna.reposts) == (57, 14, 31)
    # The content warning is the title; <br> becomes a line break.
    assert jonas.title == "Cloud-Umzug, lang" and jonas.text == "Wir ziehen zu #acmecloud um.\nBisher sehr zufrieden."
    assert jonas.author == "jonas@social.example.de" and jonas.lang == "de"
    # No url (some remote statuses): the uri is the link; no language: None.
    assert kit.url == kit.id and kit.lang is None and kit.text.startswith("@ops_anna same here")
    (request,) = fake_mastodon.requests
    assert request.path == TAG_PATH and request.headers["User-Agent"] == USER_AGENT
    assert "Authorization" not in request.headers
    assert request.query == {"limit": "40", "since_id": str(snowflake(since.timestamp()))}
    assert not page.more
    state = json.loads(page.cursor)
    # Only the uris within the overlap (300 s) below the watermark are kept to filter the next sweep.
    assert state == {"v": 1, "marks": {"tag": int(recorded()[0]["id"])}, "seen": {anna.id: int(recorded()[0]["id"])}}


async def test_tag_pages_come_newest_first_by_the_link_header_then_only_what_is_new(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession
) -> None:
    for i in range(100):
        fake_mastodon.add_status(T0 + i * 10, f"#acmecloud post {i}")
    source = mastodon(session, fake_mastodon)
    first = await source.search(Q, None, SINCE)
    # The newest first: a backfill bigger than a poll can page brings the latest statuses at once.
    assert [m.text for m in first.mentions][:2] == ["#acmecloud post 99", "#acmecloud post 98"]
    rest, cursor, pages = await drain(source, Q, first.cursor, SINCE)
    mentions = first.mentions + rest
    assert pages == 2 and len({m.id for m in mentions}) == len(mentions) == 100
    assert max(Counter(fake_mastodon.served_ids()).values()) == 1  # pages never overlap
    # Each next page ends at the Link header's rel="next" max_id: the oldest id of the page before.
    max_ids = [r.query.get("max_id") for r in fake_mastodon.requests]
    assert max_ids == [None, snowflake_at(T0 + 600), snowflake_at(T0 + 200)]
    assert {r.query["since_id"] for r in fake_mastodon.requests} == {str(snowflake(SINCE.timestamp()))}
    # The watermark moved only once the sweep was over, to its newest status.
    assert json.loads(first.cursor)["marks"] == {}
    assert json.loads(cursor)["marks"] == {"tag": int(snowflake_at(T0 + 990))}
    # Nothing new: one request, from the watermark less the overlap (300 s).
    again, cursor, pages = await drain(source, Q, cursor, SINCE)
    assert again == [] and pages == 1
    assert fake_mastodon.requests[-1].query["since_id"] == str(snowflake(T0 + 990 - 300))
    # New statuses, and one federated late (its id is from its own, earlier, time within the overlap).
    fake_mastodon.add_status(T0 + 5000, "#acmecloud newer")
    fake_mastodon.add_status(T0 + 800, "#acmecloud federated late", sequence=7)
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.text for m in fresh) == ["#acmecloud federated late", "#acmecloud newer"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_a_sweep_stored_before_newest_first_paging_is_read(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        fake_mastodon.add_status(T0 + i * 10, f"#acmecloud post {i}")
    tag_sweep = {"stream": "tag", "min_id": snowflake(T0 + 15)}
    old = json.dumps({"v": 1, "marks": {}, "seen": {}, "sweep": tag_sweep})
    mentions, cursor, _ = await drain(mastodon(session, fake_mastodon), Q, old, SINCE)
    assert sorted(m.text for m in mentions) == [f"#acmecloud post {i}" for i in (2, 3, 4)]
    assert json.loads(cursor)["marks"] == {"tag": int(snowflake_at(T0 + 40))}


async def test_a_reblog_folds_onto_its_original(fake_mastodon: FakeMastodon, session: aiohttp.ClientSession) -> None:
    original = fake_mastodon.add_status(T0, "#acmecloud raised prices", reblogs_count=2, favourites_count=4)
    fake_mastodon.add_status(T0 + 60, "", reblog=original, uri="https://mastodon.example/users/b/statuses/1/activity")
    fake_mastodon.add_status(T0 + 90, "", reblog=dict(original), uri="https://mastodon.example/users/c/statuses/2/a")
    mentions, _, _ = await drain(mastodon(session, fake_mastodon), Q, None, SINCE)
    (mention,) = mentions
    assert mention.id == original["uri"] and mention.reposts == 2 and mention.likes == 4
    assert mention.text == "#acmecloud raised prices"


async def test_search_with_a_token_adds_what_the_tag_misses_once_per_uri(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token(monkeypatch, fake_mastodon)
    both = fake_mastodon.add_status(T0, "acme cloud is down #acmecloud")
    fake_mastodon.add_status(T0 + 1, "acme cloud is down, no hashtag", tags=())
    for i in range(45):  # more than one search page
        fake_mastodon.add_status(T0 + 100 + i, f"acme cloud untagged {i}", tags=())
    source = mastodon(session, fake_mastodon, **TOKEN)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids)) == 47 and ids[0] == both["uri"]
    paths = [r.path for r in fake_mastodon.requests]
    assert paths == [TAG_PATH, "/api/v2/search", "/api/v2/search", "/api/v2/search"]
    assert all(r.headers["Authorization"] == f"Bearer {SECRET}" for r in fake_mastodon.requests)
    first, second, last = fake_mastodon.paths("/api/v2/search")
    assert first.query == {"q": Q, "type": "statuses", "resolve": "false", "limit": "40",
                           "min_id": str(snowflake(SINCE.timestamp()))}  # fmt: skip
    # The next page asks below the oldest millisecond of the page before (+1 ms: ties are not lost).
    assert second.query["max_id"] == str(snowflake(T0 + 105 + 0.001)) and "offset" not in second.query
    assert "max_id" in last.query
    fake_mastodon.add_status(T0 + 600, "acme cloud again", tags=())
    fresh, _, _ = await drain(source, Q, cursor, SINCE)
    assert [m.text for m in fresh] == ["acme cloud again"]


async def test_a_search_page_within_one_millisecond_goes_on_by_offset(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token(monkeypatch, fake_mastodon)
    for i in range(3):
        fake_mastodon.add_status(T0, f"acme cloud same {i}", tags=(), sequence=i)
    fake_mastodon.add_status(T0 - 1, "acme cloud older", tags=())
    mentions, _, _ = await drain(mastodon(session, fake_mastodon, limit=2, **TOKEN), Q, None, SINCE)
    assert len({m.id for m in mentions}) == len(mentions) == 4


async def test_the_rate_limit_window_blocks_until_its_iso_reset(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0)
    source = mastodon(session, fake_mastodon, clock)
    reset = datetime.fromtimestamp(T0 + 120, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fake_mastodon.rate_headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    await source.search(Q, None, SINCE)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 120 and len(fake_mastodon.requests) == 1
    clock.now = T0 + 120
    fake_mastodon.rate_headers = {}
    await source.search(Q, None, SINCE)
    assert len(fake_mastodon.requests) == 2


async def test_a_429_waits_for_the_reset_and_sends_nothing_meanwhile(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0)
    source = mastodon(session, fake_mastodon, clock)
    reset = datetime.fromtimestamp(T0 + 45, UTC).isoformat().replace("+00:00", "Z")
    fake_mastodon.fail_next(429, body=json.dumps(recorded("too_many_requests.json")),
                            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})  # fmt: skip
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 45
    clock.now = T0 + 44
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_mastodon.requests) == 1
    clock.now = T0 + 45
    await source.search(Q, None, SINCE)
    assert len(fake_mastodon.requests) == 2
    fake_mastodon.fail_next(429, body=json.dumps(TOO_MANY), headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 30


async def test_a_refused_token_names_the_variable_never_the_token(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token(monkeypatch, fake_mastodon, token="wr0ng-t0ken")
    with pytest.raises(AuthError) as info:
        await mastodon(session, fake_mastodon, **TOKEN).search(Q, None, SINCE)
    text = str(info.value)
    assert "ACME_MASTODON_TOKEN" in text and "wr0ng" not in text and SECRET not in text
    assert len(fake_mastodon.requests) == 1


async def test_an_instance_without_public_timelines_asks_for_the_token(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_mastodon.public_timelines = False
    with pytest.raises(AuthError, match="MASTODON_ACCESS_TOKEN"):
        await mastodon(session, fake_mastodon).search(Q, None, SINCE)
    with_token(monkeypatch, fake_mastodon)
    fake_mastodon.add_status(T0, "#acmecloud fine")
    page = await mastodon(session, fake_mastodon, **TOKEN).search(Q, None, SINCE)
    assert [m.text for m in page.mentions] == ["#acmecloud fine"]


async def test_malformed_statuses_are_skipped_with_a_line_each_and_the_rest_kept(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    fake_mastodon.fail_next(200, body=json.dumps(recorded("malformed_statuses.json")))
    with caplog.at_level(logging.INFO, logger="monitor.sources.mastodon"):
        page = await mastodon(session, fake_mastodon).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == [
        "https://mastodon.example/users/ops_anna/statuses/good",
        "https://hachyderm.example/users/kit/statuses/original",  # a reblog, folded
        "https://social.example.de/users/ghost/statuses/noaccount",
    ]
    ghost = page.mentions[2]
    assert ghost.author == "" and ghost.author_followers is None and ghost.likes == 0 and ghost.replies == 0
    assert ghost.lang is None
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 5 and all(m.startswith("mastodon: skipped a malformed status") for m in skipped)
    assert any("badtime" in m for m in skipped) and any("not an object" in m for m in skipped)


async def test_a_search_answer_without_statuses_is_a_bad_response(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token(monkeypatch, fake_mastodon)
    source = mastodon(session, fake_mastodon, **TOKEN)
    first = await source.search(Q, None, SINCE)  # the tag timeline, empty
    fake_mastodon.fail_next(200, body=json.dumps({"accounts": [], "hashtags": []}))
    with pytest.raises(BadResponse, match="no statuses"):
        await source.search(Q, first.cursor, SINCE)


async def test_the_tag_option_and_the_fixture_pages(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession
) -> None:
    fake_mastodon.fail_next(200, body=json.dumps(recorded("tag_timeline_next.json")))
    fake_mastodon.fail_next(200, body=json.dumps(recorded("tag_timeline_empty.json")))
    source = mastodon(session, fake_mastodon, tag="#Café", limit=2)
    first = await source.search(Q, None, SINCE)
    assert first.more and [m.created_at.minute for m in first.mentions] == [40, 32]
    last = await source.search(Q, first.cursor, SINCE)
    assert last.mentions == [] and not last.more
    assert [r.path for r in fake_mastodon.requests] == ["/api/v1/timelines/tag/Café"] * 2
    assert fake_mastodon.requests[1].query["max_id"] == recorded("tag_timeline_next.json")[-1]["id"]
    with pytest.raises(BadResponse, match="tag option"):
        await mastodon(session, fake_mastodon).search("!!", None, SINCE)
    assert hashtag('"Acme Cloud" OR acme -jobs') == "acmecloud" and hashtag("-acme") == ""


async def test_a_recorded_search_answer_is_mapped(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_token(monkeypatch, fake_mastodon)
    fake_mastodon.fail_next(200, body=json.dumps(recorded("tag_timeline_empty.json")))
    fake_mastodon.fail_next(200, body=json.dumps(recorded("search.json")))
    mentions, cursor, pages = await drain(mastodon(session, fake_mastodon, **TOKEN), Q, None, SINCE)
    assert [m.author for m in mentions] == ["ops_anna@mastodon.example", "kit@hachyderm.example"] and pages == 3
    assert json.loads(cursor)["marks"] == {"search": int(recorded("search.json")["statuses"][0]["id"])}
    last = fake_mastodon.requests[-1]
    assert last.path == "/api/v2/search" and last.query["max_id"] == str(
        ((int(recorded("search.json")["statuses"][1]["id"]) >> 16) + 1) << 16
    )
