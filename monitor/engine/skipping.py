"""Which (rule, brand) pairs a tick may skip: those whose rule cannot fire now, told cheaply and exactly.

A mixin of Engine (engine/core.py), which owns the attributes declared here. The tick asks only for
pairs with nothing open or pending and nobody tracing: there a quiet evaluation changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config import Config
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import share_quiet
from monitor.rules.gates import SpikeGate
from monitor.rules.model import InfluencerDetect, KeywordDetect, Rule, ShareDetect, SilenceDetect, SpikeDetect


class Skipping:
    """The tick's test of whether a rule can fire for a brand now."""

    config: Config
    rules: Sequence[Rule]
    counts: dict[tuple[str, str], BucketCounts]
    reach: dict[tuple[str, str], BucketCounts]
    totals: dict[str, BucketCounts]
    watching: bool
    watched: dict[str, set[int]]
    history_start: dict[str, float]
    gates: dict[tuple[str, str], SpikeGate]

    def _cannot_fire(self, rule: Rule, key: tuple[str, str], now: float) -> bool:
        """Whether the rule cannot fire for the brand now: every window it tests holds fewer mentions than
        its min_count (every kind but silence needs that many to fire), or, for spike and share rules,
        what the window holds is under what the baseline asks for. Most (rule, brand) pairs of a tick are
        such; this costs a window sum slid by a minute each, and a bound worked out once an hour."""
        detect = rule.detect
        if isinstance(detect, SilenceDetect):
            return False
        counts = self.counts.get(key)
        if counts is None or not counts.minutes:
            return True
        if isinstance(detect, KeywordDetect) and detect.min_followers:
            reach = self.reach.get(key)
            if reach is not None and reach.window(now - detect.window.total_seconds(), now):
                return False
        need = 1 if isinstance(detect, InfluencerDetect) else detect.min_count
        windows = detect.windows if isinstance(detect, SpikeDetect) else (detect.window,)
        sums = [counts.window(now - w.total_seconds(), now) for w in windows]
        if all(n < need for n in sums):
            return True
        brand = key[1]
        watched = self.watched.get(brand, set()) if self.watching else None
        if isinstance(detect, SpikeDetect):
            # Over min_count: whether a window can also reach min_ratio times its expected count.
            gate = self.gates.get(key) or self.gates.setdefault(key, SpikeGate())
            return gate.quiet(detect, counts, now, self.history_start.get(brand), self.config.zone, watched, sums)
        if isinstance(detect, ShareDetect):
            totals = self.totals.get(brand)
            if totals is not None:
                return share_quiet(detect, counts, totals, now, self.history_start.get(brand), watched)
        return False
