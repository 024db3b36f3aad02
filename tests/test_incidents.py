"""The incident state machine: open, update when grown, resolve after quiet, cooldown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.engine.incidents import hold, step
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import Evaluation, evaluate_spike, posted_count
from monitor.rules.model import AlertPolicy, Rule, SpikeDetect, VolumeDetect
from monitor.store import IncidentRow

RULE = Rule(
    name="vol",
    kind="volume",
    path=Path("vol.toml"),
    detect=VolumeDetect(),
    alert=AlertPolicy(cooldown=timedelta(hours=2), resolve_after=timedelta(hours=1), update_when_grown=0.5),
)
MIN = 60.0


def firing(count: int) -> Evaluation:
    return Evaluation(True, count, {"count": count})


QUIET = Evaluation(False, 1, {"count": 1})


def run(events: list[tuple[float, Evaluation]], rule: Rule = RULE) -> list[tuple[float, str, str]]:
    """Feed evaluations through hold and step, carrying the incident and pending start as the engine does."""
    latest: IncidentRow | None = None
    pending: float | None = None
    sent = []
    for now, result in events:
        pending = hold(rule, latest, result, now, pending)
        if pending is not None:
            continue
        change = step(rule, "acme", latest, result, now)
        if change is None:
            continue
        latest = change.incident
        if change.event:
            sent.append((now, change.event, change.incident.id))
    return sent


def test_open_update_resolve() -> None:
    sent = run(
        [
            (0, QUIET),
            (1 * MIN, firing(10)),
            (2 * MIN, firing(12)),  # grown by 20%: no update
            (3 * MIN, firing(15)),  # grown by 50%: update
            (4 * MIN, firing(16)),
            (5 * MIN, QUIET),
            (30 * MIN, firing(11)),  # firing again before resolve_after: still the same incident
            (31 * MIN, QUIET),
            (60 * MIN, QUIET),
            (91 * MIN, QUIET),  # 60 minutes quiet: resolved
            (92 * MIN, QUIET),
        ]
    )
    assert [(t, e) for t, e, _ in sent] == [(1 * MIN, "opened"), (3 * MIN, "updated"), (91 * MIN, "resolved")]
    assert len({i for _, _, i in sent}) == 1
    assert sent[0][2] == "vol/acme/19700101T0001Z"


def test_firing_inside_cooldown_reopens_the_same_incident() -> None:
    sent = run([(0, firing(10)), (MIN, QUIET), (62 * MIN, QUIET), (90 * MIN, firing(10))])
    assert [e for _, e, _ in sent] == ["opened", "resolved", "updated"]
    assert len({i for _, _, i in sent}) == 1


def test_a_new_incident_after_the_cooldown() -> None:
    sent = run([(0, firing(10)), (MIN, QUIET), (62 * MIN, QUIET), (62 * MIN + 7200, firing(10))])
    assert [e for _, e, _ in sent] == ["opened", "resolved", "opened"]
    assert len({i for _, _, i in sent}) == 2


HELD = replace(RULE, alert=replace(RULE.alert, pending_for=timedelta(minutes=10)))


def test_for_opens_only_once_the_condition_held_that_long() -> None:
    sent = run([(0, firing(10)), (5 * MIN, firing(10)), (9 * MIN, firing(10)), (10 * MIN, firing(10))], HELD)
    assert [(t, e) for t, e, _ in sent] == [(10 * MIN, "opened")]


def test_for_starts_over_when_the_condition_lapses() -> None:
    sent = run(
        [(0, firing(10)), (8 * MIN, QUIET), (9 * MIN, firing(10)), (18 * MIN, firing(10)), (19 * MIN, firing(10))],
        HELD,
    )
    assert [(t, e) for t, e, _ in sent] == [(19 * MIN, "opened")]


def test_for_does_not_hold_back_an_open_incident_or_a_reopening() -> None:
    sent = run(
        [
            (0, firing(10)),
            (10 * MIN, firing(10)),  # opened
            (11 * MIN, firing(20)),  # open: updates go out at once
            (12 * MIN, QUIET),
            (72 * MIN, QUIET),  # resolved, cooldown until 192 min
            (100 * MIN, firing(12)),  # within the cooldown: reopened at once
        ],
        HELD,
    )
    assert [(t, e) for t, e, _ in sent] == [
        (10 * MIN, "opened"), (11 * MIN, "updated"), (72 * MIN, "resolved"), (100 * MIN, "updated"),
    ]  # fmt: skip


def test_a_blip_shorter_than_for_opens_nothing() -> None:
    assert run([(0, firing(10)), (3 * MIN, firing(10)), (4 * MIN, QUIET), (30 * MIN, QUIET)], HELD) == []


def test_growth_is_judged_on_the_same_window_not_across_windows() -> None:
    """A rule with 10-minute, 20-minute and 1-hour windows opens on the 20 minutes (6 posts); a minute
    later two more posts make the hour fire with 9. The hour held 7 when the alert went out: it has not
    grown by half, so no update (judged across windows, 6 -> 9 looked like growth of a half)."""
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
    counts = BucketCounts()
    for h in range(14 * 24):  # one negative post an hour for a fortnight
        counts.add(now - 3600 * (h + 2) + 1800, live=False)
    detect = SpikeDetect(
        window=timedelta(hours=1),
        more_windows=(timedelta(minutes=10), timedelta(minutes=20)),
        min_count=5,
        min_ratio=2.0,
        max_p_value=2e-5,
    )
    rule = Rule(name="neg", kind="spike", path=Path("neg.toml"), detect=detect, alert=AlertPolicy())
    counts.add(now - 40 * MIN)
    for i in range(6):
        counts.add(now - 5 * MIN + i * 30)
    opened = evaluate_spike(detect, counts, now, None, UTC)
    assert opened.firing and opened.window == 1200 and opened.count == 6, opened
    counts.add(now + 10)
    counts.add(now + 20)
    later = evaluate_spike(detect, counts, now + MIN, None, UTC)
    assert later.firing and later.window == 3600 and later.count == 9, later
    assert run([(now, opened), (now + MIN, later)], rule) == [(now, "opened", "neg/acme/20261124T1500Z")]
    # The hour grows on to 11, half as much again as the 7 it held at the last post: an update, and the
    # growth it reports is that of the same hour.
    for i in range(2):
        counts.add(now + MIN + 10 + i)
    grown = evaluate_spike(detect, counts, now + 2 * MIN, None, UTC)
    assert grown.firing and grown.window == 3600 and grown.count == 11, grown
    sent = run([(now, opened), (now + MIN, later), (now + 2 * MIN, grown)], rule)
    assert [e for _, e, _ in sent] == ["opened", "updated"]
    assert posted_count(opened.figures, grown, opened.count) == 7


def test_a_silence_open_for_hours_posts_no_update_until_it_resolves() -> None:
    # A silence rule fires with no posts at all, minute after minute: nothing grew, so the thread hears
    # nothing between the opening and the resolution (it once got an update every minute: 0 >= 0 * 1.5).
    silent = Evaluation(True, 0, {"count": 0})
    heard = Evaluation(False, 3, {"count": 3})
    sent = run([(m * MIN, silent) for m in range(180)] + [(m * MIN, heard) for m in range(180, 300)])
    assert [event for _, event, _ in sent] == ["opened", "resolved"]
