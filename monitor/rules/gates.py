"""Cheap and exact answers to "can this spike rule fire now?", so that a tick runs the detector only for
the (rule, brand) pairs that may fire.

A spike rule fires only where a window holds min_count mentions and min_ratio times its expected count.
Within one hour of `now` a window's expected count is a blend of the rates of the hours it spans, so it
is never below its length times the least of those rates: a count under min_ratio times that bound
cannot pass, whatever minute of the hour it is. The bound is worked out once an hour (and again when
the baseline is learned again); a tick then costs one window sum a window. Only a window over its bound
is checked as the detector checks it. Never a guess: a gate says "quiet" only where evaluate_spike would
not fire (tests/test_gates.py checks it against the detector).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import tzinfo

from monitor.rules.baseline import Baseline
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import spike_baseline, window_count, window_levels
from monitor.rules.model import SpikeDetect
from monitor.rules.stats import negative_binomial_upper_tail

# The bound is shaved by this much so that rounding in the detector's own sum of rates (a few terms,
# relative error about 1e-16) can never put an expected count under it.
_SLACK = 1e-9


class SpikeGate:
    """For one (spike rule, brand): the baseline and window bounds of the hour last asked about."""

    __slots__ = ("base", "hour", "learning", "least", "levels", "thresholds")

    def __init__(self) -> None:
        self.base: Baseline | None = None
        self.hour = 0
        self.learning = False
        self.thresholds: tuple[float, ...] = ()
        self.least: tuple[float, ...] = ()  # each window's least expected count within the hour
        self.levels: tuple[float, ...] = ()  # each window's p-value level (window_levels)

    def quiet(
        self,
        detect: SpikeDetect,
        counts: BucketCounts,
        now: float,
        history_start: float | None,
        zone: tzinfo,
        watched: set[int] | None,
        sums: Sequence[int] | None = None,
    ) -> bool:
        """Whether evaluate_spike with these arguments surely does not fire (False: it may). sums, when
        given, are the counts of detect.windows ending at now, already summed."""
        base = spike_baseline(detect, counts, now, history_start, zone, watched)
        hour = math.floor(now / 3600)
        if base is not self.base or hour != self.hour:
            self._learn(detect, base, hour, zone)
        if self.learning:
            return True
        windows = detect.windows
        if sums is None:
            sums = [counts.window(now - w.total_seconds(), now) for w in windows]
        if all(n < limit for n, limit in zip(sums, self.thresholds, strict=True)):
            return True
        for window in windows:  # over a bound: the detector's own guards, exactly
            count, expected = window_count(counts, base, now, window.total_seconds(), zone)
            ratio = count / expected if expected > 0 else math.inf
            if count >= detect.min_count and ratio >= detect.min_ratio:
                return False
        return True

    def _learn(self, detect: SpikeDetect, base: Baseline, hour: int, zone: tzinfo) -> None:
        self.base, self.hour = base, hour
        self.learning = base.hours * 3600 < min(detect.min_history, detect.baseline).total_seconds()
        limits, leasts = [], []
        for window in detect.windows:
            seconds = window.total_seconds()
            # Windows ending in [hour, hour + 1) start no earlier than the hour holding hour*3600 - seconds.
            spanned = range(math.floor((hour * 3600 - seconds) / 3600), hour + 1)
            least = min(base.rate(h, zone) for h in spanned) * seconds / 3600 * (1 - _SLACK)
            leasts.append(least)
            limits.append(max(float(detect.min_count), detect.min_ratio * least))
        self.thresholds, self.least = tuple(limits), tuple(leasts)
        self.levels = tuple(window_levels(detect))

    def hopeless(self, detect: SpikeDetect, sums: Sequence[int]) -> bool:
        """Whether no window can fire within the gate's bounds (its hour, its baseline) unless more mentions
        are counted: each under min_count, or less likely than its level even against the least count
        the hour may expect. With nothing counted a window's count can only fall and its expected count
        stays at or above that least, and the tail is larger for a smaller count or a larger mean."""
        if self.base is None:  # never asked before quiet(): not known, so not hopeless
            return False
        alpha = self.base.alpha
        for n, least, level in zip(sums, self.least, self.levels, strict=True):
            if n >= detect.min_count and negative_binomial_upper_tail(n, least, alpha) <= level:
                return False
        return True
