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

# Shrinkage. An hour-of-day factor leans on 1 as much as two hours of data would, a weekday factor as
# much as a day would (a day is its 24 hours, an hour of day its 14 samples). A slot of
# the week leans on its hour-of-day x weekday prior as a gamma with this shape (its own rate within
# about +-35% of the prior unless its counts say otherwise): at two mentions an hour a slot's two
# samples barely move it, at forty they decide.
_HOUR_PRIOR = 2.0
_DAY_PRIOR = 24.0
_SLOT_SHAPE = 8.0
_FACTOR_CAP = 4.0
# Never expect less than one mention a day: with an expectation of zero any count is "significant".
_FLOOR_PER_HOUR = 1.0 / 24.0
# Overdispersion beyond this is a baseline too erratic to learn from, not a trait of the brand.
_MAX_ALPHA = 1.0
# A baseline hour this unlikely against the rest of its slot, and this many times its rate, was a
# spike: it is left out. (An hour at twice its rate is as often a brand's ordinary busy hour as a small
# crisis; left in, it teaches the dispersion how far this brand swings.)
_SPIKE_HOUR_P = 1e-3
_SPIKE_HOUR_RATIO = 3.0
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


@dataclass(frozen=True, slots=True)
class _Seasonal:
    """The pieces of a seasonal rate: the mean, each slot's prior rate from the hour-of-day and weekday
    pattern, and each slot's own sum and number of hours."""

    mean: float
    prior: dict[tuple[int, int], float]
    slot_sum: dict[tuple[int, int], float]
    slot_n: dict[tuple[int, int], int]
    by_hour: dict[int, float]

    def rate(self, slot: tuple[int, int], less: float = 0.0, fewer: int = 0) -> float:
        """The slot's rate (with less counted over fewer hours left out): its prior, moved toward its own
        average as far as its counts can tell the two apart (a gamma-Poisson posterior mean)."""
        prior = self.prior[slot]
        if prior <= 0:
            return 0.0
        n = self.slot_n.get(slot, 0) - fewer
        return prior * (_SLOT_SHAPE + self.slot_sum.get(slot, 0) - less) / (_SLOT_SHAPE + n * prior)


def _seasonal(counts: BucketCounts, hours: Sequence[int], zone: tzinfo) -> _Seasonal:
    """Hour-of-day and weekday factors (multiplicative, fitted by a few rounds of proportional fitting,
    each shrunk toward 1) and every slot's sums.

    The factors are the brand's shape, not its incidents: an hour counts toward them at most
    _FACTOR_CAP times the mean (a crisis at 03:00 last Monday must not make every night, or every
    Monday, look busy), and a weekday leans on 1 as much as a day of data would.
    """
    slots = [hour_slot(h, zone) for h in hours]
    values = [counts.hour(h) for h in hours]
    mean = sum(values) / len(hours)
    cap = max(5.0, _FACTOR_CAP * mean)
    hod_sum: dict[int, float] = {}
    dow_sum: dict[int, float] = {}
    slot_sum: dict[tuple[int, int], float] = {}
    slot_n: dict[tuple[int, int], int] = {}
    for slot, n in zip(slots, values, strict=True):
        dow_sum[slot[0]] = dow_sum.get(slot[0], 0) + min(n, cap)
        hod_sum[slot[1]] = hod_sum.get(slot[1], 0) + min(n, cap)
        slot_sum[slot] = slot_sum.get(slot, 0) + n
        slot_n[slot] = slot_n.get(slot, 0) + 1
    hod: dict[int, float] = dict.fromkeys(range(24), 1.0)
    dow: dict[int, float] = dict.fromkeys(range(7), 1.0)
    if mean > 0:
        for _ in range(3):
            fitted: dict[int, float] = {}
            for (d, hh), k in slot_n.items():
                fitted[hh] = fitted.get(hh, 0.0) + k * mean * dow[d]
            hod = {hh: (hod_sum.get(hh, 0) + _HOUR_PRIOR * mean) / (fitted.get(hh, 0.0) + _HOUR_PRIOR * mean)
                   for hh in range(24)}  # fmt: skip
            fitted = {}
            for (d, hh), k in slot_n.items():
                fitted[d] = fitted.get(d, 0.0) + k * mean * hod[hh]
            dow = {d: (dow_sum.get(d, 0) + _DAY_PRIOR * mean) / (fitted.get(d, 0.0) + _DAY_PRIOR * mean)
                   for d in range(7)}  # fmt: skip
    prior = {(d, hh): mean * hod[hh] * dow[d] for d in range(7) for hh in range(24)}
    by_hour = {hh: mean * hod[hh] for hh in range(24)}
    return _Seasonal(mean, prior, slot_sum, slot_n, by_hour)


def expected_rates(
    counts: BucketCounts, hours: Sequence[int], seasonal: bool, zone: tzinfo
) -> tuple[float, dict[tuple[int, int], float], dict[int, float]]:
    """Hourly rates learned from these hour buckets.

    Returns the overall mean, the rate per (weekday, hour) slot and per hour of day (empty without
    seasonality). A slot of the week has a couple of samples in a fortnight, too few to trust alone at
    a few mentions an hour (two quiet Monday nights say little about the third): its rate leans on the
    brand's hour-of-day and weekday pattern, and moves toward its own average as far as its counts can
    tell the two apart, so a peak that comes every Thursday at 16:00 is learned and a pair of zeros is not.
    """
    total = sum(counts.hour(h) for h in hours)
    mean = total / len(hours) if hours else 0.0
    if not seasonal or not hours:
        return mean, {}, {}
    parts = _seasonal(counts, hours, zone)
    return mean, {slot: parts.rate(slot) for slot in parts.prior}, parts.by_hour


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
    pairs = []
    if seasonal and hours:
        parts = _seasonal(counts, hours, zone)
        for h in hours:
            n, slot = counts.hour(h), hour_slot(h, zone)
            e = max(parts.rate(slot, n, 1), _FLOOR_PER_HOUR)
            # The other hours of the slot vary by about e each; the hour-of-day and weekday pattern is
            # learned from hundreds of hours and hardly varies: only the former's share counts.
            others, prior = parts.slot_n[slot] - 1, parts.prior[slot]
            e_var = others * e * prior**2 / (_SLOT_SHAPE + others * prior) ** 2 if prior > 0 else 0.0
            pairs.append((n, e, e_var))
        return pairs
    mean = sum(counts.hour(h) for h in hours) / len(hours) if hours else 0.0
    for h in hours:
        n = counts.hour(h)
        e = max((mean * len(hours) - n) / max(1, len(hours) - 1), _FLOOR_PER_HOUR)
        pairs.append((n, e, e / max(1, len(hours) - 1)))
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

    def spike(n: int, e: float, alpha: float) -> bool:
        return (
            n >= detect.min_count
            and n >= _SPIKE_HOUR_RATIO * e
            and negative_binomial_upper_tail(n, e, alpha) <= _SPIKE_HOUR_P
        )

    pairs = _held_out_rates(counts, kept, detect.seasonal, zone)
    if auto:
        # A spike inflates the dispersion it is judged by (an 8-hour crisis can make every later one look
        # like an ordinary swing): the first judgement is by the dispersion of the hours that are not
        # spikes even by Poisson's measure; then judge again with the dispersion of what is left, until
        # nothing more is left out.
        alpha = _dispersion([pair for pair in pairs if not spike(pair[0], pair[1], 0.0)])
    for _ in range(_SPIKE_PASSES):
        keep = [h for h, (n, e, _) in zip(kept, pairs, strict=True) if not spike(n, e, alpha)]
        if len(keep) == len(kept):
            break
        kept = keep
        pairs = _held_out_rates(counts, kept, detect.seasonal, zone)
        alpha = _dispersion(pairs) if auto else 0.0
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


def window_levels(detect: SpikeDetect) -> list[float]:
    """The p-value each window is tested at: max_p_value shared out in proportion to window length.

    A 10-minute window takes six independent looks an hour where a 1-hour window takes one; with each
    window's share proportional to its length, every window brings the same false-alarm rate per hour,
    and together they bring what max_p_value alone brings one window of their summed length. One
    window is tested at max_p_value itself.
    """
    lengths = [w.total_seconds() for w in detect.windows]
    return [detect.max_p_value * length / sum(lengths) for length in lengths]


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

    Every window is tested against the same baseline and the rule fires as soon as one passes: a short
    window sees a sudden start within minutes, the main one a spike that builds over the hour, a long one
    a slow climb. Looking more often must not fire more often on noise, so max_p_value is shared out
    between the windows by their length (see window_levels).
    The figures are those of the longest window that fired (the most posts, and the count that grows
    from one update to the next), else the main window's.
    With explain False (nobody reads a quiet evaluation's figures) the p-value of a window that cannot
    fire anyway (under min_count or min_ratio) is not computed and is left out of the figures.
    """
    base = _baseline(detect, counts, now, history_start, zone, watched)
    learning = base.hours * 3600 < min(detect.min_history, detect.baseline).total_seconds()
    tested = []
    levels = window_levels(detect)
    for window, level in zip(detect.windows, levels, strict=True):
        seconds = window.total_seconds()
        count, expected = _window_count(counts, base, now, seconds, zone)
        ratio = count / expected if expected > 0 else math.inf
        may_fire = count >= detect.min_count and ratio >= detect.min_ratio
        # The same overdispersion for every window: swings come by the day as well as by the hour, and
        # a day's swing does not average out over a window of a few hours.
        p_value = negative_binomial_upper_tail(count, expected, base.alpha) if may_fire or explain else None
        fires = may_fire and p_value is not None and p_value <= level
        tested.append((fires, p_value, count, expected, ratio, seconds, level))
    fired = [t for t in tested if t[0]] if not learning else []
    chosen = max(fired, key=lambda t: t[5]) if fired else tested[0]
    _, p_value, count, expected, ratio, seconds, level = chosen
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
    if p_value is not None and p_value > level:
        share = f" (this window's share of max_p_value {detect.max_p_value:g})" if len(detect.windows) > 1 else ""
        reasons.append(f"p {p_value:.2g} > {level:.2g}{share}" if share else f"p {p_value:.2g} > max_p_value {level:g}")
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
        return Evaluation(False, count, figures, f"not quiet: {count} mention{'s' if count != 1 else ''}")
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
