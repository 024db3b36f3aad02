"""A brand's earlier posts, as an alert's baseline counts them, kept between alerts.

What sets an incident's posts apart (rules/terms.py) is measured against about `limit` of the brand's
posts created in [start, end) before the window, copies left out:
- under 2 * limit of them, all of them;
- more, the first post (by created_at, then rowid) in each slot of a grid of whole minutes, `width`
  seconds wide (at most limit + 1 slots over the span), the first and last slots clipped to the span.
  The grid is fixed in time, so consecutive alerts sample the same posts.

Reading them from SQL for every alert cost about 50 ms (2,000 rows read and their terms found). Here
each brand's posts are kept, as EarlierPosts, from one alert to the next; an alert reads only the rows
stored since the last one (by rowid: late arrivals included), the two clipped edge slots, and whatever
part of the span was never read before. Rows are only ever added under this cache; when stored rows may
have changed (a rescore, a prune, another process's commit: Store.rewrites) everything is read again.
The result is the same set of posts the definition above gives, checked against it in
tests/test_earlier_posts.py. An alert reads them counted (usual: how many of each label and how many
have each term, rules/terms.UsualCounts); a grid keeps the count of the slots it counted last and moves
it at the ends, so consecutive alerts count only the slots that came or went.
"""

from __future__ import annotations

import math
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

from monitor.mention import joined_text
from monitor.rules.terms import EarlierPost, UsualCounts, terms_of
from monitor.store import PostRow, Store

BRANDS_KEPT = 4  # brands whose posts are kept (the ones alerting lately): a few MB each at most
MARGIN = 86400.0  # posts kept before the earliest start asked for, for alerts that look a little further back


@dataclass(slots=True)
class _Grid:
    """The first post of each slot of one grid width: known for every slot in [low, high]. Those of the
    slots [counted_low, counted_high] (within them) are also counted, for the last alert's baseline."""

    low: int = 0
    high: int = -1
    firsts: dict[int, tuple[float, int, EarlierPost]] = field(default_factory=dict)
    counted_low: int = 0
    counted_high: int = -1
    counted: UsualCounts = field(default_factory=UsualCounts)

    def set_first(self, k: int, first: tuple[float, int, EarlierPost]) -> None:
        """Slot k's first post is now this one."""
        before = self.firsts.get(k)
        self.firsts[k] = first
        if self.counted_low <= k <= self.counted_high:
            if before is not None:
                self.counted.remove(before[2])
            self.counted.add(first[2])

    def count(self, low: int, high: int) -> UsualCounts:
        """The posts of the slots [low, high] (all known) counted: those counted last, moved at the ends."""
        if high < self.counted_low or low > self.counted_high:
            self.counted, self.counted_low, self.counted_high = UsualCounts(), low, low - 1
        for k in (
            *range(self.counted_low, min(low, self.counted_high + 1)),
            *range(max(high + 1, self.counted_low), self.counted_high + 1),
        ):
            if (first := self.firsts.get(k)) is not None:
                self.counted.remove(first[2])
        for k in (*range(low, self.counted_low), *range(max(self.counted_high + 1, low), high + 1)):
            if (first := self.firsts.get(k)) is not None:
                self.counted.add(first[2])
        self.counted_low, self.counted_high = low, high
        return self.counted

    def forget_before(self, k: int) -> None:
        """Forget the slots before k (none of them counted any more)."""
        self.count(max(k, self.counted_low), self.counted_high)
        self.firsts = {slot: first for slot, first in self.firsts.items() if slot >= k}
        self.low = k


@dataclass(slots=True)
class _Brand:
    skip: frozenset[str]
    seen: int  # the rowid up to which stored rows have been read
    # Every post created in [complete_from, complete_to) (all of them, while a brand's spans are small).
    # Never later than the latest end asked for: a replay stores posts ahead of its clock.
    posts: dict[int, tuple[float, EarlierPost]] | None = None
    complete_from: float = math.inf
    complete_to: float = math.inf
    grids: dict[int, _Grid] = field(default_factory=dict)


class EarlierPosts:
    """The baseline posts of alerts, brand by brand, read from the store incrementally."""

    def __init__(self, store: Store, brands_kept: int = BRANDS_KEPT) -> None:
        self.store = store
        self.brands_kept = brands_kept
        self._brands: OrderedDict[str, _Brand] = OrderedDict()
        self._token: tuple[int, int] | None = None

    def posts(self, brand: str, start: float, end: float, limit: int, skip: frozenset[str]) -> list[EarlierPost]:
        """The brand's baseline posts in [start, end) (see the module's docstring), in no set order, with
        their terms found with skip."""
        state, every = self._prepare(brand, start, end, limit, skip)
        if every:
            return self._all(state, brand, start, end, limit)
        edges, grid, inner = self._sample(state, brand, start, end, limit)
        return edges + ([post for k, (_, _, post) in grid.firsts.items() if inner[0] <= k <= inner[1]] if grid else [])

    def usual(self, brand: str, start: float, end: float, limit: int, skip: frozenset[str]) -> list[UsualCounts]:
        """The same posts counted, in parts to add up (over_represented's baseline). On a grid, the whole
        slots' posts are counted where the last alert's were, the slots it gained or lost added or
        taken away: about 2,000 posts' terms counted afresh for each alert cost 2-3 ms at a million a month."""
        state, every = self._prepare(brand, start, end, limit, skip)
        if every:
            return [UsualCounts.of(self._all(state, brand, start, end, limit))]
        edges, grid, inner = self._sample(state, brand, start, end, limit)
        return [UsualCounts.of(edges), *([grid.count(*inner)] if grid else [])]

    def _prepare(self, brand: str, start: float, end: float, limit: int, skip: frozenset[str]) -> tuple[_Brand, bool]:
        """The brand's kept posts brought up to date, and whether [start, end) holds few enough to take all."""
        token = self.store.rewrites()
        if token != self._token:
            self._brands.clear()
            self._token = token
        state = self._state(brand, skip)
        self._read_new(state, brand)
        return state, self.store.count_posts(brand, start, end, 2 * limit) < 2 * limit

    def _state(self, brand: str, skip: frozenset[str]) -> _Brand:
        state = self._brands.get(brand)
        if state is None or state.skip != skip:
            state = self._brands[brand] = _Brand(skip, self.store.last_rowid())
        self._brands.move_to_end(brand)
        while len(self._brands) > self.brands_kept:
            self._brands.popitem(last=False)
        return state

    def _read_new(self, state: _Brand, brand: str) -> None:
        """Fold in the rows stored since the last alert, wherever in time they were created."""
        newest = self.store.last_rowid()
        if newest == state.seen:
            return
        # Only rows created where something is kept can change it: a replay stores its next chunk ahead of
        # the clock, and reading those rows' texts cost more than the rest of an alert.
        kept: list[tuple[float, float]] = [(g.low * width, (g.high + 1) * width) for width, g in state.grids.items()]
        if state.posts is not None:
            kept.append((state.complete_from, state.complete_to))
        kept = [(low, high) for low, high in kept if low < high]
        bounds = (min(low for low, _ in kept), max(high for _, high in kept)) if kept else None
        for row in self.store.posts_after(brand, state.seen, newest, bounds) if bounds else ():
            rowid, created = row[0], row[1]
            if state.posts is not None and state.complete_from <= created < state.complete_to:
                state.posts[rowid] = (created, self._post(state, row))
            for width, grid in state.grids.items():
                k = math.floor(created / width)
                if grid.low <= k <= grid.high:
                    first = grid.firsts.get(k)
                    if first is None or (created, rowid) < first[:2]:
                        grid.set_first(k, (created, rowid, self._post(state, row)))
        state.seen = newest

    def _all(self, state: _Brand, brand: str, start: float, end: float, limit: int) -> list[EarlierPost]:
        if state.posts is None or start > state.complete_to or end < state.complete_from:
            state.posts, state.complete_from, state.complete_to = {}, end, end  # nothing kept that helps
        for low, high in ((start, state.complete_from), (state.complete_to, end)):
            if low < high:
                for row in self.store.posts_between(brand, low, high):
                    state.posts.setdefault(row[0], (row[1], self._post(state, row)))
        state.complete_from, state.complete_to = min(start, state.complete_from), max(end, state.complete_to)
        found = [post for created, post in state.posts.values() if start <= created < end]
        # Forget what is far behind; a brand grown busy is sampled on grids instead.
        if len(state.posts) > 3 * limit or start - MARGIN > state.complete_from:
            state.complete_from = max(state.complete_from, start - MARGIN)
            kept = {r: v for r, v in state.posts.items() if v[0] >= state.complete_from}
            state.posts = kept if len(kept) <= 3 * limit else None
            if state.posts is None:
                state.complete_from = math.inf
        return found

    def _sample(
        self, state: _Brand, brand: str, start: float, end: float, limit: int
    ) -> tuple[list[EarlierPost], _Grid | None, tuple[int, int]]:
        """The posts of the two edge slots (clipped to the span), and the grid whose slots inner (first and
        last) hold the others, if the span has whole slots."""
        state.posts, state.complete_from = None, math.inf  # a busy brand's every post is not kept
        width = max(60, math.ceil((end - start) / limit / 60) * 60)
        first, last = math.floor(start / width), math.ceil(end / width) - 1
        # The edge slots are clipped to this span: read afresh (two index seeks).
        edges = [
            self._post(state, row)
            for k in sorted({first, last})
            for row in self.store.first_posts(brand, start, end, width, (k, k))
        ]
        inner = (first + 1, last - 1)
        if last - first < 2:
            return edges, None, inner
        grid = state.grids.setdefault(width, _Grid())
        if grid.high < grid.low or inner[1] < grid.low - 1 or inner[0] > grid.high + 1:
            grid = state.grids[width] = _Grid(inner[0], inner[0] - 1)  # no overlap: start this grid afresh
        for lo, hi in ((inner[0], grid.low - 1), (grid.high + 1, inner[1])):
            if lo <= hi:
                for row in self.store.first_posts(brand, lo * width, (hi + 1) * width, width, (lo, hi)):
                    grid.set_first(math.floor(row[1] / width), (row[1], row[0], self._post(state, row)))
        grid.low, grid.high = min(grid.low, inner[0]), max(grid.high, inner[1])
        # Forget slots far behind this span.
        keep_from = math.floor((start - MARGIN) / width)
        if grid.low < keep_from:
            grid.forget_before(keep_from)
        return edges, grid, inner

    @staticmethod
    def _post(state: _Brand, row: PostRow) -> EarlierPost:
        _, _, label, text, title = row
        # A tuple of interned strings: a few hundred bytes a post where a frozenset takes a kilobyte or two.
        terms = tuple(map(sys.intern, terms_of(joined_text(title or "", text or ""), state.skip)))
        return EarlierPost(label, terms)
