"""The incident state machine: open, update when grown, resolve after quiet, cooldown."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from monitor.engine.incidents import hold, step
from monitor.rules.detectors import Evaluation
from monitor.rules.model import AlertPolicy, Rule, VolumeDetect
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
