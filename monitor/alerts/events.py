"""Alert events: the JSON-able dict that explains an incident change, built once, sent from the outbox."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from monitor import wording
from monitor.alerts.drafts import make_drafts
from monitor.alerts.explain import top_mentions
from monitor.config import Brand
from monitor.durations import format_duration
from monitor.mention import ScoredMention
from monitor.rules.detectors import Evaluation
from monitor.rules.model import InfluencerDetect, KeywordDetect, Rule, ShareDetect, SilenceDetect, SpikeDetect
from monitor.rules.terms import UsualCounts, over_represented, skip_words, usual_for
from monitor.rules.topics import load_topics
from monitor.sentiment import Explanation, Scorer
from monitor.store import IncidentRow
from monitor.wording import about_words


def iso(ts: float) -> str:
    """ISO 8601 UTC with a Z, to the second."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_words(window: timedelta) -> str:
    """ "the last hour", "the last 15 minutes", "the last 2 days"."""
    return wording.window_words(window.total_seconds())


def result_window(rule: Rule, result: Evaluation) -> timedelta:
    """The window an evaluation's figures are about (a spike rule may fire on its fast or long one)."""
    return timedelta(seconds=result.window) if result.window else rule.detect.window


def posts_words(rule: Rule) -> str:
    """What the rule counts, as a reader says it: "negative posts", "posts", "matching posts"."""
    if rule.match.sentiment != "any":
        return f"{rule.match.sentiment} posts"
    matcher = rule.match
    narrowed = matcher.any_terms or matcher.all_terms or matcher.none_terms or isinstance(rule.detect, KeywordDetect)
    return "matching posts" if narrowed else "posts"


def summary(rule: Rule, result: Evaluation, now: float, zone: tzinfo) -> str:
    """One sentence a person reads first: the count against what is usual, in words.

    "16 negative posts in the last hour (since 18:57 UTC); usually under 1 at this time on a Sunday;
    about 1 in 10¹⁶ by chance". Times are those of the window that was tested, in the configured zone.
    """
    what = posts_words(rule)
    detect, figures = rule.detect, result.figures
    span = result_window(rule, result).total_seconds()
    window = wording.window_words(span)
    head = f"{wording.count_words(result.count, what)} in {window}"
    if isinstance(detect, SpikeDetect):
        since = wording.since_words(now - span, now, zone)
        when = wording.when_words(now - span, zone, detect.seasonal)
        usual = f"{wording.usual_words(figures.get('expected', 0.0))} {when}"
        odds = wording.odds_words(figures.get("p_value"))
        return f"{head} ({since}); {usual}" + (f"; {odds}" if odds else "")
    if isinstance(detect, ShareDetect):
        return (
            f"{figures.get('share', 0):.0%} of posts in {window} are {rule.match.sentiment}"
            f" ({result.count} of {figures.get('total', 0)}); usually {figures.get('expected_share', 0):.0%}"
        )
    if isinstance(detect, InfluencerDetect):
        return f"{head} from an author with at least {detect.min_followers:,} followers"
    if isinstance(detect, SilenceDetect):
        failing = figures.get("failing") or {}
        if failing:
            parts = [
                f"{name} failing for {wording.duration_words(now - f['since'])} ({f['error']})"
                for name, f in failing.items()
            ]
            return "The collector is broken: " + "; ".join(parts)
        return f"No {what} in {window}, where about {figures.get('expected', 0):.0f} were expected"
    if isinstance(detect, KeywordDetect) and figures.get("high_reach"):
        return f"{head} with crisis terms, one from an author with at least {detect.min_followers:,} followers"
    return f"{head} (the rule fires at {detect.min_count})"


def resolution(rule: Rule, result: Evaluation) -> str:
    """The resolved message's sentence: where the count is now, against the usual where the kind has one."""
    span = result_window(rule, result).total_seconds()
    now_text = f"{wording.count_words(result.count, posts_words(rule))} in {wording.window_words(span)}"
    expected = result.figures.get("expected")
    usual = f", {wording.usual_words(expected)}" if isinstance(expected, int | float) else ""
    return f"Back to normal: {now_text}{usual}."


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
        "label": scored.label,
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
    tally: tuple[int, int],
    matching: list[ScoredMention],
    baseline: Sequence[UsualCounts],
    zone: tzinfo,
) -> dict[str, Any]:
    """The alert event for an incident change.

    tally is how many of the brand's mentions are in the rule's window and how many of them are
    negative (Store.tally); matching the window's mentions that count toward the rule; baseline the
    brand's earlier posts counted (a sample, engine/earlier.py; in parts to add up) for what sets the
    window's apart.
    """
    event = _head(kind, rule, brand, incident, result, now, zone)
    if kind == "resolved":
        event["resolved_after"] = wording.duration_words(now - incident.opened_at)
        event["summary"] = resolution(rule, result)
        event["figures"] = dict(result.figures)
        return event
    event["summary"] = summary(rule, result, now, zone)
    if isinstance(rule.detect, SilenceDetect):
        # About the collector, not about what people say: no mentions, terms or drafts to show.
        event["figures"] = dict(result.figures)
        return event
    leaders = top_mentions(matching, limit=5)  # ranked once: the top posts shown, the first three drafted for
    event.update(_about(rule, brand, result, tally, matching, baseline, leaders))
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
        top = [m for m, _ in leaders[:3]]
        event["drafts"] = make_drafts(topic, brand.name, brand.status_url, top, rule.drafts)
    return event


def _head(
    kind: str, rule: Rule, brand: Brand, incident: IncidentRow, result: Evaluation, now: float, zone: tzinfo
) -> dict[str, Any]:
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
        "when": f"{datetime.fromtimestamp(now, zone):%a %d %b %H:%M} {wording.zone_name(now, zone)}",
    }


def never_terms(brand: Brand) -> frozenset[str]:
    """Never "what it is about": the words of the brand's own name, queries, accounts, handles and hashtags."""
    return skip_words([brand.name, *brand.queries, brand.id, *brand.own_accounts, *brand.handles, *brand.hashtags])


def _about(
    rule: Rule,
    brand: Brand,
    result: Evaluation,
    tally: tuple[int, int],
    matching: list[ScoredMention],
    baseline: Sequence[UsualCounts],
    leaders: Sequence[tuple[ScoredMention, int]],
) -> dict[str, Any]:
    """The figures, platforms, what it is about and the top mentions (leaders, from top_mentions) of an
    opening or update."""
    scored = [m.compound for m in matching if m.compound is not None]
    all_mentions, negatives = tally
    figures = {
        **result.figures,
        "sentiment_mean": round(sum(scored) / len(scored), 3) if scored else None,
        "negative_share": round(negatives / all_mentions, 3) if all_mentions else None,
        "all_mentions": all_mentions,
    }
    terms = over_represented(matching, usual_for(rule.match.sentiment, baseline), never_terms(brand))
    return {
        "figures": figures,
        "platforms": dict(Counter(m.mention.platform for m in matching).most_common()),
        "terms": terms,
        "about": about_words(terms, matching),
        "top": [mention_dict(scored_mention, similar) for scored_mention, similar in leaders],
    }


EXPLAINED = 3  # top posts whose label an alert explains (under a millisecond each)
EXPLAINED_CHARS = 400  # of each, the start: the snippet the alert shows, where the words it names are


class Explanations:
    """Scorer.explain for alerts' top posts, kept for the posts explained last: an incident's updates show
    mostly the same top posts."""

    def __init__(self, scorer: Scorer, size: int = 512) -> None:
        self.scorer = scorer
        self.size = size
        self._kept: OrderedDict[tuple[str, str, str], Explanation] = OrderedDict()

    def __call__(self, text: str, brand: str) -> Explanation:
        return self.many([text], brand)[0]

    def many(self, texts: Sequence[str], brand: str) -> list[Explanation]:
        """Scorer.explain of each text; those not kept explained together (Scorer.explain_many)."""
        version = self.scorer.version_of(brand)
        keys = [(text, brand, version) for text in texts]
        missing = list(dict.fromkeys(key[0] for key in keys if key not in self._kept))
        for text, explanation in zip(missing, self.scorer.explain_many(missing, None, brand, top=3), strict=True):
            self._kept[(text, brand, version)] = explanation
        found = []
        for key in keys:
            self._kept.move_to_end(key)
            found.append(self._kept[key])
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return found


def explain_top(event: dict[str, Any], explain: Explanations, brand: str) -> None:
    """Say why the first top posts got their label: the model's confidence and the three words or phrases
    that weighed most toward it (Scorer.explain), in each post's `confidence` and `why`."""
    tops = (event.get("top") or [])[:EXPLAINED]
    texts = ["\n".join(str(top[k]) for k in ("title", "text") if top.get(k))[:EXPLAINED_CHARS] for top in tops]
    for top, explanation in zip(tops, explain.many(texts, brand), strict=True):
        if explanation.confidence is not None:
            top["confidence"] = explanation.confidence
            top["why"] = _distinct([word for word, weight in explanation.weights if weight > 0])


def _distinct(phrases: list[str]) -> list[str]:
    """The phrases, less the words of a phrase already kept ("down again", not also "down" and "again")."""
    kept: list[str] = []
    for phrase in phrases:
        if not any(set(phrase.lower().split()) <= set(k.lower().split()) for k in kept):
            kept.append(phrase)
    return kept
