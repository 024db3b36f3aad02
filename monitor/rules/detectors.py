"""Detectors: pure functions from counts and a clock reading to an Evaluation."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from monitor.rules.counts import BucketCounts
from monitor.rules.model import InfluencerDetect, KeywordDetect, ShareDetect, SpikeDetect, VolumeDetect
from monitor.rules.stats import poisson_upper_tail

# Shrinkage weights (in pseudo-observations): a slot of the week with two samples leans half on
# the hour-of-day profile, and an hour of day leans on the overall mean, so sparse history still
# gives a sane expectation.
_SLOT_PRIOR = 2.0
_HOUR_PRIOR = 2.0
# Never expect less than one mention a day: with an expectation of zero any count is "significant".
_FLOOR_PER_HOUR = 1.0 / 24.0


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a detector saw at one tick."""

    firing: bool
    count: int
    figures: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


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
) -> list[int]:
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
    return list(range(first_hour, end_hour))


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


def evaluate_spike(
    detect: SpikeDetect,
    counts: BucketCounts,
    now: float,
    history_start: float | None,
    zone: tzinfo,
    watched: set[int] | None = None,
) -> Evaluation:
    """Poisson upper-tail test of the window's count against the seasonal expected count."""
    window = detect.window.total_seconds()
    start = now - window
    count = counts.window(start, now)
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    history_hours = len(hours)
    end_hour = math.floor(start / 3600)
    key = (hours[0] if hours else end_hour, end_hour, history_hours, detect.seasonal, zone)
    cached = counts.baseline_cache
    if cached is not None and cached[0] == key and counts.edited_from >= end_hour:
        mean, by_slot, by_hour = cached[1]  # type: ignore[misc]
    else:
        mean, by_slot, by_hour = expected_rates(counts, hours, detect.seasonal, zone)
        counts.baseline_cache = (key, (mean, by_slot, by_hour))
        counts.edited_from = float("inf")

    expected = 0.0
    h = math.floor(start / 3600)
    while h * 3600 < now:
        overlap = min(now, (h + 1) * 3600) - max(start, h * 3600)
        slot = hour_slot(h, zone)
        rate = by_slot.get(slot, by_hour.get(slot[1], mean))
        expected += max(rate, _FLOOR_PER_HOUR) * overlap / 3600
        h += 1
    ratio = count / expected if expected > 0 else math.inf
    p_value = poisson_upper_tail(count, expected)
    figures: dict[str, Any] = {
        "count": count,
        "expected": round(expected, 3),
        "ratio": round(ratio, 3),
        "p_value": float(f"{p_value:.3g}"),
        "baseline_hours": history_hours,
    }
    if history_hours * 3600 < min(detect.min_history, detect.baseline).total_seconds():
        return Evaluation(False, count, figures, f"learning: {history_hours}h of history")
    reasons = []
    if count < detect.min_count:
        reasons.append(f"count {count} < min_count {detect.min_count}")
    if ratio < detect.min_ratio:
        reasons.append(f"ratio {ratio:.2f} < min_ratio {detect.min_ratio:g}")
    if p_value > detect.max_p_value:
        reasons.append(f"p {p_value:.2g} > max_p_value {detect.max_p_value:g}")
    return Evaluation(not reasons, count, figures, "; ".join(reasons))


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
    base_count, base_total = sum(counts.hour(h) for h in hours), sum(totals.hour(h) for h in hours)
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
