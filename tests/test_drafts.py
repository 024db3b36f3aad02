"""Draft topics and templates: picking, filling, platform limits, validation of topics.toml."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts.drafts import LIMITS, fill, fit, make_drafts
from monitor.errors import InvalidFiles
from monitor.mention import Mention, ScoredMention
from monitor.rules.topics import PLACEHOLDERS, load_topics

ROOT = Path(__file__).resolve().parent.parent
TOPICS = load_topics(ROOT / "rules")


def scored(text: str, platform: str = "x", author: str = "jane") -> ScoredMention:
    return ScoredMention(Mention(platform, text[:8], text, datetime(2026, 11, 24, tzinfo=UTC), author=author),
                         "acme", -0.5, "negative")  # fmt: skip


def test_shipped_topics_file_is_the_built_in_one() -> None:
    assert (ROOT / "rules" / "topics.toml").read_text() == (ROOT / "monitor" / "rules" / "topics.toml").read_text()
    names = {t.name for t in TOPICS.topics}
    assert names == {"outage", "billing", "security", "support", "shipping", "quality"}
    assert load_topics(Path("/nonexistent")).general.reply == TOPICS.general.reply


@pytest.mark.parametrize(
    ("texts", "topic"),
    [
        (["Acme is down again", "acme outage, 502 everywhere", "I was charged twice by Acme"], "outage"),
        (["Acme charged me twice", "refund please acme"], "billing"),
        (["my Acme parcel never arrived", "acme delivery is late again"], "shipping"),
        (["Acme got hacked? data leak"], "security"),
        (["I just don't like Acme"], "general"),
    ],
)
def test_topic_is_picked_from_the_mentions(texts: list[str], topic: str) -> None:
    assert TOPICS.pick([scored(t) for t in texts]).name == topic


def test_drafts_fill_from_config_and_mention_within_limits() -> None:
    outage = TOPICS.pick([scored("Acme is down")])
    top = [
        scored("Acme is down", "x", "jane"),
        scored("Acme down?", "reddit", "bob"),
        scored("down", "bluesky", "a" * 400),
    ]
    drafts = make_drafts(outage, "Acme Cloud", "https://status.acme.example", top, {})
    assert drafts["topic"] == "outage"
    assert "https://status.acme.example" in str(drafts["holding"])
    replies = drafts["replies"]
    assert isinstance(replies, list)
    assert replies[0]["text"].startswith("Hi @jane, sorry about this: we know Acme Cloud is having problems")
    assert replies[1]["text"].startswith("Hi bob,")
    assert len(replies[2]["text"]) <= LIMITS["bluesky"] and replies[2]["text"].endswith("…")
    without = make_drafts(outage, "Acme Cloud", "", top[:1], {"reply": "Hi {author}. See {status_url}. Thanks."})
    assert (
        without["holding"]
        == "We're aware that some Acme Cloud users are having trouble right now and our team is working on it."
    )
    assert without["replies"][0]["text"] == "Hi @jane. Thanks."  # type: ignore[index]


no_braces = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=60)


@given(
    st.sampled_from([*TOPICS.topics, TOPICS.general]), no_braces, no_braces, no_braces, st.sampled_from(list(LIMITS))
)
def test_no_draft_ever_shows_a_placeholder_or_runs_over(topic, brand, author, status, platform) -> None:  # type: ignore[no-untyped-def]
    values = {"brand": brand, "author": author, "status_url": status, "platform": platform, "topic": topic.name}
    for template in (topic.holding, topic.reply):
        text = fit(fill(template, values), platform)
        assert not any("{" + p + "}" in text for p in PLACEHOLDERS)
        assert len(text) <= LIMITS[platform]


def test_topics_file_problems(tmp_path: Path) -> None:
    (tmp_path / "topics.toml").write_text(
        '[topics.outage]\nholding = "We are on it, {customer}"\nreply = "ok"\n\n'
        '[topics.billing]\nholding = "a"\nreply = "b"\n'
    )
    with pytest.raises(InvalidFiles) as info:
        load_topics(tmp_path)
    found = [str(p) for p in info.value.problems]
    path = tmp_path / "topics.toml"
    assert f"{path}:1: topics.outage.terms: required" in found
    assert (
        f"{path}:2: topics.outage.holding: unknown placeholder {{customer}} (known: {', '.join(PLACEHOLDERS)})" in found
    )
    assert f"{path}:5: topics.billing.terms: required" in found
    assert any("topics.general: a [topics.general] fallback is required" in p for p in found)
