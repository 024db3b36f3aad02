"""Detectors: pure functions from counts and a clock reading to an Evaluation."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from monitor.rules.baseline import Baseline, baseline_hours, expected_rates, hour_slot, learn_baseline
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


def spike_baseline(
    detect: SpikeDetect,
    counts: BucketCounts,
    now: float,
    history_start: float | None,
    zone: tzinfo,
    watched: set[int] | None,
) -> Baseline:
    """The rule's baseline before its longest window, learned once per hour and kept on the counts."""
    start = now - max(detect.windows).total_seconds()
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    end_hour = math.floor(start / 3600)
    key = (hours[0] if hours else end_hour, end_hour, len(hours), detect, zone)
    return counts.learned_before(key, end_hour, lambda: learn_baseline(detect, counts, hours, zone))


def window_count(counts: BucketCounts, base: Baseline, now: float, window: float, zone: tzinfo) -> tuple[int, float]:
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
    base = spike_baseline(detect, counts, now, history_start, zone, watched)
    learning = base.hours * 3600 < min(detect.min_history, detect.baseline).total_seconds()
    tested = []
    levels = window_levels(detect)
    for window, level in zip(detect.windows, levels, strict=True):
        seconds = window.total_seconds()
        count, expected = window_count(counts, base, now, seconds, zone)
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
    if len(tested) > 1:  # every window's count, so that growth is judged window by window (posted_count)
        figures["window_counts"] = {str(int(t[5])): t[2] for t in tested}
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


def posted_count(posted: Mapping[str, Any] | None, result: Evaluation, fallback: int) -> int:
    """What the window result's figures are about held when the incident was last posted about.

    A spike rule with several windows may open on its 10-minute window (6 posts) and fire a minute later
    on its hour (10 posts): the hour has not grown by two thirds, it was simply not the window shown.
    Growth is judged like with like: the count now against the same window's count in the figures last
    posted (posted). fallback (the last posted count) serves single-window rules and incidents posted
    before figures carried every window's count.
    """
    counts = posted.get("window_counts") if posted else None
    window = result.figures.get("window_seconds")
    if isinstance(counts, Mapping) and window is not None:
        then = counts.get(str(int(window)))
        if isinstance(then, int):
            return then
    return fallback


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


def _usual_share(counts: BucketCounts, totals: BucketCounts, hours: Sequence[int], start: float) -> float:
    """The matching share over the baseline hours before the window starting at start, smoothed toward an
    even chance so that a thin baseline cannot make any share look extreme."""
    base_count, base_total = _share_baseline(counts, totals, hours, math.floor(start / 3600))
    return (base_count + 1) / (base_total + 2)


def _share_learning(detect: ShareDetect, hours: Sequence[int]) -> bool:
    """Whether a share rule has too few baseline hours to judge yet."""
    return len(hours) * 3600 < min(detect.min_history, detect.baseline).total_seconds()


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
    usual = _usual_share(counts, totals, hours, start)
    ratio = share / usual
    figures: dict[str, Any] = {
        "count": count,
        "total": total,
        "share": round(share, 3),
        "expected_share": round(usual, 3),
        "ratio": round(ratio, 3),
    }
    if _share_learning(detect, hours):
        return Evaluation(False, count, figures, f"learning: {len(hours)}h of history")
    reasons = []
    if count < detect.min_count:
        reasons.append(f"count {count} < min_count {detect.min_count}")
    if share < detect.max_share and ratio < detect.min_ratio:
        reasons.append(f"share {share:.0%} under {detect.max_share:.0%} and {ratio:.2f}x under {detect.min_ratio:g}x")
    return Evaluation(not reasons, count, figures, "; ".join(reasons))


def share_quiet(
    detect: ShareDetect,
    counts: BucketCounts,
    totals: BucketCounts,
    now: float,
    history_start: float | None,
    watched: set[int] | None = None,
) -> bool:
    """Whether evaluate_share with these arguments does not fire: its test, without building its figures."""
    start = now - detect.window.total_seconds()
    count = counts.window(start, now)
    if count < detect.min_count:
        return True
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    if _share_learning(detect, hours):
        return True
    total = totals.window(start, now)
    share = count / total if total else 0.0
    return share < detect.max_share and share / _usual_share(counts, totals, hours, start) < detect.min_ratio


def share_quiet_until(
    detect: ShareDetect,
    counts: BucketCounts,
    totals: BucketCounts,
    now: float,
    history_start: float | None,
    watched: set[int] | None = None,
) -> float:
    """For a share rule quiet at now (share_quiet), a time before which it cannot fire while no matching
    mention is counted, none is backfilled, and no minute at or after now's is counted yet.

    With no matching mention counted, the window's count can only fall as it slides. Its share can still
    rise, as the brand's other posts leave the window faster than its matching ones: it reaches the
    level that fires (max_share, or min_ratio times the usual share) only once the window holds at most
    count / level posts in all, and the posts already counted say when that can first be (more posts
    only put it off). The usual share and the baseline's learning hold while the window starts in the
    same hour."""
    window = detect.window.total_seconds()
    start = now - window
    count = counts.window(start, now)
    if count < detect.min_count:
        return math.inf
    hour_moves = (math.floor(start / 3600) + 1) * 3600 + window
    hours = baseline_hours(start, detect.baseline.total_seconds(), history_start, watched)
    if _share_learning(detect, hours):
        return hour_moves
    level = min(detect.max_share, detect.min_ratio * _usual_share(counts, totals, hours, start))
    most = count / level * (1 + 1e-9)  # the slack covers rounding in the detector's own division
    first, end = math.floor(start / 60), math.ceil(now / 60)
    held = list(map(totals.minutes.get, range(first, end), itertools.repeat(0)))
    left = sum(held)
    for minute, n in enumerate(held, start=first):
        if left <= most:
            break
        left -= n
        # Windows that start after this minute no longer hold its posts.
        first = minute + 1
    return min(hour_moves, first * 60.0 + window)


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
