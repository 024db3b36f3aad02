"""Which scorer scored the stored mentions, and new scores written over old ones in small batches."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

# (rowid, brand, text to score: title and body as Mention.full_text joins them, declared language)
ToScore = tuple[int, str, str, str | None]


class ScoresTable:
    """The scores part of the Store."""

    db: sqlite_utils.Database
    _rewrites: int

    def scorer_versions(self, since: float) -> list[tuple[str, str | None, int]]:
        """(brand, scorer version or None for rows stored before versions were kept, mentions) created since."""
        rows = self.db.execute(
            "SELECT brand, scorer, COUNT(*) FROM mentions WHERE created_at >= ? GROUP BY brand, scorer ORDER BY brand",
            [since],
        )
        return [(str(brand), scorer, int(count)) for brand, scorer, count in rows]

    def to_rescore(self, since: float, after: int, limit: int, current: Sequence[tuple[str, str]]) -> list[ToScore]:
        """Up to `limit` mentions created since, in rowid order after `after`, of the brands in `current`
        ((brand, its scorer's version) pairs) and scored by another version or none. Paged by rowid, so
        that the history is read once however many batches it takes."""
        if not current:
            return []
        pairs = ", ".join(["(?, ?)"] * len(current))
        brands = ",".join("?" * len(current))
        rows = self.db.execute(
            "SELECT rowid, brand, CASE WHEN title != '' AND text != '' THEN title || char(10) || text"
            " ELSE COALESCE(NULLIF(title, ''), text, '') END, lang FROM mentions"
            f" WHERE rowid > ? AND created_at >= ? AND brand IN ({brands})"
            f" AND (scorer IS NULL OR (brand, scorer) NOT IN (VALUES {pairs})) ORDER BY rowid LIMIT ?",
            [after, since, *(b for b, _ in current), *(x for pair in current for x in pair), limit],
        )
        return [(int(rowid), str(brand), str(text), lang) for rowid, brand, text, lang in rows]

    def last_rowid(self) -> int:
        """The newest row's id (0 for none): a rescore stops there, and leaves later rows to their scorer."""
        return int(self.db.execute("SELECT COALESCE(MAX(rowid), 0) FROM mentions").fetchone()[0])

    def set_scores(self, scores: Sequence[tuple[int, float | None, str | None, str]]) -> set[int]:
        """Write (rowid, compound, label, version) in one short transaction; the rows whose label changed."""
        if not scores:
            return set()
        self._rewrites += 1
        with self.db.atomic():
            marks = ",".join("?" * len(scores))
            old = dict(
                self.db.execute(f"SELECT rowid, label FROM mentions WHERE rowid IN ({marks})", [s[0] for s in scores])
            )
            self.db.conn.executemany(
                "UPDATE mentions SET compound = ?, label = ?, scorer = ? WHERE rowid = ?",
                [(compound, label, version, rowid) for rowid, compound, label, version in scores],
            )
        return {rowid for rowid, _, label, _ in scores if rowid in old and old[rowid] != label}
