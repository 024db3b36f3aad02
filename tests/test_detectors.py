"""Detectors, counts and the Poisson tail: pure functions, tested without clocks."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import Failure, evaluate_silence, evaluate_spike, evaluate_volume, window_levels
from monitor.rules.model import SilenceDetect, SpikeDetect, VolumeDetect
from monitor.rules.stats import negative_binomial_upper_tail, poisson_upper_tail

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()  # a Tuesday
HOUR = 3600.0


def test_poisson_tail_known_values() -> None:
    assert poisson_upper_tail(0, 3.0) == 1.0
    assert math.isclose(poisson_upper_tail(1, 2.0), 1 - math.exp(-2.0))
    # P(X >= 3 | 1) = 1 - e^-1 (1 + 1 + 1/2)
    assert math.isclose(poisson_upper_tail(3, 1.0), 1 - math.exp(-1) * 2.5)
    # Far tail stays accurate where 1 - CDF would round to zero.
    tail = poisson_upper_tail(60, 2.0)
    assert 0 < tail < 1e-50
    assert math.isclose(tail, math.exp(-2 + 60 * math.log(2) - math.lgamma(61)), rel_tol=0.05)


@given(st.integers(0, 200), st.floats(0.01, 100))
def test_poisson_tail_is_a_probability_and_falls_with_k(k: int, lam: float) -> None:
    p = poisson_upper_tail(k, lam)
    assert 0.0 <= p <= 1.0
    assert poisson_upper_tail(k + 1, lam) <= p + 1e-12


def history(rate_by_hour: dict[int, int], days: int = 14, end: float = NOW - HOUR) -> BucketCounts:
    """A counts object with `rate_by_hour[hour of day]` mentions in each past hour."""
    counts = BucketCounts()
    start = end - days * 86400
    t = start
    while t < end:
        hour = datetime.fromtimestamp(t, UTC).hour
        for i in range(rate_by_hour.get(hour, 0)):
            counts.add(t + 60 * i + 1, live=False)
        t += HOUR
    return counts


def add_window(counts: BucketCounts, n: int, end: float = NOW) -> None:
    for i in range(n):
        counts.add(end - HOUR + 30 + i * (3500 / max(n, 1)))


DAILY = {h: (3 if 9 <= h <= 18 else 0) for h in range(24)}  # sparse, with a daily rhythm


def test_spike_fires_on_a_real_burst_in_sparse_history() -> None:
    counts = history(DAILY)
    add_window(counts, 15)
    result = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC)
    assert result.firing, result.reason
    assert result.figures["count"] == 15
    assert 2.0 < result.figures["expected"] < 4.0
    assert result.figures["p_value"] < 1e-4


def test_spike_ignores_one_to_three() -> None:
    counts = history({h: 1 for h in range(24)})
    add_window(counts, 3)
    result = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC)
    assert not result.firing
    assert "min_count" in result.reason


def test_spike_respects_the_daily_rhythm() -> None:
    # 6 in a busy afternoon hour is usual; 6 at 03:00, when there are usually none, is a spike.
    busy = {h: (6 if 12 <= h <= 17 else 0) for h in range(24)}
    counts = history(busy)
    add_window(counts, 7)
    assert not evaluate_spike(SpikeDetect(), counts, NOW, None, UTC).firing
    night = datetime(2026, 11, 24, 4, 0, tzinfo=UTC).timestamp()
    counts = history(busy, end=night - HOUR)
    add_window(counts, 7, end=night)
    assert evaluate_spike(SpikeDetect(), counts, night, None, UTC).firing


def test_spike_needs_history_first() -> None:
    counts = BucketCounts()
    add_window(counts, 30)
    result = evaluate_spike(SpikeDetect(), counts, NOW, NOW - 3 * HOUR, UTC)
    assert not result.firing and result.reason.startswith("learning")


def test_backfilled_mentions_never_count_in_the_window() -> None:
    counts = history(DAILY)
    for i in range(40):
        counts.add(NOW - HOUR + 60 * i, live=False)
    result = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC)
    assert result.count == 0 and not result.firing


def test_volume() -> None:
    counts = BucketCounts()
    detect = VolumeDetect(window=timedelta(minutes=30), min_count=3)
    for i in range(3):
        counts.add(NOW - 60 * (i + 1))
    counts.add(NOW - 3 * HOUR)
    assert evaluate_volume(detect, counts, NOW).firing
    assert not evaluate_volume(VolumeDetect(window=timedelta(minutes=30), min_count=4), counts, NOW).firing


def test_prune_keeps_what_is_needed() -> None:
    counts = history(DAILY, days=20)
    counts.prune(NOW - 15 * 86400)
    assert min(counts.hours) >= (NOW - 15 * 86400) // HOUR


def test_keyword_fires_on_a_few_or_on_one_big_voice() -> None:
    from monitor.rules.detectors import evaluate_keyword
    from monitor.rules.model import KeywordDetect

    detect = KeywordDetect(terms=("lawsuit",), min_count=3, min_followers=50_000)
    counts, reach = BucketCounts(), BucketCounts()
    counts.add(NOW - 60)
    assert not evaluate_keyword(detect, counts, reach, NOW).firing
    reach.add(NOW - 60)  # that one mention came from a large account
    result = evaluate_keyword(detect, counts, reach, NOW)
    assert result.firing and result.figures["high_reach"] == 1
    for i in range(2):
        counts.add(NOW - 120 - i)
    assert evaluate_keyword(KeywordDetect(terms=("lawsuit",), min_count=3), counts, BucketCounts(), NOW).firing


def test_influencer_fires_on_one_mention() -> None:
    from monitor.rules.detectors import evaluate_influencer
    from monitor.rules.model import InfluencerDetect

    counts = BucketCounts()
    assert not evaluate_influencer(InfluencerDetect(), counts, NOW).firing
    counts.add(NOW - 300)
    assert evaluate_influencer(InfluencerDetect(), counts, NOW).firing


def test_share_ignores_a_launch_and_catches_a_souring() -> None:
    from monitor.rules.detectors import evaluate_share
    from monitor.rules.model import ShareDetect

    negatives, totals = BucketCounts(), BucketCounts()
    for h in range(1, 14 * 24):  # two weeks: 10 scored mentions an hour, 2 negative
        for i in range(10):
            totals.add(NOW - HOUR - h * HOUR + i, live=False)
        for i in range(2):
            negatives.add(NOW - HOUR - h * HOUR + i, live=False)
    launch_neg, launch_all = BucketCounts(), BucketCounts()
    for counts, extra, n in ((launch_neg, negatives, 10), (launch_all, totals, 50)):
        counts.hours.update(extra.hours)
        for i in range(n):  # a launch: five times the volume, the usual 20% negative
            counts.add(NOW - 1800 + i)
    detect = ShareDetect(max_share=0.6, min_ratio=2.5, min_count=8)
    launch = evaluate_share(detect, launch_neg, launch_all, NOW, None)
    assert not launch.firing and launch.figures["share"] == 0.2
    for i in range(9):  # then a quiet hour turns sour: 9 of 12 negative
        negatives.add(NOW - 1200 + i)
    for i in range(12):
        totals.add(NOW - 1200 + i)
    sour = evaluate_share(detect, negatives, totals, NOW, None)
    assert sour.firing and sour.figures["share"] == 0.75 and 3.5 < sour.figures["ratio"] < 4
    # The baseline is summed once per hour and kept; a late mention in a past hour, in the totals
    # alone, still changes the usual share.
    before = evaluate_share(detect, negatives, totals, NOW + 60, None).figures["expected_share"]
    for i in range(3000):
        totals.add(NOW - 3 * 86400 + i, live=False)
    after = evaluate_share(detect, negatives, totals, NOW + 120, None).figures["expected_share"]
    assert before == sour.figures["expected_share"] and after < before * 0.6, (before, after)


def test_hours_when_the_sources_were_down_stay_out_of_the_baseline() -> None:
    counts = history({h: 2 for h in range(24)})  # two an hour, every hour, for two weeks...
    down_day = {int((NOW - 3 * 86400) // HOUR) + h for h in range(24)}
    for hour in down_day:  # ...except one day when the collector was broken
        counts.hours.pop(hour, None)
    every_hour = set(range(int((NOW - 20 * 86400) // HOUR), int(NOW // HOUR)))
    counted_as_zeros = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC, watched=every_hour)
    counts.baseline_cache = None
    left_out = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC, watched=every_hour - down_day)
    assert left_out.figures["expected"] > counted_as_zeros.figures["expected"]
    assert left_out.figures["baseline_hours"] == counted_as_zeros.figures["baseline_hours"] - 24
    assert abs(left_out.figures["expected"] - 2.0) < 0.05


def test_negative_binomial_tail_matches_a_gamma_poisson_mixture() -> None:
    rng = random.Random(3)
    mean, alpha = 5.0, 0.3
    draws = []
    for _ in range(100_000):
        lam, k, p = rng.gammavariate(1 / alpha, mean * alpha), 0, rng.random()
        while p > math.exp(-lam):
            k += 1
            p *= rng.random()
        draws.append(k)
    for k in (3, 8, 12, 20):
        simulated = sum(d >= k for d in draws) / len(draws)
        assert math.isclose(negative_binomial_upper_tail(k, mean, alpha), simulated, rel_tol=0.15, abs_tol=5e-4)
    assert negative_binomial_upper_tail(12, mean, 0.0) == poisson_upper_tail(12, mean)
    # Overdispersion makes a high count less surprising than Poisson says.
    assert negative_binomial_upper_tail(20, mean, alpha) > 1000 * poisson_upper_tail(20, mean)


def test_overdispersed_history_needs_a_bigger_burst() -> None:
    rng = random.Random(7)
    swinging = BucketCounts()
    for h in range(14 * 24):
        hour = NOW - HOUR - (h + 1) * HOUR
        for _ in range(round(10 * rng.gammavariate(2, 0.5))):  # mean 10 an hour, swings of +-70%
            swinging.add(hour + 60, live=False)
    steady = history({h: 10 for h in range(24)})
    for counts in (swinging, steady):
        add_window(counts, 28)
    detect = SpikeDetect(min_ratio=2.0, max_p_value=1e-4)
    calm = evaluate_spike(detect, steady, NOW, None, UTC)
    wild = evaluate_spike(detect, swinging, NOW, None, UTC)
    assert calm.firing and calm.figures["dispersion"] < 0.05
    assert not wild.firing and wild.figures["dispersion"] > 0.2, wild.figures


def test_an_earlier_spike_stays_out_of_the_baseline() -> None:
    counts = history({h: 2 for h in range(24)})
    last_week = NOW - 7 * 86400 - HOUR  # the same slot of the week, a week ago
    for i in range(40):
        counts.add(last_week + i * 60, live=False)
    add_window(counts, 12)
    result = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC)
    assert result.figures["baseline_spike_hours"] == 1
    assert result.figures["expected"] < 3 and result.firing, result.figures


def test_the_fast_window_fires_before_the_hour_fills() -> None:
    counts = history({h: 6 for h in range(24)})
    for i in range(4):  # the usual trickle in the hour, then a burst in the last 15 minutes
        counts.add(NOW - HOUR + i * 600)
    for i in range(12):
        counts.add(NOW - 900 + i * 60)
    slow = SpikeDetect(min_ratio=3.0, max_p_value=1e-4)
    fast = SpikeDetect(min_ratio=3.0, max_p_value=1e-4, fast_window=timedelta(minutes=20))
    assert not evaluate_spike(slow, counts, NOW, None, UTC).firing
    result = evaluate_spike(fast, counts, NOW, None, UTC)
    assert result.firing and result.window == 1200 and result.figures["window_seconds"] == 1200


def test_several_windows_fire_on_the_first_that_is_significant() -> None:
    counts = history({h: 6 for h in range(24)})
    for i in range(5):  # the usual trickle over the hour
        counts.add(NOW - HOUR + i * 600)
    windows = (timedelta(minutes=10), timedelta(minutes=20))
    detect = SpikeDetect(min_ratio=2.0, max_p_value=1e-5, more_windows=windows)
    assert not evaluate_spike(detect, counts, NOW - 600, None, UTC).firing
    for i in range(10):  # ten in five minutes, where one is usual: the 10-minute window sees it at once
        counts.add(NOW - 300 + i * 30)
    result = evaluate_spike(detect, counts, NOW, None, UTC)
    assert result.firing and result.window == 600, result.figures
    hour_only = SpikeDetect(min_ratio=2.0, max_p_value=1e-5)
    assert not evaluate_spike(hour_only, counts, NOW, None, UTC).firing  # 15 in the hour against 6: not yet
    # Ten minutes on, the burst has grown and the hour fires too: the figures speak of the longest window.
    for i in range(12):
        counts.add(NOW + i * 50)
    later = evaluate_spike(detect, counts, NOW + 600, None, UTC)
    assert later.firing and later.window == 3600 and later.figures["count"] == 26


def test_more_windows_share_one_false_alarm_budget() -> None:
    detect = SpikeDetect(max_p_value=9e-5, more_windows=(timedelta(minutes=10), timedelta(minutes=20)))
    levels = window_levels(detect)
    # In proportion to length: a 10-minute window takes six looks an hour, each at a sixth of the hour's level.
    assert [round(x, 12) for x in levels] == [6e-5, 1e-5, 2e-5]
    assert window_levels(SpikeDetect(max_p_value=1e-5)) == [1e-5]
    # Looking more often must not fire more often on noise: a count the hour alone would fire on at
    # max_p_value is judged at its share once shorter windows are tested beside it.
    counts = history({h: 6 for h in range(24)})
    add_window(counts, 20)  # 20 spread over the hour against 6: p = 5.2e-6
    alone = evaluate_spike(SpikeDetect(min_ratio=2.0, max_p_value=5.5e-6), counts, NOW, None, UTC)
    shared = SpikeDetect(min_ratio=2.0, max_p_value=5.5e-6, more_windows=(timedelta(minutes=10),))
    result = evaluate_spike(shared, counts, NOW, None, UTC)
    assert alone.firing and 5.5e-6 * 6 / 7 < alone.figures["p_value"] <= 5.5e-6, alone.figures
    assert not result.firing and "share of max_p_value" in result.reason, result.reason


def test_a_slot_with_two_quiet_samples_still_expects_its_hours_usual() -> None:
    # Two mentions an hour, every hour; the two Tuesday 14:00 hours before happened to be silent. Two
    # zeros at two an hour are chance (1 in 55), not a quiet slot: the rate leans on the brand's pattern.
    counts = history({h: 2 for h in range(24)})
    for week in (1, 2):
        slot = NOW - HOUR - week * 7 * 86400
        for ts in [t for t in list(counts.hours) if t == int(slot // HOUR)]:
            del counts.hours[ts]
    result = evaluate_spike(SpikeDetect(), counts, NOW, None, UTC)
    # (Leaning half on the hour of day, as the rate did before, expected under 1.)
    assert 1.1 < result.figures["expected"] <= 2.0, result.figures


def test_a_peak_every_week_is_usual() -> None:
    counts = history({h: 2 for h in range(24)})
    for week in (1, 2):  # every Tuesday 14:00, twenty
        slot = NOW - HOUR - week * 7 * 86400
        for i in range(18):
            counts.add(slot + 60 + i * 100, live=False)
    add_window(counts, 20)
    result = evaluate_spike(SpikeDetect(min_ratio=2.0, max_p_value=1e-5), counts, NOW, None, UTC)
    assert not result.firing and result.figures["expected"] > 10, result.figures


def test_a_crisis_does_not_teach_its_weekday_or_hour_to_be_busy() -> None:
    # Three quiet days at one an hour, then on the fourth a three-hour crisis at fifteen an hour, just
    # before now: the only hours of that weekday the baseline has. Two hours on, the usual is still one.
    counts = history({h: 1 for h in range(24)}, days=3, end=NOW - 6 * HOUR)
    for hour in (5, 4, 3):
        for i in range(15):
            counts.add(NOW - hour * HOUR + i * 200, live=False)
    result = evaluate_spike(SpikeDetect(min_history=timedelta(days=1)), counts, NOW, None, UTC)
    assert result.figures["baseline_spike_hours"] == 3 and result.figures["expected"] < 1.5, result.figures


def test_silence_fires_when_a_busy_brand_goes_quiet() -> None:
    counts = history({h: 3 for h in range(24)}, end=NOW - 7 * HOUR)
    detect = SilenceDetect(quiet_for=timedelta(hours=6), min_expected=5)
    result = evaluate_silence(detect, counts, NOW, None, UTC)
    assert result.firing and result.figures["count"] == 0 and result.figures["expected"] >= 17
    counts.add(NOW - 3 * HOUR)
    assert not evaluate_silence(detect, counts, NOW, None, UTC).firing


def test_silence_is_not_claimed_for_a_quiet_brand_or_unpolled_hours() -> None:
    sparse = history({9: 1}, end=NOW - 7 * HOUR)  # one mention a day, at 09:00
    detect = SilenceDetect(quiet_for=timedelta(hours=6), min_expected=5)
    assert not evaluate_silence(detect, sparse, NOW, None, UTC).firing
    busy = history({h: 3 for h in range(24)}, end=NOW - 7 * HOUR)
    first = int(NOW // HOUR) - 14 * 24
    watched = set(range(first, int(NOW // HOUR) - 2))  # the last hours were not polled: sources down
    assert not evaluate_silence(detect, busy, NOW, None, UTC, watched).firing


def test_silence_fires_on_a_source_failing_long_enough() -> None:
    counts = history({h: 3 for h in range(24)})
    add_window(counts, 3)
    detect = SilenceDetect(failing_for=timedelta(minutes=30))
    recent = {"reddit": Failure(NOW - 600, "HTTP 503 from https://oauth.reddit.com/search")}
    assert not evaluate_silence(detect, counts, NOW, None, UTC, failures=recent).firing
    old = {"reddit": Failure(NOW - 3600, "HTTP 503 from https://oauth.reddit.com/search")}
    result = evaluate_silence(detect, counts, NOW, None, UTC, failures=old)
    assert result.firing and "reddit" in result.figures["failing"]
    never = SilenceDetect(failing_for=None)
    assert not evaluate_silence(never, counts, NOW, None, UTC, failures=old).firing


def test_window_sums_slide_exactly_as_counts_change_and_are_pruned() -> None:
    """A window read tick after tick slides its last sum; it must equal the plain sum of the minutes
    whatever was added inside, before or after it, and after minutes were pruned."""
    rng = random.Random(7)
    counts = BucketCounts()
    minutes: dict[int, int] = {}
    start = 29_000_000 * 60.0
    for step in range(3000):
        now = start + step * 60
        for _ in range(rng.choice((0, 0, 1, 3))):  # new mentions, some late by up to two hours
            ts = now - rng.uniform(0, 7200)
            counts.add(ts)
            minutes[int(ts // 60)] = minutes.get(int(ts // 60), 0) + 1
        if step % 97 == 0:  # sometimes into the windows read: a kept sum must not slide over forgotten minutes
            keep = now - rng.choice((2 * 3600, 1800))
            counts.prune(now - 14 * 86400, keep)
            minutes = {m: n for m, n in minutes.items() if m >= int(keep // 60)}
        for length in (20 * 60, 3600):
            moved = now - rng.choice((0, 0, 0, 60, 600))  # mostly in step, sometimes back or ahead
            first, last = math.floor((moved - length) / 60), math.ceil(moved / 60)
            expected = sum(n for m, n in minutes.items() if first <= m < last)
            assert counts.window(moved - length, moved) == expected


def test_lower_tails_match_the_direct_sum() -> None:
    """Below the mean the tails are 1 - P(X < k), summed from k - 1 down; the plain sum agrees."""

    def direct(k: int, mean: float, alpha: float) -> float:
        if alpha <= 1e-9:
            terms = [math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k)]
        else:
            r, p = 1 / alpha, (1 / alpha) / (1 / alpha + mean)
            terms = [math.exp(math.lgamma(i + r) - math.lgamma(r) - math.lgamma(i + 1) + r * math.log(p)
                              + i * math.log1p(-p)) for i in range(k)]  # fmt: skip
        return min(1.0, max(0.0, 1 - sum(terms)))

    rng = random.Random(3)
    for _ in range(3000):
        mean = rng.choice((0.5, 4.0, 30.0, 150.0, 700.0)) * (0.2 + rng.random())
        k = rng.randint(1, max(1, int(mean)))
        alpha = rng.choice((0.0, 0.02, 0.3, 1.0))
        assert math.isclose(negative_binomial_upper_tail(k, mean, alpha), direct(k, mean, alpha), abs_tol=1e-9)


def test_a_quiet_spike_evaluation_without_explanation_decides_the_same() -> None:
    """explain=False skips the p-value of windows that cannot fire; the decision and count do not change."""
    rng = random.Random(11)
    detect = SpikeDetect(window=timedelta(hours=1), fast_window=timedelta(minutes=20), min_count=5)
    for _ in range(200):
        counts = history({h: rng.randint(0, 12) for h in range(24)})
        for _ in range(rng.choice((0, 3, 10, 40))):
            counts.add(NOW - rng.uniform(0, 3600))
        full = evaluate_spike(detect, counts, NOW, NOW - 20 * 86400, UTC)
        quick = evaluate_spike(detect, counts, NOW, NOW - 20 * 86400, UTC, explain=False)
        assert (quick.firing, quick.count) == (full.firing, full.count)
        if quick.firing or "p_value" in quick.figures:
            assert quick.figures == full.figures
