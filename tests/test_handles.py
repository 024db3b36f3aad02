"""Brands' handles and hashtags (a DESIGN.md contract): whole-token, any case; a post that tags or replies to
one counts for the brand without its name; config and `monitor check` name malformed ones; the sources that
can search by them do (X's @ and # operators, Mastodon's tag timelines, Bluesky's mentions and tags)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.config import Brand
from monitor.engine.filters import BrandFilter
from monitor.engine.poll import poll_once
from monitor.errors import InvalidFiles
from monitor.loading import load_config
from monitor.mention import Mention
from monitor.sources import SOURCES
from monitor.sources.base import tag_queries
from monitor.textmatch import TagSet
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.x import FakeX
from tests.helpers.clock import Clock
from tests.helpers.engine import first_brand, make_engine
from tests.helpers.sources import BY_NAME, make

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_795_600_800.0  # 2026-11-25 10:00 UTC
BRAND = """[[brands]]
id = "acme"
name = "Acme Cloud"
queries = ['"acme cloud"']
handles = ["@AcmeCloud", "@AcmeCloudHelp", "@acmecloud.bsky.social"]
hashtags = ["#AcmeCloud", "#AcmeOutage"]
"""
ACME = Brand("acme", "Acme Cloud", ('"acme cloud"',), handles=("@AcmeCloud", "@AcmeCloudHelp"),
             hashtags=("#AcmeCloud",))  # fmt: skip


def post(text: str, author: str = "kim") -> Mention:
    return Mention(platform="x", id="1", text=text, created_at=datetime.fromtimestamp(NOW, UTC), author=author)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("@AcmeCloudHelp You charged us twice", True),  # a reply: the handle, no name
        ("third outage this month #acmecloud #outage", True),  # a hashtag alone, any case
        (".@ACMECLOUD is down again", True),
        ("(cc @AcmeCloudHelp)", True),
        ("#AcmeCloud's status page is down", True),
        ("thanks @AcmeCloudHelpers, fixed", False),  # a handle that starts with theirs is not theirs
        ("@AcmeCloudHelp_bot says hi", False),
        ("@AcmeCloudHelp.bsky.social is someone else", False),
        ("@AcmeCloud@mastodon.example is someone else too", False),
        ("mail support@AcmeCloudHelp today", False),
        ("#AcmeCloud2026 conference", False),
        ("Acme Cloud is down", True),  # the name, as before
        ("acme anvils", False),
    ],
)
def test_a_post_that_tags_a_handle_or_hashtag_counts_for_the_brand(text: str, counts: bool) -> None:
    assert BrandFilter.of(ACME).mentions_brand(post(text)) is counts


def test_the_brands_own_handles_are_its_own_accounts() -> None:
    own = post("Status update for #AcmeCloud customers", author="AcmeCloudHelp")
    brand_filter = BrandFilter.of(ACME)
    assert brand_filter.mentions_brand(own) and not brand_filter.keeps(own)


def test_tags_match_whole_tokens_whatever_the_script() -> None:
    tags = TagSet(["@kåre.bsky.social"], ["#Störung"])
    assert tags.search("@KÅRE.bsky.social hilfe") and tags.search("#störung bei Acme")
    assert not tags.search("#Störungen") and not TagSet() and not TagSet().search("#x")


def test_handles_and_hashtags_load_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BRAND)
    brand = load_config(path).brands[0]
    assert brand.handles == ("@AcmeCloud", "@AcmeCloudHelp", "@acmecloud.bsky.social")
    assert brand.hashtags == ("#AcmeCloud", "#AcmeOutage")


HANDLE_SHAPE = '"@AcmeCloud" (an @, then letters, digits, _ . -)'
HASHTAG_SHAPE = '"#AcmeCloud" (a #, then letters, digits or _)'
MALFORMED = """[[brands]]
id = "acme"
queries = ["acme"]
handles = ["AcmeCloud", "@Acme Cloud", "@acmecloud", "@AcmeCloud"]
hashtags = ["#acme-cloud", "AcmeCloud", "#2026"]
"""


def test_malformed_handles_and_hashtags_are_one_line_each_with_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MALFORMED)
    with pytest.raises(InvalidFiles) as info:
        load_config(path)
    handle, hashtag = f"{path}:4: brands[0].handles:", f"{path}:5: brands[0].hashtags:"
    assert [str(p) for p in info.value.problems] == [
        f"{handle} 'AcmeCloud' is not written like {HANDLE_SHAPE}",
        f"{handle} '@Acme Cloud' is not written like {HANDLE_SHAPE}",
        f"{handle} '@AcmeCloud' is listed twice",
        f"{hashtag} '#acme-cloud' is not written like {HASHTAG_SHAPE}",
        f"{hashtag} 'AcmeCloud' is not written like {HASHTAG_SHAPE}",
        f"{hashtag} '#2026' is not written like {HASHTAG_SHAPE}",
    ]


def test_monitor_check_names_malformed_ones(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    path = tmp_path / "config.toml"
    text = MALFORMED.replace('"AcmeCloud", "@Acme Cloud", "@acmecloud", "@AcmeCloud"', '"AcmeCloud"')
    path.write_text(text.replace('"#acme-cloud", "AcmeCloud", ', ""))
    command = [sys.executable, "-m", "monitor", "check", "--config", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:4: brands[0].handles: 'AcmeCloud' is not written like {HANDLE_SHAPE}",
        f"{path}:5: brands[0].hashtags: '#2026' is not written like {HASHTAG_SHAPE}",
    ]


def test_which_sources_search_by_handles_and_hashtags(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BRAND)
    brand = load_config(path).brands[0]
    searched = {}
    for name, cls in SOURCES.items():
        source = cls.__new__(cls)  # only what tag_queries reads
        source.tag = ""  # type: ignore[attr-defined]
        searched[name] = tag_queries(source, brand)
    assert searched == {
        "x": ("@AcmeCloud OR @AcmeCloudHelp OR #AcmeCloud OR #AcmeOutage",),
        "mastodon": ("#AcmeOutage",),  # the query "acme cloud" reads #acmecloud's timeline already
        "bluesky": ("@acmecloud.bsky.social", "#AcmeCloud", "#AcmeOutage"),
        **{n: () for n in SOURCES if n not in ("x", "mastodon", "bluesky")},
    }


async def poll(spec_name: str, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path) -> list[str]:  # fmt: skip
    """One poll of the brand's first query (and so its handle and hashtag searches): the texts stored."""
    clock = Clock(NOW)
    source = make(BY_NAME[spec_name], fake, fake.url, session, clock, monkeypatch)
    engine = make_engine(tmp_path, BRAND)
    try:
        await poll_once(source, first_brand(engine), '"acme cloud"', engine, clock.now)
        return sorted(m.mention.text for m in engine.store.iter_mentions())
    finally:
        engine.store.close()


async def test_x_searches_the_handles_and_hashtags_and_keeps_a_reply_without_the_name(
    fake_x: FakeX, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_x.reset_at = NOW + 900
    fake_x.add_post(NOW - 600, "@AcmeCloudHelp You charged us twice")
    fake_x.add_post(NOW - 500, "Acme Cloud is down")
    fake_x.add_post(NOW - 400, "thanks @AcmeCloudHelpers, fixed")  # X finds it: the brand filter drops it
    fake_x.add_post(NOW - 300, "We are on it #AcmeCloud", author="AcmeCloudHelp")  # the brand itself
    stored = await poll("x", fake_x, session, monkeypatch, tmp_path)
    assert stored == ["@AcmeCloudHelp You charged us twice", "Acme Cloud is down"]
    assert [r.query["query"] for r in fake_x.requests] == [
        '"acme cloud"',
        "@AcmeCloud OR @AcmeCloudHelp OR #AcmeCloud OR #AcmeOutage",
    ]


async def test_mastodon_reads_the_hashtags_timelines_and_keeps_a_post_with_the_hashtag_alone(
    fake_mastodon: FakeMastodon, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_mastodon.add_status(NOW - 600, "third time this week #AcmeCloud #outage")  # on #acmecloud
    fake_mastodon.add_status(NOW - 500, "is it just me? #AcmeOutage", tags=("acmeoutage",))
    fake_mastodon.add_status(NOW - 400, "#AcmeOutage2026 meetup", tags=("acmeoutage",))  # not the hashtag
    stored = await poll("mastodon", fake_mastodon, session, monkeypatch, tmp_path)
    assert stored == ["is it just me? #AcmeOutage", "third time this week #AcmeCloud #outage"]
    paths = [r.path for r in fake_mastodon.requests]
    assert paths == ["/api/v1/timelines/tag/acmecloud", "/api/v1/timelines/tag/AcmeOutage"]


async def test_bluesky_searches_mentions_of_its_handle_and_its_tags(
    fake_bluesky: FakeBluesky, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_bluesky.clock = Clock(NOW)
    fake_bluesky.add_post("a", NOW - 600, "@acmecloud.bsky.social every deploy fails")
    fake_bluesky.add_post("b", NOW - 500, "down again #AcmeOutage")
    stored = await poll("bluesky", fake_bluesky, session, monkeypatch, tmp_path)
    assert stored == ["@acmecloud.bsky.social every deploy fails", "down again #AcmeOutage"]
    searches = [r.query for r in fake_bluesky.requests if r.path.endswith("searchPosts")]
    assert [(q["q"], q.get("mentions"), q.get("tag")) for q in searches] == [
        ('"acme cloud"', None, None), ("acmecloud.bsky.social", "acmecloud.bsky.social", None),
        ("#AcmeCloud", None, "AcmeCloud"), ("#AcmeOutage", None, "AcmeOutage"),
    ]  # fmt: skip
