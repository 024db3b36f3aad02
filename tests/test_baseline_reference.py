"""The spike baseline, learned with arrays, against its definition written out hour by hour.

rules/baseline.py learns a week's 168 slots with numpy. This test keeps the plain definition (the code
before the arrays, one hour and one slot at a time) and checks on generated histories that both leave
out the same hours and learn the same rates and dispersion, to rounding.
"""

from __future__ import annotations

import math
from datetime import UTC, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.baseline import _FLOOR_PER_HOUR, hour_slot, learn_baseline
from monitor.rules.counts import BucketCounts
from monitor.rules.model import SpikeDetect
from monitor.rules.stats import negative_binomial_upper_tail

SHAPE, HOUR_PRIOR, DAY_PRIOR, CAP, MAX_ALPHA = 8.0, 2.0, 24.0, 4.0, 1.0


def reference_seasonal(counts, hours, zone):  # type: ignore[no-untyped-def]
    slots = [hour_slot(h, zone) for h in hours]
    values = [counts.hours.get(h, 0) for h in hours]
    mean = sum(values) / len(hours)
    cap = max(5.0, CAP * mean)
    hod_sum, dow_sum, slot_sum, slot_n = {}, {}, {}, {}
    for (d, hh), n in zip(slots, values, strict=True):
        dow_sum[d] = dow_sum.get(d, 0) + min(n, cap)
        hod_sum[hh] = hod_sum.get(hh, 0) + min(n, cap)
        slot_sum[(d, hh)] = slot_sum.get((d, hh), 0) + n
        slot_n[(d, hh)] = slot_n.get((d, hh), 0) + 1
    hod, dow = dict.fromkeys(range(24), 1.0), dict.fromkeys(range(7), 1.0)
    if mean > 0:
        for _ in range(3):
            fitted = {}
            for (d, hh), k in slot_n.items():
                fitted[hh] = fitted.get(hh, 0.0) + k * mean * dow[d]
            hod = {hh: (hod_sum.get(hh, 0) + HOUR_PRIOR * mean) / (fitted.get(hh, 0.0) + HOUR_PRIOR * mean)
                   for hh in range(24)}  # fmt: skip
            fitted = {}
            for (d, hh), k in slot_n.items():
                fitted[d] = fitted.get(d, 0.0) + k * mean * hod[hh]
            dow = {d: (dow_sum.get(d, 0) + DAY_PRIOR * mean) / (fitted.get(d, 0.0) + DAY_PRIOR * mean)
                   for d in range(7)}  # fmt: skip
    prior = {(d, hh): mean * hod[hh] * dow[d] for d in range(7) for hh in range(24)}

    def rate(slot, less=0.0, fewer=0):  # type: ignore[no-untyped-def]
        p = prior[slot]
        if p <= 0:
            return 0.0
        return p * (SHAPE + slot_sum.get(slot, 0) - less) / (SHAPE + (slot_n.get(slot, 0) - fewer) * p)

    pairs = []
    for slot, n in zip(slots, values, strict=True):
        e = max(rate(slot, n, 1), _FLOOR_PER_HOUR)
        others, p = slot_n[slot] - 1, prior[slot]
        pairs.append((n, e, others * e * p**2 / (SHAPE + others * p) ** 2 if p > 0 else 0.0))
    return pairs, {slot: rate(slot) for slot in prior}


def reference_dispersion(pairs):  # type: ignore[no-untyped-def]
    excess = sum((n - e) ** 2 - e - v for n, e, v in pairs)
    weight = sum(e * e for _, e, _ in pairs)
    return min(MAX_ALPHA, max(0.0, excess / weight)) if weight > 0 else 0.0


def reference_learn(detect, counts, hours, zone):  # type: ignore[no-untyped-def]
    def spike(n, e, alpha):  # type: ignore[no-untyped-def]
        return n >= detect.min_count and n >= 3.0 * e and negative_binomial_upper_tail(n, e, alpha) <= 1e-3

    kept = list(hours)
    pairs, rates = reference_seasonal(counts, kept, zone)
    alpha = reference_dispersion([p for p in pairs if not spike(p[0], p[1], 0.0)])
    for _ in range(4):
        keep = [h for h, (n, e, _) in zip(kept, pairs, strict=True) if not spike(n, e, alpha)]
        if len(keep) == len(kept):
            break
        kept = keep
        pairs, rates = reference_seasonal(counts, kept, zone)
        alpha = reference_dispersion(pairs)
    return rates, alpha, len(kept)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    level=st.sampled_from([0.3, 2.0, 9.0, 60.0]),
    noise=st.lists(st.integers(0, 6), min_size=400, max_size=400),
    spikes=st.lists(st.tuples(st.integers(0, 399), st.integers(5, 200)), max_size=6),
    first=st.integers(400_000, 500_000),
    length=st.sampled_from([30, 200, 336]),
    zone=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]),
)
def test_learned_baseline_matches_its_definition(level, noise, spikes, first, length, zone) -> None:  # type: ignore[no-untyped-def]
    counts = BucketCounts()
    for i, extra in enumerate(noise):
        n = round(level * (0.4 + (i % 24) / 16) * (0.5 + extra / 6))
        if n:
            counts.hours[first + i] = n
    for i, n in spikes:
        counts.hours[first + i] += n
    detect = SpikeDetect(seasonal=True, dispersion="auto")
    hours = range(first + 400 - length, first + 400)
    learned = learn_baseline(detect, counts, hours, zone)
    rates, alpha, kept = reference_learn(detect, counts, hours, zone)
    assert learned.hours == kept
    assert close(learned.alpha, alpha)
    assert learned.by_slot.keys() == rates.keys()
    assert all(close(learned.by_slot[slot], rate) for slot, rate in rates.items())
