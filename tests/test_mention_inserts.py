"""Storing mentions in chunks of rows a statement."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.mention import Mention, ScoredMention
from monitor.store import Store


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
