"""Incident state: open, update, resolve, with cooldown. A pure step function per tick."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitor.rules.detectors import Evaluation, posted_count
from monitor.rules.model import Rule
from monitor.store import IncidentRow


@dataclass(frozen=True, slots=True)
class Change:
    """The incident after a tick, and the alert event to send (None: save quietly)."""

    incident: IncidentRow
    event: str | None  # "opened" | "updated" | "resolved"
    reopened: bool = False


def incident_id(rule: str, brand: str, opened_at: float) -> str:
    """A stable, readable id: rule/brand/opening minute (UTC)."""
    stamp = datetime.fromtimestamp(opened_at, UTC).strftime("%Y%m%dT%H%MZ")
    return f"{rule}/{brand}/{stamp}"


def hold(rule: Rule, latest: IncidentRow | None, result: Evaluation, now: float, since: float | None) -> float | None:
    """The `for` gate: when the rule's condition first held, while it must hold longer before opening.

    Returns the pending start to keep (None: not pending, let step() decide). An open incident, or one
    in its cooldown (which reopens at once), is never held. Pending starts live in memory: after a
    restart the condition must hold for `for` again, which delays an opening but never loses one.
    """
    wait = rule.alert.pending_for.total_seconds()
    if wait <= 0 or not result.firing:
        return None
    if latest is not None and (latest.status == "open" or (latest.cooldown_until or 0) > now):
        return None
    start = now if since is None else since
    return start if now - start < wait else None


def step(rule: Rule, brand: str, latest: IncidentRow | None, result: Evaluation, now: float) -> Change | None:
    """Advance the (rule, brand) incident by one tick; None when nothing changed."""
    if latest is None or latest.status == "resolved":
        return _from_quiet(rule.name, brand, latest, result, now) if result.firing else None
    return _while_open(rule, latest, result, now)


def _from_quiet(rule: str, brand: str, latest: IncidentRow | None, result: Evaluation, now: float) -> Change:
    """A firing rule with no open incident: open one, or reopen the last inside its cooldown."""
    if latest is not None and latest.cooldown_until is not None and now < latest.cooldown_until:
        # Firing again inside the cooldown: not over after all. Reopen in the same thread
        # rather than stay silent or start a second thread.
        reopened = replace(
            latest,
            status="open",
            updated_at=now,
            resolved_at=None,
            below_since=None,
            cooldown_until=None,
            last_posted_count=result.count,
            peak_count=max(latest.peak_count, result.count),
            figures=result.figures,
        )
        return Change(reopened, "updated", reopened=True)
    opened = IncidentRow(
        id=incident_id(rule, brand, now),
        rule=rule,
        brand=brand,
        status="open",
        opened_at=now,
        updated_at=now,
        last_posted_count=result.count,
        peak_count=result.count,
        figures=result.figures,
    )
    return Change(opened, "opened")


def _while_open(rule: Rule, latest: IncidentRow, result: Evaluation, now: float) -> Change | None:
    """An open incident: update it when it grew enough, resolve it once quiet for long enough."""
    policy = rule.alert
    if result.firing:
        peak = max(latest.peak_count, result.count)
        then = posted_count(latest.figures, result, latest.last_posted_count)  # the same window's count
        # More posts than the last post said, by the margin: a silence (no posts, then none) never grows.
        grown = result.count > then and result.count >= then * (1 + policy.update_when_grown)
        if grown:
            updated = replace(
                latest,
                updated_at=now,
                below_since=None,
                last_posted_count=result.count,
                peak_count=peak,
                figures=result.figures,
            )
            return Change(updated, "updated")
        if latest.below_since is None and peak == latest.peak_count:
            return None
        return Change(replace(latest, below_since=None, peak_count=peak), None)
    if latest.below_since is None:
        return Change(replace(latest, below_since=now), None)
    if now - latest.below_since >= policy.resolve_after.total_seconds():
        resolved = replace(
            latest,
            status="resolved",
            updated_at=now,
            resolved_at=now,
            cooldown_until=now + policy.cooldown.total_seconds(),
        )
        return Change(resolved, "resolved")
    return None
