"""The alert event of an incident change, as the engine builds it: the mentions in the window and a
sample of the brand's earlier ones for what it is about, the top posts explained, and the chart's series.

A mixin of Engine (engine/core.py), which owns the attributes declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from monitor.alerts.events import Explanations, build_event, explain_top, iso, never_terms
from monitor.config import Brand, Config
from monitor.engine.earlier import EarlierPosts
from monitor.mention import ScoredMention
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import Evaluation, spike_baseline
from monitor.rules.match import RuleMatcher
from monitor.rules.model import Rule, SilenceDetect, SpikeDetect
from monitor.rules.terms import UsualCounts
from monitor.sentiment import Scorer
from monitor.store import IncidentRow, Store
from monitor.wording import duration_words

logger = logging.getLogger(__name__)

BASELINE_SAMPLE = 2000  # earlier mentions read to tell what an incident is about


class Alerting:
    """Builds the events the tick writes to the outbox."""

    config: Config
    store: Store
    earlier: EarlierPosts
    explanations: Explanations
    scorer: Scorer
    matchers: dict[str, RuleMatcher]
    counts: dict[tuple[str, str], BucketCounts]
    watching: bool
    watched: dict[str, set[int]]
    history_start: dict[str, float]
    rules: Sequence[Rule]
    brands: dict[str, Brand]

    def _remember(self, incident: IncidentRow) -> None: ...

    def _event(
        self, kind: str, rule: Rule, brand: Brand, incident: IncidentRow, result: Evaluation, now: float
    ) -> dict[str, Any]:
        window = result.window or rule.detect.window.total_seconds()
        tally: tuple[int, int] = (0, 0)
        matching: list[ScoredMention] = []
        baseline: list[UsualCounts] = []
        if kind != "resolved" and not isinstance(rule.detect, SilenceDetect):  # what people say: the window's posts
            start = now - window
            # Only posts of the rule's sentiment can match it: the store leaves the others out, and counts
            # the window for the figures.
            label = None if rule.match.sentiment == "any" else rule.match.sentiment
            matcher = self.matchers[rule.name]
            candidates = self._candidates(matcher, brand.id, start, now, label)
            matching = [m for m in candidates if not m.backfill and matcher(m)]
            tally = self.store.tally(brand.id, start, now)
            span = rule.horizon.total_seconds()
            baseline = self.earlier.usual(brand.id, now - span, start, BASELINE_SAMPLE, never_terms(brand))
        event = build_event(kind, rule, brand, incident, result, now, tally, matching, baseline, self.config.zone)
        explain_top(event, self.explanations, brand.id)
        if kind == "opened":
            event["chart"] = self._chart_series(rule, brand, incident, now)
        return event

    def _candidates(
        self, matcher: RuleMatcher, brand: str, start: float, end: float, label: str | None
    ) -> list[ScoredMention]:
        """The brand's stored mentions in [start, end) (of that label if given) that may count toward the
        rule: for a rule of terms, only those whose text has them. Of a rule of any sentiment hundreds of
        rows a window fail its terms, and reading a row whole costs about 10 µs."""
        if not matcher.has_terms:
            return self.store.mentions_between(start, end, brand, label=label)
        texts = self.store.texts_between(brand, start, end, label)
        return self.store.mentions_by_rowid([rowid for rowid, text in texts if matcher.terms_match(text)])

    def close_orphans(self, now: float) -> list[dict[str, Any]]:
        """Resolve the open incidents of rules that no longer exist, saying so in their threads."""
        names = {r.name for r in self.rules}
        events = []
        for incident in self.store.incidents("open"):
            if incident.rule in names:
                continue
            resolved = replace(incident, status="resolved", updated_at=now, resolved_at=now)
            brand = self.brands.get(incident.brand)
            event = {
                "event": "resolved",
                "incident": incident.id,
                "rule": incident.rule,
                "brand": incident.brand,
                "brand_name": brand.name if brand else incident.brand,
                "at": iso(now),
                "opened_at": iso(incident.opened_at),
                "peak_count": incident.peak_count,
                "resolved_after": duration_words(now - incident.opened_at),
                "summary": f"Closed: the rule {incident.rule!r} was removed.",
                "figures": {},
            }
            with self.store.transaction():
                self.store.save_incident(resolved)
                self.store.enqueue(incident.id, event, now)
            self._remember(resolved)
            logger.warning("resolved %s: its rule %s was removed", incident.id, incident.rule)
            events.append(event)
        return events

    def _chart_series(self, rule: Rule, brand: Brand, incident: IncidentRow, now: float) -> dict[str, Any]:
        """The last 48 hours of the rule's hourly counts, with the expected count where the kind has one."""
        end = int(now // 3600)
        hours = list(range(end - 47, end + 1))
        counts = self.counts.get((rule.name, brand.id), BucketCounts())
        series: dict[str, Any] = {
            "start_hour": hours[0],
            "counts": [counts.hour(h) for h in hours],
            "incident_from": incident.opened_at,
            "title": f"{rule.name} · {brand.name} · last 48 hours",
            "label": f"{rule.match.sentiment} mentions" if rule.match.sentiment != "any" else "matching mentions",
        }
        if isinstance(rule.detect, SpikeDetect):
            watched = self.watched.get(brand.id, set()) if self.watching else None
            # The baseline the tick has just learned and kept on the counts (learned again if stale).
            learned = spike_baseline(
                rule.detect, counts, now, self.history_start.get(brand.id), self.config.zone, watched
            )
            series["expected"] = [round(learned.rate(h, self.config.zone), 3) for h in hours]
        return series
