"""One description per platform, so that every fault is tried on every source the same way.

Each Spec knows its source class, the fixture of its fake, how to make its credentials valid, how to
add an item mentioning the query, and which variable a credentials error must name.
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


@dataclass(frozen=True)
class Spec:
    name: str
    fixture: str
    add: Callable[[Any, int, float], None]  # (fake, i, at): an item whose text holds f"item{i}"
    env: dict[str, Callable[[Any], str]] = field(default_factory=dict)  # variable -> its valid value
    options: dict[str, Any] = field(default_factory=dict)
    auth_names: tuple[str, ...] = ()  # a credentials error must name one of these variables
    url_options: tuple[str, ...] = ()  # options that hold another base URL of the same fake


SPECS = [
    Spec("hackernews", "fake_hn", lambda f, i, at: f.add_story(f"{i}", int(at), f"Acme Cloud item{i} today")),
    Spec(
        "reddit",
        "fake_reddit",
        lambda f, i, at: f.add_post(f"t3_i{i}", at, f"Acme Cloud item{i} today"),
        url_options=("oauth_base_url",),
    ),
    Spec(
        "mastodon",
        "fake_mastodon",
        lambda f, i, at: f.add_status(at, f"#AcmeCloud Acme Cloud item{i} today"),
        options={"token_env": "FAULTS_MASTODON_TOKEN"},
        auth_names=("FAULTS_MASTODON_TOKEN",),
    ),
    Spec(
        "bluesky",
        "fake_bluesky",
        lambda f, i, at: f.add_post(f"r{i}", at, f"Acme Cloud item{i} today"),
        env={"FAULTS_BSKY_HANDLE": lambda f: f.handle, "FAULTS_BSKY_PASSWORD": lambda f: f.password},
        options={"handle_env": "FAULTS_BSKY_HANDLE", "password_env": "FAULTS_BSKY_PASSWORD"},
        auth_names=("FAULTS_BSKY_HANDLE", "FAULTS_BSKY_PASSWORD"),
    ),
    Spec(
        "youtube",
        "fake_youtube",
        lambda f, i, at: f.add_video(f"vid{i:08d}", at, f"Acme Cloud item{i} today"),
        env={"FAULTS_YT_KEY": lambda f: f.key},
        options={"key_env": "FAULTS_YT_KEY"},
        auth_names=("FAULTS_YT_KEY",),
    ),
    Spec(
        "x",
        "fake_x",
        lambda f, i, at: f.add_post(at, f"Acme Cloud item{i} today"),
        env={"FAULTS_X_TOKEN": lambda f: f.token},
        options={"token_env": "FAULTS_X_TOKEN"},
        auth_names=("FAULTS_X_TOKEN",),
    ),
    Spec(
        "newsapi",
        "fake_newsapi",
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} today"),
        env={"FAULTS_NEWS_KEY": lambda f: f.api_key},
        options={"key_env": "FAULTS_NEWS_KEY"},
        auth_names=("FAULTS_NEWS_KEY",),
    ),
    Spec(
        "gdelt",
        "fake_gdelt",
        lambda f, i, at: f.add_article(f"https://news.example/{i}", at, f"Acme Cloud item{i} today"),
    ),
    Spec("rss", "fake_rss", lambda f, i, at: f.add(f"g{i}", f"Acme Cloud item{i} today", at)),
    Spec(
        "stackexchange",
        "fake_stackexchange",
        lambda f, i, at: f.add_question(1000 + i, int(at), f"Acme Cloud item{i} today"),
        options={"key_env": "FAULTS_SE_KEY"},
        auth_names=("FAULTS_SE_KEY",),
    ),
]
BY_NAME = {spec.name: spec for spec in SPECS}
assert set(BY_NAME) == set(SOURCES), "every source has a spec"


def make(spec: Spec, fake: Any, base_url: str, session: aiohttp.ClientSession, clock: Clock,
         monkeypatch: pytest.MonkeyPatch, timeout: float = 0.5) -> Any:  # fmt: skip
    """The source on base_url with valid credentials, an Http whose waits move the clock, a small size cap."""
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value(fake))
    if hasattr(fake, "clock"):
        fake.clock = clock
    cls = SOURCES[spec.name]

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    options = {**cls.options, **spec.options, **{k: base_url for k in spec.url_options}}
    config = SourceConfig(name=spec.name, enabled=True, interval=timedelta(minutes=5), base_url=base_url,
                          options=MappingProxyType(options))  # fmt: skip
    http = Http(session, USER_AGENT, timeout=timeout, sleep=sleep, clock=clock, max_body=MAX_BODY)
    return cls(config, http)  # type: ignore[call-arg]


def texts(mentions: list[Any]) -> set[str]:
    """The item markers ("item3") in the mentions' titles and texts."""
    found = set()
    for m in mentions:
        words = f"{m.title} {m.text}".replace("#", " ").split()
        found |= {w for w in words if w.startswith("item")}
    return found
