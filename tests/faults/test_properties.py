"""Bad input from the internet and from users, generated: platform parsers, the Slack escaper and
renderer, the draft filler, durations, and rule and config files fuzzed from the shipped ones."""

from __future__ import annotations

import copy
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.alerts.drafts import LIMITS, fill, fit, make_drafts
from monitor.durations import format_duration, parse_duration
from monitor.errors import InvalidFiles
from monitor.loading import load_config
from monitor.mention import Mention, ScoredMention
from monitor.rules import load_rules
from monitor.rules.topics import PLACEHOLDERS, load_topics
from monitor.slack.render import render_blocks
from monitor.sources import bluesky, gdelt, hackernews, mastodon, newsapi, reddit, rss, stackexchange, x, youtube
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.gdelt import FakeGdelt
from tests.fakes.hackernews import FakeHackerNews
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.newsapi import FakeNewsApi
from tests.fakes.reddit import FakeReddit
from tests.fakes.stackexchange import FakeStackExchange
from tests.fakes.x import FakeX
from tests.faults.conftest import ROOT
from tests.helpers.events import event

T0 = 1_795_500_000
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def valid_items() -> dict[str, tuple[Any, Any]]:
    """One valid item per parser, as each platform sends it, and the parser called on it."""
    x_fake = FakeX()
    post = x_fake.add_post(T0, "Acme Cloud is down")
    users = {u["id"]: u for u in x_fake.users.values()}
    snippet = {"publishedAt": "2026-11-24T10:00:00Z", "channelId": "UCacme", "title": "Acme &amp; down",
               "description": "it is down", "channelTitle": "Chan", "liveBroadcastContent": "none"}  # fmt: skip
    video = {
        "kind": "youtube#searchResult",
        "id": {"kind": "youtube#video", "videoId": "vid00000001"},
        "snippet": snippet,
    }
    return {
        "hackernews": (FakeHackerNews().add_hit("1", T0, "Acme <i>down</i>"), hackernews.parse_hit),
        "reddit": ({"kind": "t3", "data": FakeReddit().add_post("t3_a", T0, "Acme down")}, reddit.parse_post),
        "mastodon": (FakeMastodon().add_status(T0, "Acme down"), lambda i: mastodon.parse_status(i, "m.example")),
        "bluesky": (FakeBluesky().add_post("r1", T0, "Acme down"), bluesky.parse_post),
        "youtube": (video, youtube.parse_result),
        "x": (post, lambda i: x.parse_post(i, users)),
        "newsapi": (
            FakeNewsApi().add_article("https://n.example/a", T0, "Acme down"),
            lambda i: newsapi.parse_article(i, "en"),
        ),
        "gdelt": (FakeGdelt().add_article("https://n.example/a", T0, "Acme down"), gdelt.parse_article),
        "stackexchange": (
            FakeStackExchange().add_question(1, T0, "Acme down"),
            lambda i: stackexchange.parse_item(i, "stackoverflow.com"),
        ),
    }


VALID = valid_items()


def check_parsed(result: Any) -> None:
    """A parser's answer: None, or a Mention (possibly with an extra) that is whole."""
    if result is None:
        return
    mention = result[0] if isinstance(result, tuple) else result
    assert isinstance(mention, Mention)
    assert isinstance(mention.id, str) and mention.id
    assert isinstance(mention.text, str) and isinstance(mention.title or "", str)
    assert mention.created_at.tzinfo is not None
    assert mention.likes is None or type(mention.likes) is int  # a Reddit score may be below zero
    for count in (mention.replies, mention.reposts):
        assert count is None or (type(count) is int and count >= 0)
    assert mention.author_followers is None or isinstance(mention.author_followers, int)
    json.dumps([mention.id, mention.text, mention.title, mention.author, mention.url])  # storable


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON value."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


def mutate(item: Any, where: tuple[Any, ...], value: Any, delete: bool) -> Any:
    item = copy.deepcopy(item)
    node = item
    for key in where[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return item


@pytest.mark.parametrize("platform", sorted(VALID))
@FUZZ
@given(data=st.data())
def test_a_parser_never_raises_on_a_damaged_item(platform: str, data: st.DataObject) -> None:
    item, parse = VALID[platform]
    check_parsed(parse(item))  # the valid one parses
    assert parse(item) is not None
    damaged = item
    for _ in range(data.draw(st.integers(1, 3))):
        where = paths(damaged)
        if not where:
            break
        spot = data.draw(st.sampled_from(where))
        damaged = mutate(damaged, spot, data.draw(json_values), data.draw(st.booleans()))
    check_parsed(parse(damaged))


EDGES = [None, True, -1, 0, 2**63, -(2**63), 1e308, float("inf"), float("-inf"), float("nan"), "", "1e999", "-1",
         "9" * 40, "2026-13-45T99:99:99Z", "\x00", [], {}, [None], {"": None}]  # fmt: skip


@pytest.mark.parametrize("platform", sorted(VALID))
def test_a_parser_never_raises_on_any_edge_value_anywhere(platform: str) -> None:
    item, parse = VALID[platform]
    for where in paths(item):
        for value in EDGES:
            for delete in (False, True):
                try:
                    check_parsed(parse(mutate(item, where, value, delete)))
                except Exception as exc:
                    raise AssertionError(f"{platform}: {where} = {value!r} (delete={delete}): {exc!r}") from exc


@pytest.mark.parametrize("platform", sorted(VALID))
@FUZZ
@given(junk=json_values)
def test_a_parser_never_raises_on_any_json(platform: str, junk: Any) -> None:
    check_parsed(VALID[platform][1](junk))


xml_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)


@FUZZ
@given(title=xml_text, description=xml_text, date=xml_text, link=xml_text, guid=xml_text)
def test_the_feed_parser_never_raises_on_any_entry(title: str, description: str, date: str, link: str,
                                                    guid: str) -> None:  # fmt: skip
    from xml.sax.saxutils import escape

    body = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>{escape(title)}</title>"
            f"<link>{escape(link)}</link><guid>{escape(guid)}</guid><pubDate>{escape(date)}</pubDate>"
            f"<description>{escape(description)}</description></item></channel></rss>")  # fmt: skip
    feed = feedparser.parse(body.encode())
    for entry in feed.entries:
        result = rss.parse_entry(entry, feed.feed, float(T0))
        if not isinstance(result, str):
            check_parsed(result)
            assert result.url is None or not result.url.lower().startswith(("javascript:", "data:"))


LIVE = re.compile(r"<[!@#]|@(channel|here|everyone)\b", re.IGNORECASE)
LINK = re.compile(r"<([^<>|]*)(?:\|[^<>]*)?>")
PIECES = [*"<>&@!#|:/ hereCUchannl*_~`\n\u202e\x1b[", "<!channel>", "<!here>", "<@U123>", "<#C123|x>",
          "<https://evil.example|click>", "@here", "&lt;", "```"]  # fmt: skip
hostile = st.lists(st.sampled_from(PIECES) | st.text(), max_size=40).map("".join)


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn text object in blocks (plain_text is never parsed by Slack: no ping or link there)."""
    if isinstance(node, list):
        return [t for child in node for t in mrkdwn_texts(child)]
    if not isinstance(node, dict):
        return []
    own = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
    return own + [t for child in node.values() for t in mrkdwn_texts(child)]


@FUZZ
@given(
    text=hostile,
    title=hostile,
    author=hostile,
    term=hostile,
    draft=hostile,
    brand=hostile,
    url=hostile
    | st.sampled_from(
        [
            "javascript:alert(1)",
            "https://ok.example/a|b>c<!here>",
            "https://ok.example/",
            "data:text/html,x",
            "https://a.example/<@U1>",
            "http://x.example/ a",
        ]
    ),
)
def test_no_internet_text_makes_a_live_ping_or_link(text: str, title: str, author: str, term: str, draft: str,
                                                     brand: str, url: str) -> None:  # fmt: skip
    # (Rule names and severities come from validated rule files: [a-z0-9_-] only.)
    top = [{"platform": "reddit", "id": "t3_a", "author": author, "author_followers": 10, "text": text,
            "title": title, "url": url, "compound": -0.5, "similar": 0}]  # fmt: skip
    drafts = {"topic": "outage", "holding": draft, "replies": [{"platform": "x", "mention": "t3_a", "text": draft}]}
    for kind in ("opened", "updated", "resolved"):
        ev = event(kind, top=top, terms=[term], drafts=drafts, brand_name=brand, summary=text)
        fallback, blocks = render_blocks(ev)
        texts = mrkdwn_texts(blocks)
        assert texts
        for block_text in [fallback, *texts]:  # the fallback text is mrkdwn too (notifications)
            assert not LIVE.search(block_text), block_text
            for target in LINK.findall(block_text):  # the only links: ours, to safe http(s) URLs
                assert re.match(r"https?://[^\s<>|]+$", target), block_text


placeholder = st.sampled_from([f"{{{p}}}" for p in PLACEHOLDERS])
plain = st.text(st.characters(blacklist_characters="{}", blacklist_categories=["Cs"]), max_size=40)
template = st.lists(plain | placeholder, max_size=8).map("".join)


@FUZZ
@given(template=template, values=st.dictionaries(st.sampled_from(PLACEHOLDERS), plain))
def test_the_draft_filler_leaves_no_placeholder(template: str, values: dict[str, str]) -> None:
    filled = fill(template, values)
    assert not any(p in filled for p in (f"{{{p}}}" for p in PLACEHOLDERS))
    assert "{" not in filled and "}" not in filled


@FUZZ
@given(text=st.text(max_size=3000), platform=st.sampled_from([*LIMITS, "newsapi", "rss"]))
def test_a_draft_fits_its_platform(text: str, platform: str) -> None:
    fitted = fit(text, platform)
    assert len(fitted) <= LIMITS.get(platform, 1000)
    assert fitted == text or fitted.endswith("…")


@FUZZ
@given(author=st.text(max_size=400), brand=st.text(max_size=400), platform=st.sampled_from(["x", "bluesky",
       "mastodon", "reddit"]))  # fmt: skip
def test_every_reply_draft_fits_whatever_the_names(author: str, brand: str, platform: str) -> None:
    topics = load_topics(ROOT / "rules")
    mention = Mention(platform=platform, id="1", text="down", created_at=datetime.fromtimestamp(T0, UTC),
                      author=author)  # fmt: skip
    for topic in topics.topics:
        drafts = make_drafts(topic, brand, "https://status.example", [ScoredMention(mention, "acme", -0.5, "negative")],
                             {})  # fmt: skip
        (reply,) = drafts["replies"]  # type: ignore[misc]
        assert len(reply["text"]) <= LIMITS[platform]


@FUZZ
@given(seconds=st.integers(0, 10**9))
def test_a_duration_round_trips(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


@FUZZ
@given(text=st.text(max_size=20) | st.from_regex(r"\A(\d{1,30}[smhdwy ]){1,4}\Z"))
def test_a_duration_is_read_or_refused_in_one_line(text: str) -> None:
    try:
        delta = parse_duration(text)
    except ValueError as exc:
        assert "\n" not in str(exc) and "expected a duration" in str(exc) and repr(text) in str(exc)
    except OverflowError:
        raise AssertionError(f"{text!r}: overflow escaped") from None
    else:
        assert delta >= timedelta(0)


def fuzzed(lines: list[str], data: st.DataObject) -> str:
    """A file made from valid lines by deleting, duplicating, cutting or replacing values."""
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 3))):
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["delete", "duplicate", "cut", "value", "garbage"]))
        if how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]) - 1)))]
        elif how == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            value = data.draw(st.sampled_from(['"5m"', '"soon"', "-1", "0", "1e400", "true", "[]", '["*"]', "{}",
                                               '"\\u0000"', "99999999999999999999", '"x"', "3.5", '""']))  # fmt: skip
            lines[i] = f"{key}= {value}"
        else:
            lines[i] = data.draw(st.text(st.characters(blacklist_categories=["Cs"]), max_size=20))
    return "\n".join(lines) + "\n"


RULE_FILES = sorted(p for p in (ROOT / "rules").glob("*.toml") if p.name != "topics.toml")


@pytest.mark.parametrize("source", RULE_FILES, ids=lambda p: p.name)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_fuzzed_rule_file_loads_or_gives_one_line_per_problem(source: Path, data: st.DataObject,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / source.name
    path.write_text(fuzzed(source.read_text().splitlines(), data))
    try:
        load_rules(folder, ["python"], ["hackernews", "reddit"])
    except InvalidFiles as exc:
        for problem in exc.problems:
            assert "\n" not in str(problem) and str(problem).startswith(str(path)), str(problem)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_fuzzed_config_loads_or_gives_one_line_per_problem(data: st.DataObject, tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / "config.toml"
    text = (ROOT / "config.toml").read_text().replace('rules = "rules"', f'rules = "{ROOT / "rules"}"')
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    path.write_text(fuzzed(lines, data))
    try:
        load_config(path)
    except InvalidFiles as exc:
        for problem in exc.problems:
            assert "\n" not in str(problem) and str(problem).startswith(str(path)), str(problem)


def test_the_strategies_reach_the_parsers() -> None:
    # Guard against a vacuous fuzz: the valid items really parse into mentions of their platform.
    for platform, (item, parse) in VALID.items():
        result = parse(item)
        mention = result[0] if isinstance(result, tuple) else result
        assert isinstance(mention, Mention) and mention.platform == platform
