"""Sampling stored mentions in SQL: the same rows a slice of mentions_between would take."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.mention import Mention, ScoredMention
from monitor.store import Store


def test_a_sample_of_mentions_is_every_step_th_as_a_slice_would_take(tmp_path: Path) -> None:
    # Engine._event samples a baseline this way; the store picks the rows in SQL (issue 5).
    store = Store.open(tmp_path / "s.db")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC).timestamp()
    rows = [ScoredMention(Mention("reddit", f"m{i}", "acme", datetime.fromtimestamp(at + (i * 7) % 5000, UTC)),
                          "acme", 0.0, "neutral", copy_of="hackernews:x" if i % 11 == 0 else None)
            for i in range(2500)]  # fmt: skip
    store.add_mentions(rows, fetched_at=at)
    for limit in (1, 7, 100, 2000, 5000):
        everything = store.mentions_between(at + 100, at + 4000, "acme")
        step = max(1, len(everything) // limit)
        assert store.mentions_sample(at + 100, at + 4000, "acme", limit) == everything[::step]
    assert store.mentions_sample(at + 100, at + 4000, "globex", 10) == []
    store.close()
