"""The posts an alert shows and reads for what it is about: the brand's stored mentions in its window that
count toward its rule (copies and backfill left out), oldest first, whichever way the engine reads them
(a rule of terms reads the window's texts first and only the rows that have them whole)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import Brand
from monitor.engine.core import Engine
from monitor.mention import Mention, ScoredMention
from monitor.store import Store
from tests.helpers.engine import shipped_engine

AT = datetime(2026, 11, 2, 9, tzinfo=UTC).timestamp()
BRANDS = (Brand("acme", "Acme", ("acme",)), Brand("globex", "Globex", ("globex",)))
# Crisis words in either field, in any case, inside other words ("recalled", "breaches" are not "recall"
# or "breach"), beside other scripts, and posts without them.
TEXTS = [
    "Acme had a data breach",
    "ACME OUTAGE again",
    "Acme recalled the old firmware",
    "breaches everywhere, not Acme",
    "Acme class action filed today",
    "Acme: lawsuit! über schlecht",
    "Acme is fine, thanks",
    "Acme prices went down",
    "Ａｃｍｅ hacked?",
    "Acme boycott 🙄",
]
TITLES = ["", "", "Recall notice", "Acme status"]
LABELS = ["negative", "neutral", "positive", None]

posts = st.lists(
    st.tuples(
        st.floats(0, 7200),  # created, from AT
        st.sampled_from(TEXTS),
        st.sampled_from(TITLES),
        st.sampled_from(LABELS),
        st.booleans(),  # backfill
        st.booleans(),  # a copy
        st.sampled_from(BRANDS).map(lambda b: b.id),
    ),
    max_size=60,
)


def _engine(tmp: Path) -> Engine:
    return shipped_engine(tmp, BRANDS, ["reddit", "hackernews"], Store.open(":memory:"))


def _scored(i: int, row: tuple[float, str, str, str | None, bool, bool, str]) -> ScoredMention:
    offset, text, title, label, backfill, copy, brand = row
    created = datetime.fromtimestamp(AT + offset, UTC)
    mention = Mention(("reddit", "hackernews")[i % 2], f"m{i}", f"{text} {i}", created, title=title)
    compound = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}.get(label or "")
    return ScoredMention(mention, brand, compound, label, backfill, "reddit:x" if copy else None)


@settings(max_examples=40, deadline=None)
@given(posts, st.floats(0, 7200), st.sampled_from([600.0, 1800.0, 3600.0]))
def test_an_alert_s_posts_are_the_window_s_mentions_that_count_toward_its_rule(
    rows: list[tuple[float, str, str, str | None, bool, bool, str]], end: float, window: float
) -> None:
    engine = _engine(Path("/nonexistent"))
    try:
        engine.store.add_mentions([_scored(i, row) for i, row in enumerate(rows)], 0.0)
        start, now = AT + end - window, AT + end
        for rule in engine.rules:
            matcher = engine.matchers[rule.name]
            label = None if rule.match.sentiment == "any" else rule.match.sentiment
            for brand in ("acme", "globex"):
                stored = engine.store.mentions_between(start, now, brand)  # oldest first, copies left out
                expected = [m for m in stored if not m.backfill and matcher(m)]
                got = [
                    m for m in engine._candidates(matcher, brand, start, now, label) if not m.backfill and matcher(m)
                ]
                assert got == expected, rule.name
    finally:
        engine.store.close()


def test_a_rule_of_terms_reads_whole_only_the_rows_with_its_terms(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    texts = ["Acme had a data breach", "Acme is fine, thanks", "Acme prices went down", "tried Acme", "Acme docs"]
    rows = [(i * 60.0, texts[i % 5], "", "negative", False, False, "acme") for i in range(60)]
    engine.store.add_mentions([_scored(i, row) for i, row in enumerate(rows)], 0.0)
    matcher = engine.matchers["crisis-volume"]
    read = engine._candidates(matcher, "acme", AT, AT + 3600, None)
    assert read and all(matcher.terms_match(m.mention.full_text) for m in read)
    assert len(read) == 12
    # Reading whole rows keeps each one's every field, as the store holds it.
    assert read == [m for m in engine.store.mentions_between(AT, AT + 3600, "acme") if matcher(m)]
    late = _scored(999, (30.0, "Acme breach", "", "negative", False, False, "acme"))
    engine.store.add_mentions([late], 0.0)  # stored after the others, created before them: first
    first = engine._candidates(matcher, "acme", AT + 10, AT + 3600, None)[:2]
    assert [m.mention.id for m in first] == ["m999", "m5"]
    engine.store.close()
