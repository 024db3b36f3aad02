"""Alert events: the JSON-able dict that explains an incident change, built once, sent from the outbox."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from monitor.alerts.drafts import make_drafts
from monitor.alerts.explain import distinctive_terms, top_mentions
from monitor.config import Brand
from monitor.durations import format_duration
from monitor.mention import ScoredMention
from monitor.rules.detectors import Evaluation
from monitor.rules.model import InfluencerDetect, KeywordDetect, Rule, ShareDetect, SilenceDetect, SpikeDetect
from monitor.rules.topics import load_topics
from monitor.store import IncidentRow


def iso(ts: float) -> str:
    """ISO 8601 UTC with a Z, to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_words(window: timedelta) -> str:
    """ "the last hour", "the last 15 minutes", "the last 2 days"."""
    seconds = int(window.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            n = seconds // size
            return f"the last {unit}" if n == 1 else f"the last {n} {unit}s"
    return f"the last {format_duration(window)}"


def result_window(rule: Rule, result: Evaluation) -> timedelta:
    """The window an evaluation's figures are about (a spike rule may fire on its fast or long one)."""
    return timedelta(seconds=result.window) if result.window else rule.detect.window


def summary(rule: Rule, result: Evaluation, now: float, zone: tzinfo) -> str:
    """One sentence a person reads first: the count against what is usual."""
    what = f"{rule.match.sentiment} mentions" if rule.match.sentiment != "any" else "matching mentions"
    if result.count == 1:
        what = what[:-1]
    detect, figures = rule.detect, result.figures
    window = window_words(result_window(rule, result))
    head = f"{result.count} {what} in {window}"
    if isinstance(detect, SpikeDetect):
        local = datetime.fromtimestamp(now - result_window(rule, result).total_seconds(), zone)
        when = f"for a {local:%A} at {local:%H}:00" if detect.seasonal else "on average"
        return f"{head}, {figures.get('ratio', 0.0):.1f}x the usual {figures.get('expected', 0.0):.1f} {when}"
    if isinstance(detect, ShareDetect):
        return (f"{figures.get('share', 0):.0%} of mentions in {window} are {rule.match.sentiment}"
                f" ({result.count} of {figures.get('total', 0)}), {figures.get('ratio', 0):.1f}x the usual"
                f" {figures.get('expected_share', 0):.0%}")  # fmt: skip
    if isinstance(detect, InfluencerDetect):
        return f"{head} from an author with at least {detect.min_followers:,} followers"
    if isinstance(detect, SilenceDetect):
        failing = figures.get("failing") or {}
        if failing:
            parts = [
                f"{name} failing for {format_duration(timedelta(seconds=int(now - f['since'])))} ({f['error']})"
                for name, f in failing.items()
            ]
            return "The collector is broken: " + "; ".join(parts)
        return f"No {what} in {window}, where about {figures.get('expected', 0):.0f} were expected"
    if isinstance(detect, KeywordDetect) and figures.get("high_reach"):
        return f"{head} with crisis terms, one from an author with at least {detect.min_followers:,} followers"
    return f"{head} (threshold {detect.min_count})"


def mention_dict(scored: ScoredMention, similar: int) -> dict[str, Any]:
    """A top mention as the alert shows it."""
    m = scored.mention
    return {
        "platform": m.platform,
        "id": m.id,
        "author": m.author,
        "author_followers": m.author_followers,
        "title": m.title,
        "text": m.text,
        "url": m.url,
        "compound": scored.compound,
        "created_at": iso(m.created_at.timestamp()),
        "likes": m.likes,
        "replies": m.replies,
        "reposts": m.reposts,
        "similar": similar,
    }


def build_event(
    kind: str,
    rule: Rule,
    brand: Brand,
    incident: IncidentRow,
    result: Evaluation,
    now: float,
    window_mentions: list[ScoredMention],
    matching: list[ScoredMention],
    baseline: list[ScoredMention],
    zone: tzinfo,
) -> dict[str, Any]:
    """The alert event for an incident change.

    window_mentions are all the brand's mentions in the rule's window; matching the ones that count
    toward the rule; baseline a sample of the brand's earlier mentions (for distinctive terms).
    """
    event = _head(kind, rule, brand, incident, result, now)
    if kind == "resolved":
        event["resolved_after"] = format_duration(timedelta(seconds=int(now - incident.opened_at)))
        event["summary"] = f"Back to normal: {result.count} in {window_words(result_window(rule, result))}."
        event["figures"] = dict(result.figures)
        return event

    event["summary"] = summary(rule, result, now, zone)
    if isinstance(rule.detect, SilenceDetect):
        # About the collector, not about what people say: no mentions, terms or drafts to show.
        event["figures"] = dict(result.figures)
        return event
    event.update(_about(rule, brand, result, window_mentions, matching, baseline))
    if kind == "opened":
        first = min(
            (m for m in matching if (m.mention.author_followers or 0) >= 1000),
            key=lambda m: m.mention.created_at,
            default=None,
        )
        if first is not None:
            event["first_high_reach"] = mention_dict(first, 0)
        topics = rule.topics or load_topics(rule.path.parent)
        topic = topics.pick(matching)
        top = [m for m, _ in top_mentions(matching, limit=3)]
        event["drafts"] = make_drafts(topic, brand.name, brand.status_url, top, rule.drafts)
    return event


def _head(kind: str, rule: Rule, brand: Brand, incident: IncidentRow, result: Evaluation, now: float) -> dict[str, Any]:
    return {
        "event": kind,
        "incident": incident.id,
        "rule": rule.name,
        "kind": rule.kind,
        "severity": rule.severity,
        "brand": brand.id,
        "brand_name": brand.name,
        "at": iso(now),
        "opened_at": iso(incident.opened_at),
        "window": format_duration(result_window(rule, result)),
        "peak_count": incident.peak_count,
    }


def _about(
    rule: Rule,
    brand: Brand,
    result: Evaluation,
    window_mentions: list[ScoredMention],
    matching: list[ScoredMention],
    baseline: list[ScoredMention],
) -> dict[str, Any]:
    """The figures, platforms, distinctive terms and top mentions of an opening or update."""
    scored = [m.compound for m in matching if m.compound is not None]
    negatives = sum(1 for m in window_mentions if m.label == "negative")
    figures = {
        **result.figures,
        "sentiment_mean": round(sum(scored) / len(scored), 3) if scored else None,
        "negative_share": round(negatives / len(window_mentions), 3) if window_mentions else None,
        "all_mentions": len(window_mentions),
    }
    ignore = [brand.name, *brand.queries, brand.id, *brand.handles, *brand.hashtags]  # never "what it is about"
    return {
        "figures": figures,
        "platforms": dict(Counter(m.mention.platform for m in matching).most_common()),
        "terms": distinctive_terms(matching, baseline, ignore),
        "top": [mention_dict(scored_mention, similar) for scored_mention, similar in top_mentions(matching, limit=5)],
    }
