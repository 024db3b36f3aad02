"""An alert's baseline posts, kept between alerts (engine/earlier.py): always the posts the sampling rule
picks from what is stored now, whatever arrived late, was rescored, pruned or written by another process."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.earlier import EarlierPosts
from monitor.mention import Mention, ScoredMention
from monitor.rules.terms import EarlierPost, UsualCounts, skip_words, terms_of
from monitor.store import Store
from monitor.store.schema import MIGRATIONS
from tests.helpers.database import database_at

AT = datetime(2026, 11, 2, 9, tzinfo=UTC).timestamp()
SKIP = skip_words(["Acme"])
WORDS = ["outage", "billing", "refund", "login", "slow", "support", "invoice", "region", "deploy", "latency"]
LABELS = ["negative", "neutral", "positive", None]


def kept(posts: list[EarlierPost]) -> Counter[tuple[str | None, frozenset[str]]]:
    """Posts as (label, set of terms), to count."""
    return Counter((post.label, frozenset(post.terms)) for post in posts)


def expected(store: Store, start: float, end: float, limit: int) -> Counter[tuple[str | None, frozenset[str]]]:
    """The definition, from every stored row: all posts under 2 * limit, else the first of each slot."""
    posts = store.mentions_between(start, end, "acme")  # oldest first, then by rowid; copies left out
    if len(posts) >= 2 * limit:
        width = max(60, math.ceil((end - start) / limit / 60) * 60)
        firsts: dict[int, ScoredMention] = {}
        for m in posts:
            firsts.setdefault(math.floor(m.mention.created_at.timestamp() / width), m)
        posts = list(firsts.values())
    return Counter((m.label, frozenset(terms_of(m.mention.full_text, SKIP))) for m in posts)


def tallied(posts: Counter[tuple[str | None, frozenset[str]]]) -> dict[object, tuple[int, Counter[str]]]:
    """Posts (as kept gives them) counted as UsualCounts counts them: all ("*") and by label."""
    out: dict[object, tuple[int, Counter[str]]] = {}
    for (label, terms), n in posts.items():
        for key in ("*", label):
            size, found = out.get(key, (0, Counter()))
            out[key] = (size + n, found + Counter({term: n for term in terms}))
    return out


def summed(parts: list[UsualCounts]) -> dict[object, tuple[int, Counter[str]]]:
    """UsualCounts in parts, added up the same way."""
    out: dict[object, tuple[int, Counter[str]]] = {}
    for part in parts:
        for key, counts in (("*", part.all), *part.labels.items()):
            size, found = out.get(key, (0, Counter()))
            out[key] = (size + counts.posts, found + counts.terms)
    return {key: value for key, value in out.items() if value[0]}


def mention(i: int, offset: float, label: str | None, copy: bool) -> ScoredMention:
    text = f"Acme {WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]} again {i % 13}"
    created = datetime.fromtimestamp(AT + offset, UTC)
    m = Mention("reddit", f"m{i}", text, created, title="Status" if i % 5 == 0 else "")
    return ScoredMention(m, "acme", 0.0, label, copy_of="hackernews:x" if copy else None)


batches = st.lists(
    st.lists(st.tuples(st.floats(0, 20_000), st.sampled_from(LABELS), st.booleans()), min_size=1, max_size=120),
    min_size=1,
    max_size=6,
)
spans = st.tuples(st.floats(0, 18_000), st.floats(100, 20_000), st.sampled_from([3, 10, 40, 200]))


@settings(max_examples=30, deadline=None)
@given(batches, st.lists(spans, min_size=1, max_size=4))
def test_kept_posts_are_the_posts_the_rule_picks_from_what_is_stored(
    stream: list[list[tuple[float, str | None, bool]]], asks: list[tuple[float, float, int]]
) -> None:
    # Batches arrive in any order of time (late posts fall into slots already read), copies are left out,
    # spans move back and forth, and some alerts sample a grid where others read every post.
    store = Store.open(":memory:")
    earlier = EarlierPosts(store)
    i = 0
    for batch in stream:
        store.add_mentions([mention(i + j, offset, label, copy) for j, (offset, label, copy) in enumerate(batch)], 0.0)
        i += len(batch)
        for k, (start, length, limit) in enumerate(asks):
            span = (AT + start, AT + start + length)
            want = expected(store, *span, limit)
            # Counted (a grid's count moves from span to span) and listed, in either order.
            if k % 2:
                counted = summed(earlier.usual("acme", *span, limit, SKIP))
                listed = kept(earlier.posts("acme", *span, limit, SKIP))
            else:
                listed = kept(earlier.posts("acme", *span, limit, SKIP))
                counted = summed(earlier.usual("acme", *span, limit, SKIP))
            assert listed == want and counted == tallied(want)
    store.close()


def test_rescored_pruned_and_foreign_rows_are_read_again(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "m.db")
    store.add_mentions([mention(i, i * 30.0, "neutral", False) for i in range(400)], 0.0)
    earlier = EarlierPosts(store)
    span = (AT, AT + 12_000)
    for limit in (50, 500):  # 400 posts: a grid for 50, every post for 500
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
    # A rescore through this connection relabels posts already kept.
    rows = [r[0] for r in store.db.execute("SELECT rowid FROM mentions ORDER BY rowid LIMIT 100")]
    store.set_scores([(rowid, -0.7, "negative", "v2") for rowid in rows])
    for limit in (50, 500):
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
    # Another process (monitor rescore) writes through its own connection.
    other = Store.open(tmp_path / "m.db")
    rows = [r[0] for r in other.db.execute("SELECT rowid FROM mentions ORDER BY rowid DESC LIMIT 100")]
    other.set_scores([(rowid, 0.8, "positive", "v3") for rowid in rows])
    other.close()
    for limit in (50, 500):
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
    assert {p.label for p in earlier.posts("acme", *span, 500, SKIP)} == {"neutral", "negative", "positive"}
    # Retention deletes the oldest posts (the first hundred, relabelled negative above).
    store.prune(AT + 3000)
    for limit in (50, 500):
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
    assert {p.label for p in earlier.posts("acme", *span, 500, SKIP)} == {"neutral", "positive"}
    store.close()


def test_a_late_post_earlier_than_its_slot_s_first_takes_its_place() -> None:
    store = Store.open(":memory:")
    earlier = EarlierPosts(store)
    span = (AT, AT + 20_000)  # 3 a span: slots of 6,720 s, the middle ones whole
    store.add_mentions([mention(j, 5003 + j * 10.0, "neutral", False) for j in range(100)], 0.0)
    assert kept(earlier.posts("acme", *span, 3, SKIP)) == expected(store, *span, 3)
    # Fetched later, created 2 s before each: the first of the slot is now one of these.
    store.add_mentions([mention(1000 + j, 5001 + j * 10.0, "negative", False) for j in range(100)], 0.0)
    got = earlier.posts("acme", *span, 3, SKIP)
    assert kept(got) == expected(store, *span, 3) and "negative" in {p.label for p in got}
    store.close()


def test_late_posts_at_either_edge_of_what_is_kept_are_read() -> None:
    # New rows are read only where they were created inside what is kept (every post of a span, or a
    # grid's slots): a replay's chunk stored ahead of the clock is not read. The edges are inside.
    for limit, n in ((500, 100), (10, 400)):  # every post kept; a grid of slots
        store = Store.open(":memory:")
        earlier = EarlierPosts(store)
        span = (AT, AT + 12_000)
        store.add_mentions([mention(j, 1000 + j * 25.0, "neutral", False) for j in range(n)], 0.0)
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
        width = max(60, math.ceil(12_000 / limit / 60) * 60)
        last_slot = math.ceil(span[1] / width) - 2  # the last whole slot, kept on the grid
        edges = (span[0], span[1] - 0.5, span[0] + width * 1.0001, (last_slot + 1) * width - 0.5)
        store.add_mentions([mention(9000 + k, at - AT, "negative", False) for k, at in enumerate(edges)], 0.0)
        got = earlier.posts("acme", *span, limit, SKIP)
        assert kept(got) == expected(store, *span, limit) and "negative" in {p.label for p in got}
        # Ahead of the span (a replay's next chunk): not in this span's posts, and there when asked for.
        store.add_mentions([mention(9500 + k, 12_000 + k * 10.0, "positive", False) for k in range(30)], 0.0)
        assert kept(earlier.posts("acme", *span, limit, SKIP)) == expected(store, *span, limit)
        later = (AT + 6000, AT + 12_400)
        assert kept(earlier.posts("acme", *later, limit, SKIP)) == expected(store, *later, limit)
        store.close()


def test_a_brand_sampled_on_a_grid_keeps_no_list_of_every_post() -> None:
    # Memory: once a brand is busy enough to be sampled, its every post is no longer kept (a replay of a
    # month of a busy brand would otherwise keep them all as they are stored).
    store = Store.open(":memory:")
    earlier = EarlierPosts(store)
    span = (AT, AT + 20_000)
    store.add_mentions([mention(j, j * 10.0, "neutral", False) for j in range(30)], 0.0)
    assert kept(earlier.posts("acme", *span, 40, SKIP)) == expected(store, *span, 40)  # every post
    store.add_mentions([mention(100 + j, j * 5.0, "negative", False) for j in range(2000)], 0.0)
    assert kept(earlier.posts("acme", *span, 40, SKIP)) == expected(store, *span, 40)  # a grid now
    store.add_mentions([mention(5000 + j, j * 2.0, "positive", False) for j in range(2000)], 0.0)
    assert kept(earlier.posts("acme", *span, 40, SKIP)) == expected(store, *span, 40)
    assert earlier._brands["acme"].posts is None
    store.close()


def test_posts_are_counted_in_the_index_alone_after_the_migration(tmp_path: Path) -> None:
    path = database_at(tmp_path / "old.db", 8)  # from before copy_of joined the brand-and-time index
    store = Store.open(path)
    assert store.schema_version == len(MIGRATIONS) >= 9
    store.add_mentions([mention(i, i * 7.0, LABELS[i % 4], i % 3 == 0) for i in range(300)], fetched_at=AT)
    columns = [row[2] for row in store.db.execute("PRAGMA index_info(idx_mentions_brand_created_at)")]
    assert columns == ["brand", "created_at", "copy_of"]
    plan = " ".join(
        str(row[3])
        for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM mentions WHERE brand = ? AND copy_of IS NULL"
            " AND created_at >= ? AND created_at < ?",
            ["acme", AT, AT + 1000],
        )
    )
    assert "COVERING INDEX idx_mentions_brand_created_at" in plan, plan
    assert store.count_posts("acme", AT, AT + 1000, 4000) == len(store.mentions_between(AT, AT + 1000, "acme"))
    store.close()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 20_000), st.sampled_from(LABELS), st.booleans(), st.booleans()), max_size=80),
    spans,
)
def test_an_alert_s_tally_is_what_its_window_holds(
    rows: list[tuple[float, str | None, bool, bool]], span: tuple[float, float, int]
) -> None:
    from dataclasses import replace

    store = Store.open(":memory:")
    store.add_mentions(
        [replace(mention(i, offset, label, copy), backfill=late) for i, (offset, label, copy, late) in enumerate(rows)],
        0.0,
    )
    start, end = AT + span[0], AT + span[0] + span[1]
    window = [m for m in store.mentions_between(start, end, "acme") if not m.backfill]
    assert store.tally("acme", start, end) == (len(window), sum(m.label == "negative" for m in window))
    negatives = store.mentions_between(start, end, "acme", label="negative")
    assert negatives == [m for m in store.mentions_between(start, end, "acme") if m.label == "negative"]
    store.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-25_000, 150_000), st.booleans()), min_size=2, max_size=8))
def test_counted_posts_follow_a_span_as_alerts_move_it(moves: list[tuple[float, bool]]) -> None:
    # Spans of one length (one grid), moved forward a little, far (slots still counted are forgotten: more
    # than a day) or past the last, and back, as a brand's alerts move them; late posts arrive between
    # alerts, into slots counted last time, some of them earlier than their slot's first post. The counts
    # always add up to the posts the rule picks.
    store = Store.open(":memory:")
    earlier = EarlierPosts(store)
    store.add_mentions([mention(i, i * 120.0, LABELS[i % 4], i % 11 == 0) for i in range(2500)], 0.0)
    start = 0.0
    for j, (move, late) in enumerate(moves):
        if late:  # created where the last span was
            posts = [mention(10_000 + 60 * j + k, start + k * 397.0 - 0.5, LABELS[k % 3], False) for k in range(60)]
            store.add_mentions(posts, 0.0)
        start = min(max(start + move, 0.0), 180_000.0)
        span = (AT + start, AT + start + 120_000)  # 1,000 posts a span or more, on slots of 2,400 s
        assert summed(earlier.usual("acme", *span, 50, SKIP)) == tallied(expected(store, *span, 50))
    store.close()
