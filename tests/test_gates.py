"""The tick's spike gate says "quiet" only where the detector would not fire (rules/gates.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import evaluate_share, evaluate_spike, share_quiet
from monitor.rules.gates import SpikeGate
from monitor.rules.model import ShareDetect, SpikeDetect

START = datetime(2026, 11, 2, tzinfo=UTC).timestamp()  # a Monday
HOUR = 3600.0
DETECTS = (
    SpikeDetect(min_ratio=2.0, max_p_value=2e-5, more_windows=(timedelta(minutes=10), timedelta(minutes=20))),
    SpikeDetect(min_count=10, min_ratio=2.5, max_p_value=1e-5, fast_window=timedelta(minutes=10)),
    SpikeDetect(window=timedelta(minutes=30), long_window=timedelta(hours=3), seasonal=False, dispersion="none"),
)


def stream(seed: int, rate: float, days: int, bursts: int) -> list[float]:
    """Mention times: a daily rhythm around rate an hour, with a few bursts."""
    rng = random.Random(seed)
    times = []
    for hour in range(days * 24):
        level = rate * (1.6 if 9 <= hour % 24 <= 18 else 0.4)
        times += [START + hour * HOUR + rng.random() * HOUR for _ in range(int(rng.expovariate(1 / level) + 0.5))]
    for _ in range(bursts):
        at = START + rng.uniform(2, days) * 86400
        times += [at + rng.random() * rng.choice((600.0, 1800.0, 3600.0)) for _ in range(rng.randint(5, 60))]
    return sorted(times)


def check(detect: SpikeDetect, times: list[float], zone: ZoneInfo | type[UTC] = UTC, step: float = 60.0) -> int:
    """Tick through the stream, asserting that a quiet gate never hides a firing; returns quiet ticks."""
    counts, gate, quiet_ticks = BucketCounts(), SpikeGate(), 0
    now, i = START + step, 0
    while now < times[-1]:
        while i < len(times) and times[i] < now:
            counts.add(times[i])
            i += 1
        quiet = gate.quiet(detect, counts, now, START, zone, None)
        fires = evaluate_spike(detect, counts, now, START, zone, None, explain=False).firing
        assert not (quiet and fires), (now, detect)
        quiet_ticks += quiet
        now += step
    return quiet_ticks


@settings(max_examples=12, deadline=None)
@given(
    st.integers(0, 10_000),
    st.sampled_from((0.5, 4.0, 30.0)),
    st.sampled_from(DETECTS),
    st.sampled_from((60.0, 300.0, 1234.0)),
)
def test_a_quiet_gate_never_hides_a_firing(seed: int, rate: float, detect: SpikeDetect, step: float) -> None:
    times = stream(seed, rate, days=4, bursts=6)
    assert check(detect, times, step=step) > 0


def test_the_gate_reads_rates_in_the_zone_and_lets_bursts_through() -> None:
    times = stream(7, 12.0, days=5, bursts=10)
    ticks = int((times[-1] - START) // 60)
    quiet = check(DETECTS[0], times, ZoneInfo("Europe/Berlin"))
    assert 0 < quiet < ticks  # most ticks quiet, the bursts evaluated


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from((2.0, 10.0, 40.0)), st.sampled_from((0.2, 0.35, 0.6)))
def test_share_quiet_is_the_share_rule_not_firing(seed: int, rate: float, negative: float) -> None:
    rng = random.Random(seed)
    detect = ShareDetect(window=timedelta(hours=1), baseline=timedelta(days=2), min_count=8, min_ratio=2.5)
    counts, totals = BucketCounts(), BucketCounts()
    now, agree = START + 60, 0
    for ts in stream(seed, rate, days=4, bursts=8):
        while ts >= now:
            quiet = share_quiet(detect, counts, totals, now, START)
            assert quiet == (not evaluate_share(detect, counts, totals, now, START).firing), now
            agree += quiet
            now += 60
        totals.add(ts)
        if rng.random() < negative or (ts - START) % 86400 < 1800:  # a daily half hour of complaints
            counts.add(ts)
    assert agree > 0
