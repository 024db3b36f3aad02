"""Copies of one story or link across sites and sources: stored, linked to the first, counted once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.engine.core import Engine
from monitor.loading import load_all
from monitor.mention import Mention
from monitor.sentiment import Scorer
from monitor.store import Store
from monitor.store.copies import canonical_url, normalised_title
from monitor.store.schema import MIGRATIONS
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.reddit import FakeReddit
from tests.fakes.slack import FakeSlack
from tests.helpers.daemon import T0, write_config
from tests.helpers.database import database_at

HEADLINE = "Acme Cloud outage takes down thousands of online shops"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.example.com/tech/acme-outage/?utm_source=twitter&utm_medium=social",
         "http://example.com/tech/acme-outage"),
        ("https://m.example.com/tech/acme-outage/amp?fbclid=abc#comments", "https://example.com/tech/acme-outage"),
        ("https://example.com:443/a?b=2&a=1&gclid=x", "https://example.com/a?a=1&b=2"),
    ],
)  # fmt: skip
def test_canonical_url_drops_what_varies_between_shares(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b) != ""


def test_canonical_url_keeps_what_names_the_page() -> None:
    assert canonical_url("https://example.com/story?id=1") != canonical_url("https://example.com/story?id=2")
    assert canonical_url("https://www.youtube.com/watch?v=abc&feature=share") == "youtube.com/watch?v=abc"
    assert canonical_url("mailto:x@example.com") == canonical_url("not a url") == ""


def test_normalised_title() -> None:
    assert normalised_title(f"{HEADLINE} - The Verge") == normalised_title(f"{HEADLINE.upper()}!") != ""
    assert normalised_title(f"{HEADLINE} | Reuters") == normalised_title(HEADLINE)
    assert normalised_title("Café Acme: what’s next for the cloud") == "cafe acme what s next for the cloud"
    assert normalised_title("Acme Cloud is down") == ""  # too short to tell stories apart


@pytest.fixture
def engine(tmp_path: Path, fake_hn: FakeHackerNews, fake_reddit: FakeReddit, fake_slack: FakeSlack) -> Engine:
    config, rules = load_all(str(write_config(tmp_path, fake_hn.url, fake_reddit.url, fake_slack.url)))
    rules = [r for r in rules if r.name == "negative-spike"]
    return Engine(config, rules, Store.open(":memory:"), Scorer.of(config))


def at(minutes: float) -> datetime:
    return datetime.fromtimestamp(T0 + minutes * 60, UTC)


def counted(engine: Engine) -> int:
    return engine.counts[("negative-spike", "acme")].window(T0 - 86400, T0 + 86400)


def test_syndicated_story_counts_once(engine: Engine) -> None:
    story = Mention("gdelt", "https://news.example.com/acme-outage", "", at(0), title=HEADLINE,
                    url="https://news.example.com/acme-outage")  # fmt: skip
    engine.ingest("acme", [story], T0)
    copies = [
        # the same article found by another source, with tracking parameters
        Mention("newsapi", "https://news.example.com/acme-outage?utm_source=rss", "Acme Cloud outage, awful.",
                at(5), title="Outage at Acme Cloud", url="https://www.news.example.com/acme-outage/?utm_source=rss"),
        # syndicated on other sites: the same headline, the publisher after a dash
        *(Mention("rss", f"guid-{i}", "", at(10 + i), title=f"{HEADLINE} - Paper {i}", url=f"https://p{i}.example/x")
          for i in range(5)),
        # shared on Reddit and Hacker News under the headline
        Mention("reddit", "t3_a", "", at(20), title=HEADLINE, url="https://www.reddit.com/r/x/comments/a/"),
    ]  # fmt: skip
    stored = engine.ingest("acme", copies, T0 + 1800)
    assert all(s.copy_of == "gdelt:https://news.example.com/acme-outage" for s in stored)
    hn = Mention("hackernews", "99", "", at(30), title=HEADLINE, url="https://news.ycombinator.com/item?id=99")
    assert engine.ingest("acme", [hn], T0 + 1900)[0].copy_of == "gdelt:https://news.example.com/acme-outage"
    assert counted(engine) == 1
    assert engine.store.count_mentions() == 9
    assert len(engine.store.copies_of("acme", "gdelt", "https://news.example.com/acme-outage")) == 8
    # reads for rules, alerts and history leave the copies out; a restart counts the same
    assert len(engine.store.mentions_between(T0 - 60, T0 + 3600, "acme")) == 1
    assert len(engine.store.mentions_between(T0 - 60, T0 + 3600, "acme", copies=True)) == 9
    engine.load_history(T0 + 3600)
    assert counted(engine) == 1


def test_what_is_not_a_copy(engine: Engine) -> None:
    asking = "Is Acme Cloud down right now for anyone else"
    mentions = [
        # people asking the same thing on one platform are each a voice
        Mention("reddit", "t3_1", "", at(0), title=asking, url="https://www.reddit.com/r/a/comments/1/"),
        Mention("reddit", "t3_2", "", at(1), title=asking, url="https://www.reddit.com/r/b/comments/2/"),
        # the same words in a body are not a key
        Mention("hackernews", "1", "Acme Cloud is down, this is terrible", at(2)),
        Mention("hackernews", "2", "Acme Cloud is down, this is terrible", at(3)),
    ]
    assert [s.copy_of for s in engine.ingest("acme", mentions, T0 + 600)] == [None] * 4
    # the same headline a week later is a new story
    later = [Mention("gdelt", "g1", "", at(0), title=HEADLINE, url="https://a.example/1"),
             Mention("gdelt", "g2", "", at(60 * 24 * 7), title=HEADLINE, url="https://b.example/2")]  # fmt: skip
    assert [s.copy_of for s in engine.ingest("acme", later, T0 + 86400 * 8)] == [None, None]
    # a copy within one batch links to the earliest, whatever the order the source gave
    batch = [Mention("newsapi", "n2", "", at(9), title=f"{HEADLINE} now", url="https://c.example/2"),
             Mention("newsapi", "n1", "", at(8), title=f"{HEADLINE} now", url="https://c.example/1")]  # fmt: skip
    assert [s.copy_of for s in engine.ingest("acme", batch, T0 + 900)] == ["newsapi:n1", None]


def test_migration_adds_the_grouping_columns_to_an_existing_database(tmp_path: Path) -> None:
    path = database_at(tmp_path / "old.db", 4)  # a database from before grouping: the first four migrations
    store = Store.open(path)
    assert store.schema_version == len(MIGRATIONS) >= 5
    columns = {row[1] for row in store.db.execute("PRAGMA table_info(mentions)")}
    assert {"url_key", "title_key", "copy_of"} <= columns
    store.close()
