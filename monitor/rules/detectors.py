"""Detectors: pure functions from counts and a clock reading to an Evaluation."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from monitor.rules.counts import BucketCounts
from monitor.rules.model import (
    InfluencerDetect,
    KeywordDetect,
    ShareDetect,
    SilenceDetect,
    SpikeDetect,
    VolumeDetect,
)
from monitor.rules.stats import negative_binomial_upper_tail

# Shrinkage weights (in pseudo-observations): a slot of the week with two samples leans half on
# the hour-of-day profile, and an hour of day leans on the overall mean, so sparse history still
# gives a sane expectation.
_SLOT_PRIOR = 2.0
_HOUR_PRIOR = 2.0
# Never expect less than one mention a day: with an expectation of zero any count is "significant".
_FLOOR_PER_HOUR = 1.0 / 24.0
# Overdispersion beyond this is a baseline too erratic to learn from, not a trait of the brand.
_MAX_ALPHA = 1.0
# A baseline hour this unlikely against the rest of its slot was a spike: it is left out.
_SPIKE_HOUR_P = 1e-3
_SPIKE_PASSES = 4


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a detector saw at one tick."""

    firing: bool
    count: int
    figures: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    window: float = 0.0  # seconds of the window the figures are about (0: the rule's window)


def evaluate_volume(detect: VolumeDetect, counts: BucketCounts, now: float) -> Evaluation:
    """Fire on at least min_count matching mentions in the window."""
    count = counts.window(now - detect.window.total_seconds(), now)
    firing = count >= detect.min_count
    reason = "" if firing else f"{count} < min_count {detect.min_count}"
    return Evaluation(firing, count, {"count": count, "threshold": detect.min_count}, reason)


@functools.lru_cache(maxsize=1 << 16)
def hour_slot(hour_index: int, zone: tzinfo) -> tuple[int, int]:
    """(weekday, hour of day) in the zone for an epoch-hour bucket."""
    local = datetime.fromtimestamp(hour_index * 3600, zone)
    return local.weekday(), local.hour


def baseline_hours(
    window_start: float, baseline: float, history_start: float | None, watched: set[int] | None
) -> Sequence[int]:
    """The whole hours before the window that the baseline learns from.

    With watched hours known (the daemon), exactly those: an hour with no mentions counts as a zero, an
    hour when the brand's sources were down does not count. Without (a replay), every hour since the
    history started.
    """
    end_hour = math.floor(window_start / 3600)
    first_hour = end_hour - math.ceil(baseline / 3600)
    if watched is not None:
        return [h for h in range(first_hour, end_hour) if h in watched]
    if history_start is not None:
        first_hour = max(first_hour, math.ceil(history_start / 3600))
    return range(first_hour, end_hour)


def expected_rates(
    counts: BucketCounts, hours: Sequence[int], seasonal: bool, zone: tzinfo
) -> tuple[float, dict[tuple[int, int], float], dict[int, float]]:
    """Hourly rates learned from these hour buckets.

    Returns the overall mean, the rate per (weekday, hour) slot and per hour of day; slots and hours
    missing from the dicts fall back to the coarser rate.
    """
    total = sum(counts.hour(h) for h in hours)
    mean = total / len(hours) if hours else 0.0
    if not seasonal or not hours:
        return mean, {}, {}
    hod_sum: dict[int, float] = {}
    hod_n: dict[int, int] = {}
    slot_sum: dict[tuple[int, int], float] = {}
    slot_n: dict[tuple[int, int], int] = {}
    for h in hours:
        slot = hour_slot(h, zone)
        n = counts.hour(h)
        hod_sum[slot[1]] = hod_sum.get(slot[1], 0) + n
        hod_n[slot[1]] = hod_n.get(slot[1], 0) + 1
        slot_sum[slot] = slot_sum.get(slot, 0) + n
        slot_n[slot] = slot_n.get(slot, 0) + 1
    by_hour = {hh: (hod_sum[hh] + _HOUR_PRIOR * mean) / (hod_n[hh] + _HOUR_PRIOR) for hh in hod_sum}
    by_slot = {s: (slot_sum[s] + _SLOT_PRIOR * by_hour[s[1]]) / (slot_n[s] + _SLOT_PRIOR) for s in slot_sum}
    return mean, by_slot, by_hour


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a spike rule learned from its baseline hours: hourly rates by slot, and overdispersion."""

    mean: float
    by_slot: dict[tuple[int, int], float]
    by_hour: dict[int, float]
    alpha: float  # variance = mean + alpha * mean^2 for one hour's count (0: Poisson)
    hours: int  # baseline hours learned from
    left_out: int  # of which this many were earlier spikes, kept out

    def rate(self, hour_index: int, zone: tzinfo) -> float:
        """The expected count in one hour bucket (never below the floor)."""
        slot = hour_slot(hour_index, zone)
        return max(self.by_slot.get(slot, self.by_hour.get(slot[1], self.mean)), _FLOOR_PER_HOUR)


def _held_out_rates(
    counts: BucketCounts, hours: Sequence[int], seasonal: bool, zone: tzinfo
) -> list[tuple[int, float, float]]:
    """(count, expected, the expectation's own variance) for each hour, the expectation learned from
    the other hours of its slot.

    A slot of the week has only a couple of samples in a fortnight: against rates that include the
    hour itself, a spike would raise its own expectation and ordinary swings would look smaller.
    """
    mean, by_slot, _ = expected_rates(counts, hours, seasonal, zone)
    slot_n: dict[tuple[int, int], int] = {}
    for h in hours:
        slot = hour_slot(h, zone)
        slot_n[slot] = slot_n.get(slot, 0) + 1
    pairs = []
    for h in hours:
        n = counts.hour(h)
        slot = hour_slot(h, zone)
        if seasonal and slot in by_slot:
            k = slot_n[slot]  # undo this hour's share of the slot's shrunk average
            e = (by_slot[slot] * (k + _SLOT_PRIOR) - n) / (k - 1 + _SLOT_PRIOR)
            samples = k - 1 + _SLOT_PRIOR
        else:
            e = (mean * len(hours) - n) / max(1, len(hours) - 1)
            samples = max(1, len(hours) - 1)
        e = max(e, _FLOOR_PER_HOUR)
        pairs.append((n, e, e / samples))
    return pairs


def _dispersion(pairs: Sequence[tuple[int, float, float]]) -> float:
    """Overdispersion by the method of moments on held-out residuals: the spread beyond Poisson noise
    and beyond the error of the held-out expectation itself, against sum(e^2)."""
    excess = weight = 0.0
    for n, e, e_var in pairs:
        excess += (n - e) ** 2 - e - e_var
        weight += e * e
    return min(_MAX_ALPHA, max(0.0, excess / weight)) if weight > 0 else 0.0


def learn_baseline(detect: SpikeDetect, counts: BucketCounts, hours: Sequence[int], zone: tzinfo) -> Baseline:
    """Rates and dispersion from the baseline hours, with hours that were spikes themselves left out.

    Hours far above the rate held out for them (far by the brand's own dispersion, so a brand that
    swings keeps its busy hours) are left out, so a crisis last Tuesday does not make next Tuesday's
    crisis look usual; rates and the overdispersion are learned from the rest.
    """
    auto = detect.dispersion == "auto" and len(hours) >= 24
    kept = list(hours)
    alpha = 0.0
    # A spike inflates the dispersion it is judged by, which can hide its own shoulders: judge again
    # with the dispersion of what is left, until nothing more is left out.
    for _ in range(_SPIKE_PASSES):
        pairs = _held_out_rates(counts, kept, detect.seasonal, zone)
        alpha = _dispersion(pairs) if auto else 0.0
        keep = [
            h for h, (n, e, _) in zip(kept, pairs, strict=True)
            if not (n >= detect.min_count and n >= 2 * e
                    and negative_binomial_upper_tail(n, e, alpha) <= _SPIKE_HOUR_P)
        ]  # fmt: skip
        if len(keep) == len(kept):
            break
        kept = keep
    else:
        alpha = _dispersion(_held_out_rates(counts, kept, detect.seasonal, zone)) if auto else 0.0
    mean, by_slot, by_hour = expected_rates(counts, kept, detect.seasonal, zone)
    return Baseline(mean, by_slot, by_hour, alpha, len(kept), len(hours) - len(kept))


def _baseline(detect: SpikeDetect, counts: BucketCounts, now: float, history_start: float | None,
              zone: tzinfo, watched: set[int] | None) -> Baseline:  # fmt: skip
    """The rule's baseline before its longest window, learned once per hour and kept on the counts."""
    start = now - max(detect.windows).total_seconds()
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    end_hour = math.floor(start / 3600)
    key = (hours[0] if hours else end_hour, end_hour, len(hours), detect, zone)
    return counts.learned_before(key, end_hour, lambda: learn_baseline(detect, counts, hours, zone))


def _window_count(counts: BucketCounts, base: Baseline, now: float, window: float, zone: tzinfo) -> tuple[int, float]:
    """(count, expected) for one window ending at now."""
    start = now - window
    count = counts.window(start, now)
    expected = 0.0
    h = math.floor(start / 3600)
    while h * 3600 < now:
        overlap = min(now, (h + 1) * 3600) - max(start, h * 3600)
        expected += base.rate(h, zone) * overlap / 3600
        h += 1
    return count, expected


def evaluate_spike(
    detect: SpikeDetect,
    counts: BucketCounts,
    now: float,
    history_start: float | None,
    zone: tzinfo,
    watched: set[int] | None = None,
    explain: bool = True,
) -> Evaluation:
    """The count in each of the rule's windows against the seasonal expectation (negative binomial tail).

    The main window decides; a fast window catches a sudden start sooner and a long window a slow climb.
    The figures are those of the window that fired with the smallest p-value, else the main window's.
    With explain False (nobody reads a quiet evaluation's figures) the p-value of a window that cannot
    fire anyway (under min_count or min_ratio) is not computed and is left out of the figures.
    """
    base = _baseline(detect, counts, now, history_start, zone, watched)
    learning = base.hours * 3600 < min(detect.min_history, detect.baseline).total_seconds()
    tested = []
    for window in detect.windows:
        seconds = window.total_seconds()
        count, expected = _window_count(counts, base, now, seconds, zone)
        ratio = count / expected if expected > 0 else math.inf
        may_fire = count >= detect.min_count and ratio >= detect.min_ratio
        # The same overdispersion for every window: swings come by the day as well as by the hour, and
        # a day's swing does not average out over a window of a few hours.
        p_value = negative_binomial_upper_tail(count, expected, base.alpha) if may_fire or explain else None
        fires = may_fire and p_value is not None and p_value <= detect.max_p_value
        tested.append((fires, p_value, count, expected, ratio, seconds))
    fired = [t for t in tested if t[0]] if not learning else []
    chosen = min(fired, key=lambda t: t[1] or 0.0) if fired else tested[0]
    _, p_value, count, expected, ratio, seconds = chosen
    figures: dict[str, Any] = {"count": count, "expected": round(expected, 3), "ratio": round(ratio, 3)}
    if p_value is not None:
        figures["p_value"] = float(f"{p_value:.3g}")
    figures.update(window_seconds=int(seconds), baseline_hours=base.hours, dispersion=round(base.alpha, 3))
    if base.left_out:
        figures["baseline_spike_hours"] = base.left_out
    if learning:
        return Evaluation(False, count, figures, f"learning: {base.hours}h of history")
    if fired:
        return Evaluation(True, count, figures, "", seconds)
    reasons = []
    if count < detect.min_count:
        reasons.append(f"count {count} < min_count {detect.min_count}")
    if ratio < detect.min_ratio:
        reasons.append(f"ratio {ratio:.2f} < min_ratio {detect.min_ratio:g}")
    if p_value is not None and p_value > detect.max_p_value:
        reasons.append(f"p {p_value:.2g} > max_p_value {detect.max_p_value:g}")
    return Evaluation(False, count, figures, "; ".join(reasons))


def evaluate_keyword(detect: KeywordDetect, counts: BucketCounts, reach: BucketCounts, now: float) -> Evaluation:
    """Crisis terms in at least min_count mentions, or in one from an author with min_followers."""
    start = now - detect.window.total_seconds()
    count, loud = counts.window(start, now), reach.window(start, now) if detect.min_followers else 0
    firing = count >= detect.min_count or loud > 0
    figures = {"count": count, "threshold": detect.min_count, "high_reach": loud}
    return Evaluation(firing, count, figures, "" if firing else f"{count} < min_count {detect.min_count}")


def evaluate_influencer(detect: InfluencerDetect, counts: BucketCounts, now: float) -> Evaluation:
    """At least one matching mention from an author with min_followers (counts hold only those)."""
    count = counts.window(now - detect.window.total_seconds(), now)
    firing = count >= 1
    figures = {"count": count, "min_followers": detect.min_followers}
    return Evaluation(firing, count, figures, "" if firing else "no mention from an author that large")


def _share_baseline(counts: BucketCounts, totals: BucketCounts, hours: Sequence[int], end_hour: int) -> tuple[int, int]:
    """(matching, all) mentions over the baseline hours, summed once per hour and kept on the rule's
    counts while neither they nor the brand's totals change before the window."""
    key = (hours[0] if hours else end_hour, end_hour, len(hours))
    reader = id(counts)

    def learn() -> tuple[int, int]:
        totals.learned(reader)
        return sum(counts.hour(h) for h in hours), sum(totals.hour(h) for h in hours)

    return counts.learned_before(key, end_hour, learn, fresh=totals.edited_since(reader) >= end_hour)


def evaluate_share(
    detect: ShareDetect,
    counts: BucketCounts,
    totals: BucketCounts,
    now: float,
    history_start: float | None,
    watched: set[int] | None = None,
) -> Evaluation:
    """The matching share of the brand's scored mentions, against a level and against its baseline."""
    window = detect.window.total_seconds()
    start = now - window
    count, total = counts.window(start, now), totals.window(start, now)
    share = count / total if total else 0.0
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    base_count, base_total = _share_baseline(counts, totals, hours, math.floor(start / 3600))
    # Smoothed toward an even chance, so a thin baseline cannot make any share look extreme.
    usual = (base_count + 1) / (base_total + 2)
    ratio = share / usual
    figures: dict[str, Any] = {"count": count, "total": total, "share": round(share, 3),
                               "expected_share": round(usual, 3), "ratio": round(ratio, 3)}  # fmt: skip
    if len(hours) * 3600 < min(detect.min_history, detect.baseline).total_seconds():
        return Evaluation(False, count, figures, f"learning: {len(hours)}h of history")
    reasons = []
    if count < detect.min_count:
        reasons.append(f"count {count} < min_count {detect.min_count}")
    if share < detect.max_share and ratio < detect.min_ratio:
        reasons.append(f"share {share:.0%} under {detect.max_share:.0%} and {ratio:.2f}x under {detect.min_ratio:g}x")
    return Evaluation(not reasons, count, figures, "; ".join(reasons))


@dataclass(frozen=True, slots=True)
class Failure:
    """A source whose polls are failing, as the daemon's source health reports it."""

    since: float
    error: str


def evaluate_silence(
    detect: SilenceDetect,
    counts: BucketCounts,
    now: float,
    history_start: float | None,
    zone: tzinfo,
    watched: set[int] | None = None,
    failures: Mapping[str, Failure] | None = None,
) -> Evaluation:
    """Fire when a source has failed for failing_for, or when the brand went quiet where it never is.

    Quiet is judged on whole hour buckets (backfilled history included, so a fresh start is not a
    silence) and only over hours when the brand's sources were polled: hours when they were down
    are the failing part's to report, not evidence that nobody talks about the brand.
    """
    failing = {}
    if detect.failing_for is not None and failures:
        limit = detect.failing_for.total_seconds()
        failing = {name: f for name, f in sorted(failures.items()) if now - f.since >= limit}
    quiet = detect.quiet_for.total_seconds()
    first, last = math.floor((now - quiet) / 3600), math.floor(now / 3600)
    window_hours = range(first, last + 1)
    count = sum(map(counts.hour, window_hours))
    hours = baseline_hours(first * 3600.0, detect.baseline.total_seconds(), history_start, watched)
    figures: dict[str, Any] = {"count": count, "baseline_hours": len(hours)}
    if failing:
        figures["failing"] = {name: {"since": f.since, "error": f.error} for name, f in failing.items()}
        return Evaluation(True, count, figures, "", quiet)
    if count:  # not quiet: no need to learn what was expected
        return Evaluation(False, count, figures, f"{count} mentions")
    if len(hours) * 3600 < min(detect.min_history, detect.baseline).total_seconds():
        return Evaluation(False, count, figures, f"learning: {len(hours)}h of history")
    if watched is not None and not all(h in watched for h in window_hours):
        return Evaluation(False, count, figures, "sources not polled through the whole window")
    mean, by_slot, by_hour = _silence_rates(counts, hours, first, zone)
    expected = 0.0
    for h in window_hours:
        overlap = min(now, (h + 1) * 3600) - max(now - quiet, h * 3600)
        slot = hour_slot(h, zone)
        expected += max(0.0, overlap) / 3600 * by_slot.get(slot, by_hour.get(slot[1], mean))
    figures["expected"] = round(expected, 3)
    if expected >= detect.min_expected:
        return Evaluation(True, count, figures, "", quiet)
    return Evaluation(False, count, figures, f"expected {expected:.1f} < min_expected {detect.min_expected:g}")


def _silence_rates(
    counts: BucketCounts, hours: Sequence[int], end_hour: int, zone: tzinfo
) -> tuple[float, dict[tuple[int, int], float], dict[int, float]]:
    """The seasonal rates before the quiet window, learned once per hour and kept on the rule's counts."""
    key = (hours[0] if hours else end_hour, end_hour, len(hours), zone)
    return counts.learned_before(key, end_hour, lambda: expected_rates(counts, hours, True, zone))
