"""Which evaluations `backtest --trace` shows: state changes, and counts above the expected one as they move."""

from __future__ import annotations

from pathlib import Path

from monitor.engine.replay import TraceFilter
from monitor.rules.detectors import Evaluation
from monitor.rules.model import Rule, SpikeDetect

RULE = Rule("negative-spike", "spike", Path("negative-spike.toml"), SpikeDetect())


def spike(count: int, expected: float, firing: bool = False, reason: str = "quiet") -> Evaluation:
    return Evaluation(firing, count, {"count": count, "expected": expected}, "" if firing else reason)


def test_state_changes_and_moving_counts_above_the_usual_are_shown() -> None:
    keep = TraceFilter()
    evaluations = [
        (spike(0, 0.5, reason="learning: 3h of history"), True),  # the first: a state
        (spike(1, 0.5, reason="learning: 4h of history"), False),  # still learning
        (spike(0, 0.5), True),  # learning -> quiet
        (spike(0, 0.5), False),  # quiet, nothing above the usual
        (spike(1, 0.5), True),  # above the usual
        (spike(1, 0.5), False),  # ...the same count a minute later
        (spike(2, 0.5), True),  # ...grown
        (spike(0, 0.4), False),  # back under the usual
        (spike(9, 0.5, firing=True), True),  # quiet -> firing
        (spike(9, 0.5, firing=True), False),  # firing, the same count
        (spike(12, 0.5, firing=True), True),  # firing, grown
        (spike(3, 0.5), True),  # firing -> quiet
    ]
    shown = [keep(RULE, "acme", result) for result, _ in evaluations]
    assert shown == [want for _, want in evaluations]
    # Each rule and brand has its own state.
    assert keep(RULE, "globex", spike(0, 0.5))


def test_all_shows_every_evaluation() -> None:
    keep = TraceFilter("all")
    assert all(keep(RULE, "acme", spike(0, 0.5)) for _ in range(5))


def test_share_rules_compare_the_share() -> None:
    keep = TraceFilter()
    share = Rule("negative-share", "share", Path("negative-share.toml"), SpikeDetect())
    assert keep(share, "acme", Evaluation(False, 2, {"count": 2, "share": 0.1, "expected_share": 0.2}, "low"))
    assert not keep(share, "acme", Evaluation(False, 3, {"count": 3, "share": 0.15, "expected_share": 0.2}, "low"))
    assert keep(share, "acme", Evaluation(False, 4, {"count": 4, "share": 0.3, "expected_share": 0.2}, "low"))
