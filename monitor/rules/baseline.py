"""Baselines of spike rules: the expected hourly rate for each hour of the week, learned from the
baseline's hour buckets, and how far the brand's counts swing around it. Pure functions."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np

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


_SLOTS = 7 * 24  # (weekday, hour of day) slots of a week, numbered weekday * 24 + hour
_BLOCK = 4096  # hours per block of the slot table


@functools.lru_cache(maxsize=256)
def _slot_table(block: int, zone: tzinfo) -> np.ndarray:
    """The slot number of each hour of one block of _BLOCK epoch hours, in the zone."""
    first = block * _BLOCK
    return np.array([d * 24 + hh for d, hh in (hour_slot(h, zone) for h in range(first, first + _BLOCK))], np.intp)


def _slot_numbers(hours: np.ndarray, zone: tzinfo) -> np.ndarray:
    """The slot number of each hour (hours ascending)."""
    first, last = int(hours[0]) // _BLOCK, int(hours[-1]) // _BLOCK
    table = _slot_table(first, zone)
    if last != first:
        table = np.concatenate([table, *(_slot_table(b, zone) for b in range(first + 1, last + 1))])
    numbers: np.ndarray = table[hours - first * _BLOCK]
    return numbers


@dataclass(frozen=True, slots=True)
class _Seasonal:
    """The pieces of a seasonal rate, by slot number: the mean, each slot's prior rate from the hour-of-day
    and weekday pattern, and each slot's own sum and number of hours."""

    mean: float
    prior: np.ndarray
    slot_sum: np.ndarray
    slot_n: np.ndarray
    by_hour: dict[int, float]
    slots: np.ndarray  # the slot number of each hour learned from, in order
    values: np.ndarray  # each hour's count, in order

    def rates(self) -> np.ndarray:
        """Every slot's rate: its prior, moved toward its own average as far as its counts can tell the
        two apart (a gamma-Poisson posterior mean)."""
        prior = self.prior
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = prior * (_SLOT_SHAPE + self.slot_sum) / (_SLOT_SHAPE + self.slot_n * prior)
        return np.where(prior > 0, rate, 0.0)

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Each hour's slot rate learned with that hour left out, and that rate's own variance."""
        slots, n = self.slots, self.values
        prior, others = self.prior[slots], self.slot_n[slots] - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            e = prior * (_SLOT_SHAPE + self.slot_sum[slots] - n) / (_SLOT_SHAPE + others * prior)
            # The other hours of the slot vary by about e each; the hour-of-day and weekday pattern is
            # learned from hundreds of hours and hardly varies: only the former's share counts.
            e = np.maximum(np.where(prior > 0, e, 0.0), _FLOOR_PER_HOUR)
            e_var = np.where(prior > 0, others * e * prior**2 / (_SLOT_SHAPE + others * prior) ** 2, 0.0)
        return e, e_var


def _values(counts: BucketCounts, hours: Sequence[int]) -> np.ndarray:
    get = counts.hours.get
    return np.fromiter((get(h, 0) for h in hours), np.float64, len(hours))


def _seasonal(counts: BucketCounts, hours: Sequence[int], zone: tzinfo) -> _Seasonal:
    """Hour-of-day and weekday factors (multiplicative, fitted by a few rounds of proportional fitting,
    each shrunk toward 1) and every slot's sums.

    The factors are the brand's shape, not its incidents: an hour counts toward them at most
    _FACTOR_CAP times the mean (a crisis at 03:00 last Monday must not make every night, or every
    Monday, look busy), and a weekday leans on 1 as much as a day of data would.
    """
    slots = _slot_numbers(np.fromiter(hours, np.intp, len(hours)), zone)
    values = _values(counts, hours)
    mean = float(values.sum()) / len(hours)
    capped = np.minimum(values, max(5.0, _FACTOR_CAP * mean))
    slot_sum = np.bincount(slots, values, _SLOTS)
    slot_n = np.bincount(slots, minlength=_SLOTS)
    hod_sum = np.bincount(slots % 24, capped, 24)
    dow_sum = np.bincount(slots // 24, capped, 7)
    hod, dow = np.ones(24), np.ones(7)
    if mean > 0:
        weighted = (slot_n * mean).reshape(7, 24)  # weekday x hour of day
        hour_prior, day_prior = _HOUR_PRIOR * mean, _DAY_PRIOR * mean
        for _ in range(3):
            hod = (hod_sum + hour_prior) / (weighted.T @ dow + hour_prior)
            dow = (dow_sum + day_prior) / (weighted @ hod + day_prior)
    prior = (mean * hod[np.newaxis, :] * dow[:, np.newaxis]).ravel()
    by_hour = dict(enumerate((mean * hod).tolist()))
    return _Seasonal(mean, prior, slot_sum, slot_n, by_hour, slots, values)


def _by_slot(rates: np.ndarray) -> dict[tuple[int, int], float]:
    return {(i // 24, i % 24): rate for i, rate in enumerate(rates.tolist())}


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
    if not hours:
        return 0.0, {}, {}
    if not seasonal:
        return float(_values(counts, hours).sum()) / len(hours), {}, {}
    parts = parts or _seasonal(counts, hours, zone)
    return parts.mean, _by_slot(parts.rates()), parts.by_hour


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
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], _Seasonal | None]:
    """(counts, expectations, the expectations' own variances), one of each for each hour, the
    expectation learned from the other hours of its slot; and the seasonal parts learned from all of them
    (None without).

    A slot of the week has only a couple of samples in a fortnight: against rates that include the
    hour itself, a spike would raise its own expectation and ordinary swings would look smaller.
    """
    if seasonal and hours:
        parts = _seasonal(counts, hours, zone)
        return (parts.values, *parts.held_out()), parts
    values = _values(counts, hours)
    others = max(1, len(hours) - 1)
    e = np.maximum((float(values.sum()) - values) / others, _FLOOR_PER_HOUR)
    return (values, e, e / others), None


def _dispersion(n: np.ndarray, e: np.ndarray, e_var: np.ndarray) -> float:
    """Overdispersion by the method of moments on held-out residuals: the spread beyond Poisson noise
    and beyond the error of the held-out expectation itself, against sum(e^2)."""
    weight = float(np.dot(e, e))
    if weight <= 0:
        return 0.0
    excess = float(np.sum((n - e) ** 2 - e - e_var))
    return min(_MAX_ALPHA, max(0.0, excess / weight))


def learn_baseline(detect: SpikeDetect, counts: BucketCounts, hours: Sequence[int], zone: tzinfo) -> Baseline:
    """Rates and dispersion from the baseline hours, with hours that were spikes themselves left out.

    Hours far above the rate held out for them (far by the brand's own dispersion, so a brand that
    swings keeps its busy hours) are left out, so a crisis last Tuesday does not make next Tuesday's
    crisis look usual; rates and the overdispersion are learned from the rest.
    """
    auto = detect.dispersion == "auto" and len(hours) >= 24
    kept: Sequence[int] = hours
    alpha = 0.0

    def spikes(pairs: tuple[np.ndarray, np.ndarray, np.ndarray], alpha: float) -> np.ndarray:
        """Which hours were spikes: the cheap tests on all of them, the tail only where those pass."""
        n, e, _ = pairs
        out = (n >= detect.min_count) & (n >= _SPIKE_HOUR_RATIO * e)
        for i in np.flatnonzero(out).tolist():
            out[i] = negative_binomial_upper_tail(int(n[i]), float(e[i]), alpha) <= _SPIKE_HOUR_P
        return out

    pairs, parts = _held_out_rates(counts, kept, detect.seasonal, zone)
    if auto:
        # A spike inflates the dispersion it is judged by (an 8-hour crisis can make every later one look
        # like an ordinary swing): the first judgement is by the dispersion of the hours that are not
        # spikes even by Poisson's measure; then judge again with the dispersion of what is left, until
        # nothing more is left out.
        calm = ~spikes(pairs, 0.0)
        alpha = _dispersion(*(column[calm] for column in pairs))
    for _ in range(_SPIKE_PASSES):
        left_out = spikes(pairs, alpha)
        if not left_out.any():
            break
        kept = [h for h, out in zip(kept, left_out.tolist(), strict=True) if not out]
        pairs, parts = _held_out_rates(counts, kept, detect.seasonal, zone)
        alpha = _dispersion(*pairs) if auto else 0.0
    # parts were learned from exactly the hours kept: the last held-out pass ran on them.
    mean, by_slot, by_hour = expected_rates(counts, kept, detect.seasonal, zone, parts)
    return Baseline(mean, by_slot, by_hour, alpha, len(kept), len(hours) - len(kept))
