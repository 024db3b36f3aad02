"""Bluesky against a fake PDS: mapping, cursor paging, the session's life, follower counts, rate limits."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from monitor.engine.poll import poll_once
from monitor.sources.base import AuthError, RateLimited
from monitor.sources.bluesky import Bluesky
from tests.fakes import USER_AGENT, drain, make_source, search
from tests.fakes.bluesky import LOGIN, PROFILES, REFRESH, SEARCH, FakeBluesky, recorded
from tests.helpers.clock import Clock
from tests.helpers.engine import first_brand, make_engine

T0 = 1_795_500_000
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"
HANDLE_ENV, PASSWORD_ENV = "ACME_BSKY_HANDLE", "ACME_BSKY_PASSWORD"
ENVS = {"handle_env": HANDLE_ENV, "password_env": PASSWORD_ENV}


@pytest.fixture
def clock(fake_bluesky: FakeBluesky) -> Clock:
    """One clock for the source and the fake (token expiry is judged by both)."""
    shared = Clock(T0)
    fake_bluesky.clock = shared
    return shared


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch, fake_bluesky: FakeBluesky) -> None:
    for name in ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(HANDLE_ENV, fake_bluesky.handle)
    monkeypatch.setenv(PASSWORD_ENV, fake_bluesky.password)


def bluesky(session: aiohttp.ClientSession, fake: FakeBluesky, clock: Clock, **options: object) -> Bluesky:
    source: Bluesky = make_source(Bluesky, session, fake, clock or Clock(NOW), **{**ENVS, **options})
    return source


def searches(fake: FakeBluesky) -> list[dict[str, str]]:
    return [r.query for r in fake.paths(SEARCH)]


async def test_a_poll_maps_recorded_posts_with_follower_counts(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    clock.now = T0 + 86400  # later than every post here: a watermark never passes now (+ clock skew)
    fake_bluesky.posts = recorded()["posts"] + recorded("search_posts_next.json")["posts"]
    fake_bluesky.profiles = {p["did"]: p for p in recorded("get_profiles.json")["profiles"]}
    since = datetime(2026, 11, 24, tzinfo=UTC)
    mentions, cursor, pages = await drain(bluesky(session, fake_bluesky, clock, limit=3), "Acme Cloud", None, since)
    assert pages == 2
    by_rkey = {m.url.rsplit("/", 1)[1]: m for m in mentions}
    sam = by_rkey["3lbqzgmtpbc2a"]
    assert (
        sam.platform == "bluesky" and sam.id == "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbqzgmtpbc2a"
    )
    assert sam.text == "Acme Cloud is down again? Every deploy fails with a 502 & the console won't load."
    assert sam.title == "" and sam.author == "sam.bsky.social" and sam.author_followers == 5230 and sam.lang == "en"
    assert sam.url == "https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz/post/3lbqzgmtpbc2a"
    assert sam.created_at == datetime(2026, 11, 24, 14, 21, 7, 512000, tzinfo=UTC)
    assert (sam.likes, sam.replies, sam.reposts) == (57, 14, 31)  # quotes are posts of their own
    # createdAt ahead of indexedAt (a client clock): the post counts when it was indexed (sortAt).
    lee = by_rkey["3lbqzc4kx2k2b"]
    assert lee.created_at == datetime(2026, 11, 24, 14, 9, 30, 250000, tzinfo=UTC) and lee.author_followers == 312
    # No handle (handle.invalid) and no profile: the DID, reach unknown; no langs: None.
    moved = by_rkey["3lbqz7uqhek2c"]
    assert moved.author == "did:plc:q6gjnaw2blty4crticxkmujt" and moved.author_followers is None and moved.lang is None
    # Backdated (createdAt a day before it was indexed): Bluesky sorts it, and since filters it, at its
    # createdAt, so a sweep since the 24th never sees it. No client can; the report says so.
    assert "3lbqyxxxxxk2e" not in by_rkey and len(mentions) == 4
    first = fake_bluesky.paths(SEARCH)[0]
    assert first.headers["User-Agent"] == USER_AGENT and first.headers["Authorization"].startswith("Bearer ")
    assert first.query == {"q": "Acme Cloud", "sort": "latest", "limit": "3", "since": "2026-11-24T00:00:00.000Z"}
    assert searches(fake_bluesky)[1]["cursor"] == next(iter(fake_bluesky.tokens))  # sent back as it came
    assert json.loads(cursor)["mark"] == datetime(2026, 11, 24, 14, 21, 7, 512000, tzinfo=UTC).timestamp()


async def test_paging_by_cursor_then_only_what_is_new(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    clock.now = T0 + 2500  # just after every post here: a watermark never passes now (+ clock skew)
    for i in range(250):
        fake_bluesky.add_post(f"p{i:03d}", T0 + i * 10, f"acme cloud {i}")
    source = bluesky(session, fake_bluesky, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    assert pages == 3 and len({m.id for m in mentions}) == len(mentions) == 250
    assert max(Counter(fake_bluesky.served_uris()).values()) == 1
    assert [q.get("cursor") for q in searches(fake_bluesky)] == [None, *fake_bluesky.tokens]
    # Nothing new: one request, since the first sweep's start (later than the watermark) less the overlap.
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert searches(fake_bluesky)[-1]["since"] == datetime.fromtimestamp(T0 + 2500 - 300, UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")
    # New posts, and one the index took a while to show (made before the last sweep, within the overlap).
    fake_bluesky.add_post("new", T0 + 5000, "acme cloud new")
    fake_bluesky.add_post("late", T0 + 2400, "acme cloud indexed late")
    clock.now = T0 + 5100
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.text for m in fresh) == ["acme cloud indexed late", "acme cloud new"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert fake_bluesky.logins == 1 and fake_bluesky.refreshes == 0  # one login for every poll


async def test_the_session_is_refreshed_before_it_expires_not_renewed_by_login(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    fake_bluesky.add_post("a", T0, "acme cloud")
    source = bluesky(session, fake_bluesky, clock)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    (login,) = fake_bluesky.paths(LOGIN)
    assert json.loads(login.body) == {"identifier": fake_bluesky.handle, "password": fake_bluesky.password}
    clock.now = T0 + 7200 - 200  # within the margin before the access token's exp
    await drain(source, Q, cursor, SINCE)
    assert fake_bluesky.logins == 1 and fake_bluesky.refreshes == 1
    (refresh,) = fake_bluesky.paths(REFRESH)
    assert refresh.body == "" and refresh.headers["Authorization"].startswith("Bearer ")
    assert refresh.headers["Authorization"] != fake_bluesky.paths(SEARCH)[0].headers["Authorization"]


async def test_an_expired_token_is_refreshed_and_the_call_made_again(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    fake_bluesky.add_post("a", T0, "acme cloud")
    source = bluesky(session, fake_bluesky, clock)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    fake_bluesky.expire_access()  # revoked or expired early: HTTP 400 ExpiredToken
    fake_bluesky.add_post("b", T0 + 5, "acme cloud again")
    fresh, _, _ = await drain(source, Q, cursor, SINCE)
    assert [m.text for m in fresh] == ["acme cloud again"]
    assert (fake_bluesky.logins, fake_bluesky.refreshes) == (1, 1)
    # The recorded ExpiredToken answer, once: refreshed, and the call made again.
    fake_bluesky.fail_next(400, body=json.dumps(recorded("expired_token.json")))
    await drain(source, Q, cursor, SINCE)
    assert (fake_bluesky.logins, fake_bluesky.refreshes) == (1, 2)
    # The refresh token revoked too: one new login.
    fake_bluesky.expire_access()
    fake_bluesky.refresh_tokens.clear()
    await drain(source, Q, cursor, SINCE)
    assert (fake_bluesky.logins, fake_bluesky.refreshes) == (2, 2)


async def test_missing_credentials_name_the_variables_and_send_nothing(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(AuthError) as info:
        await search(bluesky(session, fake_bluesky, clock), Q, None, SINCE)
    assert HANDLE_ENV in str(info.value) and PASSWORD_ENV in str(info.value)
    assert fake_bluesky.requests == []


async def test_a_refused_login_names_the_variables_never_the_password(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wr0ng-app-passw0rd")
    source = bluesky(session, fake_bluesky, clock)
    with pytest.raises(AuthError) as info:
        await search(source, Q, None, SINCE)
    text = str(info.value)
    assert HANDLE_ENV in text and PASSWORD_ENV in text and "wr0ng" not in text and fake_bluesky.password not in text
    assert len(fake_bluesky.paths(LOGIN)) == 1 and fake_bluesky.paths(SEARCH) == []


async def test_an_account_refused_after_login_is_an_auth_error(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    fake_bluesky.fail_next(403, body=json.dumps({"error": "AccountTakedown", "message": "Account has been taken down"}))
    source = bluesky(session, fake_bluesky, clock)
    with pytest.raises(AuthError, match=HANDLE_ENV):
        await search(source, Q, None, SINCE)


async def test_follower_counts_come_25_a_call_and_are_cached(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    for i in range(60):
        did = f"did:plc:author{i:02d}"
        fake_bluesky.add_profile(did, f"author{i:02d}.bsky.social", 1000 + i)
        fake_bluesky.add_post(f"p{i}", T0 + i, f"acme cloud {i}", did=did)
        fake_bluesky.add_post(f"q{i}", T0 + 100 + i, f"acme cloud again {i}", did=did)
    source = bluesky(session, fake_bluesky, clock, followers_ttl=3600)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert len(mentions) == 120 and all(m.author_followers == 1000 + int(m.author[6:8]) for m in mentions)
    calls = fake_bluesky.profile_calls
    assert sorted(len(actors) for actors in calls) == [10, 25, 25] and len({a for c in calls for a in c}) == 60
    fake_bluesky.add_post("r", T0 + 500, "acme cloud once more", did="did:plc:author07")
    await drain(source, Q, cursor, SINCE)
    assert len(fake_bluesky.profile_calls) == 3  # cached
    clock.now = T0 + 3600
    fake_bluesky.add_post("s", T0 + 600, "acme cloud later", did="did:plc:author07")
    await drain(source, Q, cursor, SINCE)
    assert fake_bluesky.profile_calls[3:] == [["did:plc:author07"]]  # past the TTL: asked again


async def test_a_failing_profile_lookup_keeps_the_posts(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    source = bluesky(session, fake_bluesky, clock)
    await search(source, Q, None, SINCE)  # logs in; nothing found, nothing looked up
    fake_bluesky.requests.clear()
    post = fake_bluesky.add_post("a", T0, "acme cloud")
    fake_bluesky.fail_next(200, body=json.dumps({"posts": [post]}))
    fake_bluesky.fail_next(500, times=3, body=json.dumps(recorded("internal_error.json")))
    page = await search(source, Q, None, SINCE)
    assert [m.author_followers for m in page.mentions] == [None]
    assert [r.path for r in fake_bluesky.requests] == [SEARCH, PROFILES, PROFILES, PROFILES]


async def test_a_used_up_window_blocks_until_its_epoch_reset(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    source = bluesky(session, fake_bluesky, clock)
    await search(source, Q, None, SINCE)
    fake_bluesky.rate_headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                                 "RateLimit-Reset": str(T0 + 75), "RateLimit-Policy": "3000;w=300"}  # fmt: skip
    await search(source, Q, None, SINCE)
    sent = len(fake_bluesky.requests)
    with pytest.raises(RateLimited) as info:
        await search(source, Q, None, SINCE)
    assert info.value.retry_after == 75 and len(fake_bluesky.requests) == sent
    clock.now = T0 + 75
    fake_bluesky.rate_headers = {}
    await search(source, Q, None, SINCE)
    assert len(fake_bluesky.requests) == sent + 1


async def test_a_429_waits_and_sends_nothing_meanwhile(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    source = bluesky(session, fake_bluesky, clock)
    await search(source, Q, None, SINCE)
    sent = len(fake_bluesky.requests)
    fake_bluesky.fail_next(429, body=json.dumps(recorded("rate_limited.json")),
                           headers={"Retry-After": "40", "RateLimit-Remaining": "0",
                                    "RateLimit-Reset": str(T0 + 40)})  # fmt: skip
    with pytest.raises(RateLimited) as info:
        await search(source, Q, None, SINCE)
    assert info.value.retry_after == 40
    with pytest.raises(RateLimited):
        await search(source, Q, None, SINCE)
    assert len(fake_bluesky.requests) == sent + 1


async def test_malformed_posts_are_skipped_with_a_line_each_and_the_rest_kept(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    source = bluesky(session, fake_bluesky, clock)
    await search(source, Q, None, SINCE)  # logs in
    fake_bluesky.fail_next(200, body=json.dumps(recorded("malformed_posts.json")))
    with caplog.at_level(logging.INFO, logger="monitor.sources.bluesky"):
        page = await search(source, Q, None, SINCE)
    assert [m.url.rsplit("/", 1)[1] for m in page.mentions] == ["3lgood", "3lsparse"]
    sparse = page.mentions[1]
    assert sparse.author == "did:plc:4tq2pzw3kkmfhlzl7ao3ahd5" and sparse.likes == 0 and sparse.reposts == 0
    assert sparse.lang is None and sparse.created_at == datetime(2026, 11, 24, 14, 55, tzinfo=UTC)
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 6 and any("3lbadtime" in m for m in skipped) and any("not an object" in m for m in skipped)
    assert not page.more


async def test_the_empty_page_fixture_ends_the_sweep(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock
) -> None:
    source = bluesky(session, fake_bluesky, clock)
    fake_bluesky.fail_next(200, body=json.dumps(recorded("create_session.json")))
    fake_bluesky.fail_next(200, body=json.dumps(recorded("search_posts_empty.json")))
    page = await search(source, Q, None, SINCE)
    assert page.mentions == [] and not page.more
    assert json.loads(page.cursor) == {"v": 1, "mark": SINCE.timestamp(), "polled": T0, "seen": {}}


async def test_follower_counts_are_looked_up_only_for_posts_the_brand_filter_keeps(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, clock: Clock, tmp_path: Path
) -> None:
    clock.now = T0 + 3600
    for did, handle in (("did:plc:kim", "kim.bsky.social"), ("did:plc:coyote", "coyote.bsky.social")):
        fake_bluesky.add_profile(did, handle, 1200)
    fake_bluesky.add_post("a", T0, "Acme Cloud is down again", did="did:plc:kim")
    fake_bluesky.add_post(
        "b", T0 + 60, "acme anvils, delivered by rocket", did="did:plc:coyote"
    )  # fuzzy: not the brand
    engine = make_engine(tmp_path)
    try:
        await poll_once(bluesky(session, fake_bluesky, clock), first_brand(engine), "acme", engine, clock.now)
        stored = [(m.mention.author, m.mention.author_followers) for m in engine.store.iter_mentions()]
    finally:
        engine.store.close()
    assert stored == [("kim.bsky.social", 1200)]
    assert fake_bluesky.profile_calls == [["did:plc:kim"]]  # nothing paid for the post the filter drops
