"""Sampling stored mentions in SQL: the same rows a slice of mentions_between would take."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from monitor.mention import Mention, ScoredMention
from monitor.store import Store


def test_a_sample_of_few_mentions_is_all_of_them_and_of_many_one_a_slot_of_a_fixed_grid(tmp_path: Path) -> None:
    # Engine._event samples a baseline this way (issue 19: under 2 * limit, what a step-th slice took).
    store = Store.open(tmp_path / "s.db")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC).timestamp()
    rows = [ScoredMention(Mention("reddit", f"m{i}", "acme", datetime.fromtimestamp(at + (i * 7) % 5000, UTC)),
                          "acme", 0.0, "neutral", copy_of="hackernews:x" if i % 11 == 0 else None)
            for i in range(2500)]  # fmt: skip
    store.add_mentions(rows, fetched_at=at)
    everything = store.mentions_between(at + 100, at + 4000, "acme")
    for limit in (len(everything) // 2 + 1, 2000, 5000):
        assert store.mentions_sample(at + 100, at + 4000, "acme", limit) == everything
    for limit in (1, 7, 30):
        sample = store.mentions_sample(at + 100, at + 4000, "acme", limit)
        width = max(60, math.ceil(3900 / limit / 60) * 60)
        slots = [math.floor(m.mention.created_at.timestamp() / width) for m in sample]
        assert len(slots) == len(set(slots)) and limit // 2 <= len(sample) <= limit + 1
        for m in sample:  # the first of its slot within the span
            ts = m.mention.created_at.timestamp()
            first = max(at + 100, math.floor(ts / width) * width)
            assert m == next(e for e in everything if e.mention.created_at.timestamp() >= first)
        later = store.mentions_sample(at + 100 + width, at + 4000 + width, "acme", limit)
        low, high = math.ceil((at + 100 + width) / width) * width, math.floor((at + 4000) / width) * width
        shared = [[m for m in picks if low <= m.mention.created_at.timestamp() < high] for picks in (sample, later)]
        assert shared[0] == shared[1] and (shared[0] or limit == 1)  # slots both spans hold whole: the same picks
    assert store.mentions_sample(at + 100, at + 4000, "globex", 10) == []
    store.close()


def test_inserts_in_chunks_keep_every_row_once_in_order(tmp_path: Path) -> None:
    # add_mentions puts several rows in one INSERT: duplicates within a batch and rows already stored
    # are still ignored one by one, and the count is of rows stored.
    store = Store.open(tmp_path / "s.db")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows = [ScoredMention(Mention("reddit", f"m{i % 40}", f"post {i}", at, title="t" if i % 3 else "",
                                  author_followers=i or None, url=f"https://example.com/{i}" if i % 2 else ""),
                          "acme", i / 100, "positive", bool(i % 5 == 0)) for i in range(57)]  # fmt: skip
    assert store.add_mentions(rows[:10], fetched_at=1.0) == 10
    assert store.add_mentions(rows, fetched_at=2.0) == 30  # m10 to m39; m0-m9 stored, m40+ repeat m0-m16
    assert store.add_mentions([], fetched_at=3.0) == 0
    stored = store.mentions_between(at.timestamp(), at.timestamp() + 1, "acme", copies=True)
    assert stored == rows[:40]
    assert [row[0] for row in store.db.execute("SELECT fetched_at FROM mentions ORDER BY rowid")] == [1.0] * 10 + [
        2.0
    ] * 30
    store.close()
