"""Which (rule, brand) pairs a tick may skip: those whose rule cannot fire now, told cheaply and exactly.

A mixin of Engine (engine/core.py), which owns the attributes declared here. The tick asks only for
pairs with nothing open or pending and nobody tracing: there a quiet evaluation changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from monitor.config import Brand, Config
from monitor.engine.silences import SilencesInForce
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import Failure, share_quiet, share_quiet_until
from monitor.rules.gates import SpikeGate
from monitor.rules.model import InfluencerDetect, KeywordDetect, Rule, ShareDetect, SilenceDetect, SpikeDetect


def _hour_turn(now: float, span: float) -> float:
    """When either end of the window of span seconds ending at now next crosses into another hour."""
    return min((math.floor(now / 3600) + 1) * 3600.0, (math.floor((now - span) / 3600) + 1) * 3600.0 + span)


def _bounds_end(detect: SpikeDetect, now: float) -> float:
    """When a spike gate's bounds at now may next change: its hour ends, or the hour its baseline ends
    (the hour before the longest window starts) moves on."""
    return _hour_turn(now, max(w.total_seconds() for w in detect.windows))


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
    # (rule, brand) -> the counts (and reach counts) a quiet-by-counts verdict was reached on, with
    # their numbers of adds then (see _still_under), and the number of adds at which it may fire.
    under: dict[tuple[str, str], tuple[BucketCounts, int, BucketCounts | None, int, float]]
    # (rule, brand) -> the (first, last) hours of a silence rule's window when they last held a mention.
    heard: dict[tuple[str, str], tuple[int, int]]
    # Pairs that cannot fire, from the first time given until the second (inf: never by time alone) or
    # until their counts' number of live adds reaches the third: the tick passes them over. Each add puts
    # one mention in a minute, so it raises every window's sum by one at most: a pair whose windows are
    # all k mentions under what firing asks for cannot fire before k more are counted. Engine._count
    # takes a pair out when its counts reach that number (or a mention is backfilled for it), and a
    # brand's pairs when its history starts earlier; mark_watched a brand's pairs when its baseline
    # hours grow. A pair is put in only when asked here, with nothing open or pending, and can open only
    # by being evaluated.
    dormant: dict[tuple[str, str], tuple[float, float, float]]
    source_failures: Callable[[], Mapping[str, Failure]] | None
    # A mention of a brand counted before this time (live or backfilled) may change what a share rule's
    # window is compared with (its baseline hours): it wakes the brand's share pairs (see wake_shares).
    # One counted after it reaches only hours no share baseline holds yet, or raises a window's total.
    shares_settled: float = -math.inf
    # No tick before this time can change anything: at the last tick every pair was asleep until then,
    # and the silences in force hold until then (-inf: not so). A pair with an incident open or pending,
    # or any under a trace, is looked at every tick, so is never asleep. Counting a mention leaves it be
    # unless a pair wakes (each pair's sleep already allows for the mentions counted while it lasts);
    # waking forgets it. A replay passes over the ticks before it (engine/replay.py).
    quiet_until: float = -math.inf
    silences: SilencesInForce
    _order: list[tuple[Rule, list[tuple[Brand, tuple[str, str]]]]]

    def forget_verdicts(self) -> None:
        """Start over (rules swapped, counts rebuilt): no kept verdict holds."""
        self.under, self.heard, self.dormant = {}, {}, {}
        self.quiet_until = -math.inf

    def settle_quiet(self, now: float) -> None:
        """After the tick at now: until when later ticks would change nothing (see quiet_until)."""
        self.quiet_until = -math.inf
        until = self.silences.holds_until(now)
        dormant = self.dormant
        for _rule, pairs in self._order:
            for _brand, key in pairs:
                asleep = dormant.get(key)
                if asleep is None or not asleep[0] <= now < asleep[1]:
                    return
                until = min(until, asleep[1])
        self.quiet_until = until

    def settle_shares(self, now: float) -> None:
        """At a tick: the earliest hour any share rule's baseline for now ends at (its window's start hour)."""
        starts = [now - r.detect.window.total_seconds() for r in self.rules if isinstance(r.detect, ShareDetect)]
        self.shares_settled = math.floor(min(starts) / 3600) * 3600.0 if starts else -math.inf

    def wake_shares(self, brand: str) -> None:
        """A mention of the brand was counted where a share rule's usual share may move: wake its pairs."""
        for rule in self.rules:
            if isinstance(rule.detect, ShareDetect) and self.dormant.pop((rule.name, brand), None) is not None:
                self.quiet_until = -math.inf

    def _cannot_fire(self, rule: Rule, key: tuple[str, str], now: float) -> bool:
        """Whether the rule cannot fire for the brand now: every window it tests holds fewer mentions than
        its min_count (every kind but silence needs that many to fire), or, for spike and share rules,
        what the window holds is under what the baseline asks for. Most (rule, brand) pairs of a tick are
        such; this costs a window sum slid by a minute each, and a bound worked out once an hour."""
        detect = rule.detect
        if isinstance(detect, SilenceDetect):
            return self._silence_quiet(detect, key, now)
        counts = self.counts.get(key)
        if counts is None or not counts.minutes:
            # Nothing counted in any minute: every kind but silence needs a mention in a window to fire.
            self.dormant[key] = (now, math.inf, (counts.adds if counts is not None else 0) + 1)
            return True
        loud = isinstance(detect, KeywordDetect) and bool(detect.min_followers)  # one large author may fire it
        reach = self.reach.get(key) if loud else None
        verdict = self._still_under(key, counts, reach)
        if verdict is not None:
            self.dormant[key] = (now, math.inf, verdict)
            return True
        if reach is not None and reach.window(now - detect.window.total_seconds(), now):
            return False
        need = 1 if isinstance(detect, InfluencerDetect) else detect.min_count
        windows = detect.windows if isinstance(detect, SpikeDetect) else (detect.window,)
        sums = [counts.window(now - w.total_seconds(), now) for w in windows]
        if all(n < need for n in sums):
            end = math.ceil(now / 60)
            if counts.newest < end and (reach is None or reach.newest < end):
                wake = counts.adds + (1 if loud else need - max(sums))
                self.under[key] = (counts, counts.adds, reach, reach.adds if reach is not None else 0, wake)
                self.dormant[key] = (now, math.inf, wake)
            return True
        watched = self.watched.get(key[1], set()) if self.watching else None
        if isinstance(detect, SpikeDetect):
            return self._spike_quiet(detect, key, counts, sums, now, watched)
        if isinstance(detect, ShareDetect):
            return self._share_quiet(detect, key, counts, now, watched)
        return False

    def _silence_quiet(self, detect: SilenceDetect, key: tuple[str, str], now: float) -> bool:
        """A silence rule cannot fire while its window's hours hold a mention and no source fails."""
        if not self._heard(detect, key, now):
            return False
        if detect.failing_for is None or self.source_failures is None:
            # Heard until the hours of its window move on (counting only adds to them); a source may
            # start failing at any time, so a rule that also watches sources is asked every tick.
            self.dormant[key] = (now, _hour_turn(now, detect.quiet_for.total_seconds()), math.inf)
        return True

    def _spike_quiet(
        self,
        detect: SpikeDetect,
        key: tuple[str, str],
        counts: BucketCounts,
        sums: Sequence[int],
        now: float,
        watched: set[int] | None,
    ) -> bool:
        """Over min_count: whether no window can also reach min_ratio times its expected count."""
        gate = self.gates.get(key) or self.gates.setdefault(key, SpikeGate())
        quiet = gate.quiet(detect, counts, now, self.history_start.get(key[1]), self.config.zone, watched, sums)
        if counts.newest >= math.ceil(now / 60):
            return quiet
        if gate.learning or all(n < limit for n, limit in zip(sums, gate.thresholds, strict=True)):
            # Quiet by the hour's bounds: with nothing counted, every window's count can only fall, and
            # the bounds hold until the gate's hour ends or the baseline is learned again. A window under
            # its bound by d needs ceil(d) more mentions to reach it; while the baseline is still learning,
            # counting more does not end that (the history's start or its hours do).
            short = min(math.ceil(limit - n) for n, limit in zip(sums, gate.thresholds, strict=True))
            self.dormant[key] = (now, _bounds_end(detect, now), math.inf if gate.learning else counts.adds + short)
            return True
        if gate.hopeless(detect, sums):
            # Over a bound, but no window can reach its level within the bounds: asleep until the next one.
            self.dormant[key] = (now, _bounds_end(detect, now), counts.adds + 1)
            return True
        return quiet

    def _share_quiet(
        self, detect: ShareDetect, key: tuple[str, str], counts: BucketCounts, now: float, watched: set[int] | None
    ) -> bool:
        """Over min_count: whether the window's share is under both levels that fire."""
        totals = self.totals.get(key[1])
        start = self.history_start.get(key[1])
        if totals is None or not share_quiet(detect, counts, totals, now, start, watched):
            return False
        if counts.newest < math.ceil(now / 60):
            # Asleep until a matching mention is counted, one of the brand's lands in the baseline hours
            # (Engine._count, shares_settled), or its share may have risen by the time alone.
            self.dormant[key] = (now, share_quiet_until(detect, counts, totals, now, start, watched), counts.adds + 1)
        return True

    def _heard(self, detect: SilenceDetect, key: tuple[str, str], now: float) -> bool:
        """Whether a silence rule cannot fire: no source is failing and the whole hours of its window hold
        a mention (evaluate_silence's "not quiet"). Exact and kept per (rule, brand) while those hours
        stay the same: counting only adds to them, and pruning forgets only hours far older."""
        if detect.failing_for is not None and self.source_failures is not None and self.source_failures():
            return False
        hours = (math.floor((now - detect.quiet_for.total_seconds()) / 3600), math.floor(now / 3600))
        if self.heard.get(key) == hours:
            return True
        counts = self.counts.get(key)
        if counts is None or not any(map(counts.hour, range(hours[0], hours[1] + 1))):
            return False
        self.heard[key] = hours
        return True

    def _still_under(self, key: tuple[str, str], counts: BucketCounts, reach: BucketCounts | None) -> float | None:
        """The number of adds at which the pair may fire, where every window was under min_count (and the
        reach window empty) at an earlier tick and nothing was counted since; else None.

        Exact: a window [now - w, now) slides forward; with no add since, what enters it are minutes
        after the newest one counted then (the verdict is kept only when that one was before the window's
        end), so each sum can only have fallen. Pruning only forgets minutes. The counts objects are
        kept with the verdict, so counts rebuilt on a reload never match it."""
        verdict = self.under.get(key)
        if verdict is None:
            return None
        kept, adds, kept_reach, reach_adds, wake = verdict
        if kept is not counts or kept.adds != adds or kept_reach is not reach:
            return None
        return wake if reach is None or reach.adds == reach_adds else None
