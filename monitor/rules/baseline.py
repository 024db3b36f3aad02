"""Baselines of spike rules: the expected hourly rate for each hour of the week, learned from the
baseline's hour buckets, and how far the brand's counts swing around it. Pure functions."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from monitor.rules.counts import BucketCounts
from monitor.rules.model import SpikeDetect
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
    slots: list[tuple[int, int]]  # the slot of each hour learned from, in order

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
    get = counts.hours.get
    values = [get(h, 0) for h in hours]
    mean = sum(values) / len(hours)
    cap = max(5.0, _FACTOR_CAP * mean)
    hod_sum: dict[int, float] = {}
    dow_sum: dict[int, float] = {}
    slot_sum: dict[tuple[int, int], float] = {}
    slot_n: dict[tuple[int, int], int] = {}
    for slot, n in zip(slots, values, strict=True):
        d, hh = slot
        capped = min(n, cap)
        dow_sum[d] = dow_sum.get(d, 0) + capped
        hod_sum[hh] = hod_sum.get(hh, 0) + capped
        slot_sum[slot] = slot_sum.get(slot, 0) + n
        slot_n[slot] = slot_n.get(slot, 0) + 1
    hod: dict[int, float] = dict.fromkeys(range(24), 1.0)
    dow: dict[int, float] = dict.fromkeys(range(7), 1.0)
    if mean > 0:
        # k * mean * factor is (k * mean) * factor: the products are kept, the sums added in the same order.
        weighted = [(d, hh, k * mean) for (d, hh), k in slot_n.items()]
        hour_prior, day_prior = _HOUR_PRIOR * mean, _DAY_PRIOR * mean
        for _ in range(3):
            fitted: dict[int, float] = {}
            for d, hh, km in weighted:
                fitted[hh] = fitted.get(hh, 0.0) + km * dow[d]
            hod = {hh: (hod_sum.get(hh, 0) + hour_prior) / (fitted.get(hh, 0.0) + hour_prior) for hh in range(24)}
            fitted = {}
            for d, hh, km in weighted:
                fitted[d] = fitted.get(d, 0.0) + km * hod[hh]
            dow = {d: (dow_sum.get(d, 0) + day_prior) / (fitted.get(d, 0.0) + day_prior) for d in range(7)}
    prior = {(d, hh): mean * hod[hh] * dow[d] for d in range(7) for hh in range(24)}
    by_hour = {hh: mean * hod[hh] for hh in range(24)}
    return _Seasonal(mean, prior, slot_sum, slot_n, by_hour, slots)


def expected_rates(
    counts: BucketCounts, hours: Sequence[int], seasonal: bool, zone: tzinfo, parts: _Seasonal | None = None
) -> tuple[float, dict[tuple[int, int], float], dict[int, float]]:
    """Hourly rates learned from these hour buckets.

    Returns the overall mean, the rate per (weekday, hour) slot and per hour of day (empty without
    seasonality). A slot of the week has a couple of samples in a fortnight, too few to trust alone at
    a few mentions an hour (two quiet Monday nights say little about the third): its rate leans on the
    brand's hour-of-day and weekday pattern, and moves toward its own average as far as its counts can
    tell the two apart, so a peak that comes every Thursday at 16:00 is learned and a pair of zeros is not.
    parts, when given, is _seasonal(counts, hours, zone) already worked out.
    """
    total = sum(counts.hour(h) for h in hours)
    mean = total / len(hours) if hours else 0.0
    if not seasonal or not hours:
        return mean, {}, {}
    parts = parts or _seasonal(counts, hours, zone)
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
) -> tuple[list[tuple[int, float, float]], _Seasonal | None]:
    """(count, expected, the expectation's own variance) for each hour, the expectation learned from
    the other hours of its slot; and the seasonal parts learned from all of them (None without).

    A slot of the week has only a couple of samples in a fortnight: against rates that include the
    hour itself, a spike would raise its own expectation and ordinary swings would look smaller.
    """
    pairs = []
    if seasonal and hours:
        parts = _seasonal(counts, hours, zone)
        get, slot_n, priors = counts.hours.get, parts.slot_n, parts.prior
        for h, slot in zip(hours, parts.slots, strict=True):
            n, prior = get(h, 0), priors[slot]
            e = max(parts.rate(slot, n, 1), _FLOOR_PER_HOUR)  # the slot's rate with this hour left out
            # The other hours of the slot vary by about e each; the hour-of-day and weekday pattern is
            # learned from hundreds of hours and hardly varies: only the former's share counts.
            others = slot_n[slot] - 1
            e_var = others * e * prior**2 / (_SLOT_SHAPE + others * prior) ** 2 if prior > 0 else 0.0
            pairs.append((n, e, e_var))
        return pairs, parts
    mean = sum(counts.hour(h) for h in hours) / len(hours) if hours else 0.0
    for h in hours:
        n = counts.hour(h)
        e = max((mean * len(hours) - n) / max(1, len(hours) - 1), _FLOOR_PER_HOUR)
        pairs.append((n, e, e / max(1, len(hours) - 1)))
    return pairs, None


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

    pairs, parts = _held_out_rates(counts, kept, detect.seasonal, zone)
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
        pairs, parts = _held_out_rates(counts, kept, detect.seasonal, zone)
        alpha = _dispersion(pairs) if auto else 0.0
    # parts were learned from exactly the hours kept: the last held-out pass ran on them.
    mean, by_slot, by_hour = expected_rates(counts, kept, detect.seasonal, zone, parts)
    return Baseline(mean, by_slot, by_hour, alpha, len(kept), len(hours) - len(kept))
