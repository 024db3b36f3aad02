"""One description per platform, so that every contract and every fault is tried on every source alike.

Each Spec knows its source class, the fixture of its fake, how to make its credentials valid, how to
add an item mentioning the query (and a poisoned one), how its pages are sized, which requests are its
searches and what else a sweep asks for, how far back its search reaches, its own refusal, answers
of the wrong shape, and which variable a credentials error must name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest

from monitor.config import SourceConfig
from monitor.sources import SOURCES
from monitor.sources.http import Http
from tests.fakes import USER_AGENT
from tests.helpers.clock import Clock

T0 = 1_795_500_000
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
QUERY = "acme cloud"
MAX_BODY = 512 * 1024
DAY = 86400.0
BIG = 2**63  # one past SQLite's largest integer
LONE = "\ud800"  # a lone surrogate: UTF-8 cannot encode it


@dataclass(frozen=True)
class Spec:
    name: str
    fixture: str
    add: Callable[[Any, int, float], None]  # (fake, i, at): an item whose text holds f"item{i}"
    poison: Callable[[Any, int, float], None]  # the same, with a count past 2^63 and a lone surrogate
    paths: tuple[str, ...]  # the search paths (the first is the one a poll asks first)
    page: tuple[str, int] | None  # the option sizing a page and the size tests use (None: no paging)
    throttle: Callable[[Any], None]  # script the platform's own rate-limit answer
    wrong_shapes: tuple[Any, ...]  # JSON answers of a shape the source must refuse (BadResponse)
    # Requests a fresh source makes besides its searches on a sweep of n pages (logins, lookups).
    overhead: Callable[[int], int] = lambda pages: 0
    window: float | None = None  # how far back the platform's search reaches (seconds); None: no limit
    env: dict[str, Callable[[Any], str]] = field(default_factory=dict)  # variable -> its valid value
    options: dict[str, Any] = field(default_factory=dict)
    auth_names: tuple[str, ...] = ()  # a credentials error must name one of these variables
    url_options: tuple[str, ...] = ()  # options that hold another base URL of the same fake

    @property
    def per_page(self) -> int:
        return self.page[1] if self.page else 0

    def searches(self, fake: Any) -> int:
        """How many search requests the fake has been sent (not logins or lookups)."""
        return sum(1 for r in fake.requests if r.path in self.paths)


def _mastodon_status(f: Any, i: int, at: float, text: str, **fields: Any) -> None:
    f.add_status(at, f"#AcmeCloud {text}", sequence=i, **fields)


SPECS = [
    Spec(
        "hackernews",
        "fake_hn",
        lambda f, i, at: f.add_story(f"{i}", int(at), f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_story(f"{i}", int(at), f"Acme Cloud item{i} {LONE} today", points=BIG),
        ("/api/v1/search_by_date",),
        ("hits_per_page", 5),
        lambda f: f.throttle(),
        ({}, [], {"hits": "none"}, {"hits": None}, {"message": "unexpected"}, ["hits"]),
    ),
    Spec(
        "reddit",
        "fake_reddit",
        lambda f, i, at: f.add_post(f"t3_i{i}", at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_post(f"t3_i{i}", at, f"Acme Cloud item{i} {LONE} today", score=BIG),
        ("/search.json", "/search"),
        ("limit", 5),
        lambda f: f.throttle(),
        ({}, [], {"data": {"children": "x"}}, {"data": {"children": None}}, {"kind": "Listing"}, {"error": 500}),
        url_options=("oauth_base_url",),
    ),
    Spec(
        "mastodon",
        "fake_mastodon",
        lambda f, i, at: _mastodon_status(f, i, at, f"Acme Cloud item{i} today"),
        lambda f, i, at: _mastodon_status(f, i, at, f"Acme Cloud item{i} {LONE} today", favourites_count=BIG),
        ("/api/v1/timelines/tag/acmecloud", "/api/v2/search"),
        ("limit", 5),
        lambda f: f.throttle(T0 + 300),
        ({}, {"error": "Record not found"}, {"statuses": []}, "text"),
        options={"token_env": "FAULTS_MASTODON_TOKEN"},
        auth_names=("FAULTS_MASTODON_TOKEN",),
    ),
    Spec(
        "bluesky",
        "fake_bluesky",
        lambda f, i, at: f.add_post(f"r{i}", at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_post(f"r{i}", at, f"Acme Cloud item{i} {LONE} today", likeCount=BIG),
        ("/xrpc/app.bsky.feed.searchPosts",),
        ("limit", 5),
        lambda f: f.throttle(),
        ({}, [], {"posts": "none"}, {"posts": None}, {"cursor": "5"}, {"error": "BadQueryString"}),
        overhead=lambda pages: 2,  # one login, one getProfiles (every item here has one author)
        env={"FAULTS_BSKY_HANDLE": lambda f: f.handle, "FAULTS_BSKY_PASSWORD": lambda f: f.password},
        options={"handle_env": "FAULTS_BSKY_HANDLE", "password_env": "FAULTS_BSKY_PASSWORD"},
        auth_names=("FAULTS_BSKY_HANDLE", "FAULTS_BSKY_PASSWORD"),
    ),
    Spec(
        "youtube",
        "fake_youtube",
        lambda f, i, at: f.add_video(f"vid{i:08d}", at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_video(
            f"vid{i:08d}",
            at,
            f"Acme Cloud item{i} {LONE} today",
            statistics={"viewCount": str(BIG), "likeCount": str(BIG), "commentCount": "1"},
        ),
        ("/youtube/v3/search",),
        ("max_results", 5),
        lambda f: f.throttle(),
        ({}, [], {"items": "none"}, {"kind": "youtube#searchListResponse"}, {"error": {}}),
        overhead=lambda pages: 2 * pages,  # videos.list and channels.list for each page's new videos
        env={"FAULTS_YT_KEY": lambda f: f.key},
        options={"key_env": "FAULTS_YT_KEY"},
        auth_names=("FAULTS_YT_KEY",),
    ),
    Spec(
        "x",
        "fake_x",
        lambda f, i, at: f.add_post(at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_post(
            at,
            f"Acme Cloud item{i} {LONE} today",
            public_metrics={
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": BIG,
                "quote_count": 0,
                "impression_count": BIG,
            },
        ),
        ("/2/tweets/search/recent",),
        ("max_results", 10),
        lambda f: f.throttle(),
        ({}, [], {"data": []}, {"meta": {}, "data": "none"}, {"meta": {}, "includes": []}),
        window=7 * DAY,
        env={"FAULTS_X_TOKEN": lambda f: f.token},
        options={"token_env": "FAULTS_X_TOKEN"},
        auth_names=("FAULTS_X_TOKEN",),
    ),
    Spec(
        "newsapi",
        "fake_newsapi",
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} {LONE} today"),
        ("/v2/everything",),
        ("page_size", 5),
        lambda f: f.throttle(),
        (
            {},
            [],
            {"status": "ok"},
            {"status": "ok", "articles": None},
            {"articles": []},
            {"status": "error", "code": "x"},
        ),
        window=30 * DAY,
        env={"FAULTS_NEWS_KEY": lambda f: f.api_key},
        options={"key_env": "FAULTS_NEWS_KEY", "delay": 0},
        auth_names=("FAULTS_NEWS_KEY",),
    ),
    Spec(
        "gdelt",
        "fake_gdelt",
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} {LONE} today"),
        ("/api/v2/doc/doc",),
        ("max_records", 5),
        lambda f: f.throttle(),
        ([], {"articles": "none"}, "Invalid query.", "", "<html><body>Service busy</body></html>", 42),
        window=90 * DAY,
    ),
    Spec(
        "rss",
        "fake_rss",
        lambda f, i, at: f.add(f"g{i}", f"Acme Cloud item{i} today", at),
        lambda f, i, at: f.add(f"g{i}", f"Acme Cloud item{i} today", at, raw=" &#xD800;&#0;"),
        ("/rss/search",),
        None,
        lambda f: f.throttle(),
        ("<html><body>Not a feed</body></html>", {"items": []}),
    ),
    Spec(
        "stackexchange",
        "fake_stackexchange",
        lambda f, i, at: f.add_question(1000 + i, int(at), f"Acme Cloud item{i} today"),
        lambda f, i, at: f.add_question(1000 + i, int(at), f"Acme Cloud item{i} {LONE} today", score=BIG),
        ("/2.3/search/excerpts",),
        ("page_size", 5),
        lambda f: f.throttle(),
        ({}, [], {"items": "none"}, {"items": None}, {"has_more": False}),
        options={"key_env": "FAULTS_SE_KEY"},
        auth_names=("FAULTS_SE_KEY",),
    ),
]
BY_NAME = {spec.name: spec for spec in SPECS}
assert set(BY_NAME) == set(SOURCES), "every source has a spec"


def make(spec: Spec, fake: Any, base_url: str, session: aiohttp.ClientSession, clock: Clock,
         monkeypatch: pytest.MonkeyPatch, timeout: float = 5.0, **options: Any) -> Any:  # fmt: skip
    """The source on base_url with valid credentials, an Http whose waits move the clock, a small size cap."""
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value(fake))
    if hasattr(fake, "clock"):
        fake.clock = clock
    cls = SOURCES[spec.name]
    options = {**cls.options, **spec.options, **{k: base_url for k in spec.url_options}, **options}
    config = SourceConfig(name=spec.name, enabled=True, interval=timedelta(minutes=5), base_url=base_url,
                          options=MappingProxyType(options))  # fmt: skip
    http = Http(session, USER_AGENT, timeout=timeout, sleep=clock.sleep, clock=clock, max_body=MAX_BODY)
    return cls(config, http)  # type: ignore[call-arg]


def texts(mentions: list[Any]) -> set[str]:
    """The item markers ("item3") in the mentions' titles and texts."""
    found = set()
    for m in mentions:
        words = f"{m.title} {m.text}".replace("#", " ").split()
        found |= {w for w in words if w.startswith("item")}
    return found


@pytest.fixture(params=[s.name for s in SPECS])
def spec(request: pytest.FixtureRequest) -> Spec:
    """Each platform in turn (parametrize "spec" indirectly with names for a subset)."""
    return BY_NAME[request.param]


@pytest.fixture
def fake(spec: Spec, request: pytest.FixtureRequest) -> Any:
    """The running fake of the spec's platform."""
    return request.getfixturevalue(spec.fixture)
