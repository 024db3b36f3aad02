"""Matching-mention counts per minute and per hour: the windows and baselines detectors read."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import TypeVar, cast

T = TypeVar("T")


class BucketCounts:
    """Counts of one rule's matching mentions for one brand, bucketed by minute (live) and hour (all).

    Backfilled history counts toward the baseline (hours) but never toward a current window
    (minutes), so that first-time backfill cannot raise an alert.
    """

    __slots__ = ("adds", "baseline_cache", "edited_from", "hours", "minutes", "newest", "sums", "watchers")

    def __init__(self) -> None:
        self.minutes: Counter[int] = Counter()
        self.hours: Counter[int] = Counter()
        # A detector may keep what it learned from hours before some hour here; edited_from says
        # from which hour on counts changed since, so it knows when that is stale.
        self.baseline_cache: tuple[object, object] | None = None
        self.edited_from = float("inf")
        # The same for readers that share these counts (share rules read a brand's totals): reader id ->
        # the earliest hour edited since that reader last learned from them.
        self.watchers: dict[int, float] = {}
        # The last sum of each window length read (minutes -> [first, last, total]): a tick slides it
        # by the minutes it moved instead of adding up the whole window again.
        self.sums: dict[int, list[int]] = {}
        # Live mentions counted so far, and the newest minute counted: with no add since, and no minute
        # counted at or after a window's end, a window's sum can only fall as the window slides on.
        self.adds = 0
        self.newest = -1 << 62

    def add(self, ts: float, live: bool = True) -> None:
        """Count one matching mention created at epoch seconds ts."""
        hour = int(ts // 3600)
        self.hours[hour] += 1
        if hour < self.edited_from:
            self.edited_from = hour
        if self.watchers:
            for reader, since in self.watchers.items():
                if hour < since:
                    self.watchers[reader] = hour
        if live:
            minute = int(ts // 60)
            self.minutes[minute] += 1
            self.adds += 1
            if minute > self.newest:
                self.newest = minute
            if self.sums:
                for window in self.sums.values():
                    if window[0] <= minute < window[1]:
                        window[2] += 1

    def learned_before(self, key: object, end_hour: int, learn: Callable[[], T], fresh: bool = True) -> T:
        """What a detector learns from the hours before end_hour, kept here and learned again only when
        key changes, a count before end_hour was edited since, or the caller says it is not fresh."""
        cached = self.baseline_cache
        if fresh and cached is not None and cached[0] == key and self.edited_from >= end_hour:
            return cast(T, cached[1])
        value = learn()
        self.baseline_cache = (key, value)
        self.edited_from = float("inf")
        return value

    def edited_since(self, reader: int) -> float:
        """The earliest hour edited since reader last called learned() (-inf: never learned)."""
        return self.watchers.get(reader, float("-inf"))

    def learned(self, reader: int) -> None:
        """reader has just learned from these counts: later edits are tracked for it from now on."""
        self.watchers[reader] = float("inf")

    def window(self, start: float, end: float) -> int:
        """Live mentions created in [start, end), at minute resolution."""
        first, last = math.floor(start / 60), math.ceil(end / 60)
        length, minutes = last - first, self.minutes
        known = self.sums.get(length)
        if known is not None and known[0] <= first < known[1]:
            total, get = known[2], minutes.get
            for m in range(known[0], first):
                total -= get(m, 0)
            for m in range(known[1], last):
                total += get(m, 0)
        elif length > 4 * len(minutes):
            total = sum(n for m, n in minutes.items() if first <= m < last)
        else:
            total = sum(minutes.get(m, 0) for m in range(first, last))
        if length > 0:
            self.sums[length] = [first, last, total]
        return total

    def hour(self, index: int) -> int:
        """All mentions (live and backfilled) in the hour bucket index (epoch hours)."""
        return self.hours.get(index, 0)

    def prune(self, before: float, minutes_before: float | None = None) -> None:
        """Forget hour buckets entirely older than before, and minute buckets older than minutes_before
        (before when not given: windows are shorter than baselines, so minutes may go sooner)."""
        minute, hour = int((before if minutes_before is None else minutes_before) // 60), int(before // 3600)
        stale = [m for m in self.minutes if m < minute]
        for m in stale:
            del self.minutes[m]
        if stale:
            self.sums.clear()  # a kept sum may hold minutes just forgotten: slide none of them
        for h in [h for h in self.hours if h < hour]:
            del self.hours[h]
