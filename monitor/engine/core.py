"""The engine: ingest and the rule tick, as one plain object that takes `now` as an argument.

The daemon drives it with the wall clock; backtest and demo drive it with stream time. There is no
second implementation of detection for replays.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.alerts.events import Explanations
from monitor.config import Brand, Config
from monitor.engine.alerting import Alerting
from monitor.engine.earlier import EarlierPosts
from monitor.engine.filters import Guard, Pipeline
from monitor.engine.incidents import Change, hold, step
from monitor.engine.silences import Muting, SilencesInForce
from monitor.engine.skipping import Skipping
from monitor.mention import Mention, ScoredMention
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import (
    Evaluation,
    Failure,
    evaluate_influencer,
    evaluate_keyword,
    evaluate_share,
    evaluate_silence,
    evaluate_spike,
    evaluate_volume,
    posted_count,
)
from monitor.rules.match import RuleMatcher
from monitor.rules.model import (
    SEVERITIES,
    InfluencerDetect,
    KeywordDetect,
    Rule,
    ShareDetect,
    SilenceDetect,
    SpikeDetect,
)
from monitor.rules.repeats import Repeats
from monitor.sentiment import Scorer
from monitor.store import IncidentRow, Store

logger = logging.getLogger(__name__)


def _bucket(table: dict[Any, BucketCounts], key: Any) -> BucketCounts:
    """table[key], made on first use (setdefault would build a throwaway BucketCounts every call)."""
    counts = table.get(key)
    if counts is None:
        counts = table[key] = BucketCounts()
    return counts


@dataclass(frozen=True, slots=True)
class CursorUpdate:
    """A poll cursor to store in the same transaction as the mentions it covers."""

    source: str
    query: str
    state: str


class Engine(Alerting, Skipping):
    """Pipeline, counts and incidents over one store."""

    def __init__(self, config: Config, rules: Sequence[Rule], store: Store, scorer: Scorer) -> None:
        self.config = config
        self.store = store
        self.earlier = EarlierPosts(store)  # alerts' baseline posts, kept between alerts
        self.scorer = scorer
        self.explanations = Explanations(scorer)  # of alerts' top posts, kept between alerts
        self.brands: dict[str, Brand] = {b.id: b for b in config.brands}
        self.pipeline = Pipeline(scorer, config.brands)
        self.rules: list[Rule] = []
        self.matchers: dict[str, RuleMatcher] = {}
        self.counts: dict[tuple[str, str], BucketCounts] = {}
        self.reach: dict[tuple[str, str], BucketCounts] = {}  # matching mentions by authors above reach
        self.totals: dict[str, BucketCounts] = {}  # every scored mention per brand (share denominators)
        self.history_start: dict[str, float] = {}
        # The daemon knows when each brand was polled successfully (watched hours); a replay does not,
        # and treats every hour since its first mention as watched.
        self.watching = False
        self.watched: dict[str, set[int]] = {}
        self._pruned_hour = -1
        # The daemon's source health: sources whose polls are failing now (silence rules read it).
        self.source_failures: Callable[[], Mapping[str, Failure]] | None = None
        # Called with every evaluation (rule, brand, now, result): backtest --trace shows why rules did
        # or did not fire.
        self.trace: Callable[[Rule, str, float, Evaluation], None] | None = None
        self.muting = Muting(())
        self.silences = SilencesInForce(store)
        # (rule, brand) -> when its condition started to hold, for rules with `for` (see incidents.hold).
        self.pending: dict[tuple[str, str], float] = {}
        # The newest incident of each (rule, brand), read from the store once and then kept here: the
        # engine is the only writer of the incident state the tick reads (see Store.save_incident).
        self._latest: dict[tuple[str, str], IncidentRow] | None = None
        self.guard = Guard()  # makes each mention safe to store; counts what it repaired or left out
        self.set_rules(rules)

    # rules and history

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Swap the rule set; counts are rebuilt by load_history."""
        self.rules = list(rules)
        self.matchers = {r.name: RuleMatcher(r) for r in self.rules}
        self._watching: dict[str, list[tuple[str, RuleMatcher, tuple[str, str], int]]] = {}
        self.counts, self.reach, self.totals = {}, {}, {}
        self.repeats = Repeats()
        self.gates = {}  # spike rules' bounds (engine/skipping)
        self.forget_verdicts()  # quiet verdicts and pairs asleep (engine/skipping)
        # The tick's visiting order: gravest rules first, so that a crisis opening in a tick already
        # inhibits lesser ones; each with the brands it applies to, in the configured order.
        self._order = [
            (rule, [(brand, (rule.name, brand.id)) for brand in self.brands.values() if rule.applies_to(brand.id)])
            for rule in sorted(self.rules, key=lambda r: SEVERITIES.index(r.severity), reverse=True)
        ]

    def load_history(self, now: float) -> int:
        """Rebuild counts from stored mentions within the longest rule horizon; returns mentions read."""
        self.counts, self.reach, self.totals = {}, {}, {}
        self.forget_verdicts()
        self.repeats = Repeats()
        self.muting = Muting(self.silences.at(now))
        horizon = max((r.horizon.total_seconds() for r in self.rules), default=0.0) + 3600
        self.watched = self.store.watched_hours(int((now - horizon) // 3600))
        for brand in self.brands:
            first = self.store.first_mention_at(brand)
            if first is not None:
                self.history_start[brand] = first
        read = 0
        for scored in self.store.iter_mentions(since=now - horizon):
            if scored.brand in self.brands:
                self._count(scored)
                read += 1
        return read

    def _count(self, scored: ScoredMention) -> None:
        brand, mention = scored.brand, scored.mention
        ts = mention.created_at.timestamp()
        start = self.history_start.get(brand)
        if start is None or ts < start:
            self.history_start[brand] = ts
            self._wake(brand)  # its baselines may learn from more hours
        if self.repeats.repeat(brand, mention.author, mention.full_text, ts):
            return  # its author said the same shortly before: one voice counts once
        live = not scored.backfill
        if scored.label is not None:
            _bucket(self.totals, brand).add(ts, live=live)
            if ts < self.shares_settled:
                self.wake_shares(brand)
        watching = self._watching.get(brand)
        if watching is None:  # the rules that watch this brand, with their matchers and keys, listed once
            watching = self._watching[brand] = [
                (r.name, self.matchers[r.name], (r.name, brand), r.reach_threshold)
                for r in self.rules
                if r.applies_to(brand)
            ]
        muting, table, dormant = self.muting, self.counts, self.dormant
        for name, matcher, key, reach in watching:
            if not matcher(scored):
                continue
            if muting.term_silences and muting.ignores(name, brand, mention.full_text):
                continue
            counts = table.get(key)  # _bucket inlined: this runs for every mention and matching rule
            if counts is None:
                counts = table[key] = BucketCounts()
            counts.add(ts, live)
            asleep = dormant.get(key)
            if asleep is not None and (not live or counts.adds >= asleep[2]):
                del dormant[key]  # it may fire now (a backfilled mention may change its baseline)
                self.quiet_until = -math.inf
            if reach and (mention.author_followers or 0) >= reach:
                _bucket(self.reach, key).add(ts, live)

    def _wake(self, brand: str) -> None:
        """Look at every pair of the brand again at the next tick."""
        self.quiet_until = -math.inf
        for key in [k for k in self.dormant if k[1] == brand]:
            del self.dormant[key]

    def mark_watched(self, brand: str, start: float, end: float) -> None:
        """The brand was polled successfully over [start, end]: those hours count in its baselines."""
        hours = range(int(start // 3600), int(end // 3600) + 1)
        known = self.watched.setdefault(brand, set())
        new = [h for h in hours if h not in known]
        if new:
            known.update(new)
            self._wake(brand)  # its baselines learn from these hours too
            self.store.mark_watched(brand, new)

    # ingest

    def ingest(
        self,
        brand_id: str,
        mentions: Iterable[Mention],
        now: float,
        live_since: float | None = None,
        cursor: CursorUpdate | None = None,
        check_query: bool = True,
        count: bool = True,
    ) -> list[ScoredMention]:
        """Filter, dedup, score and store mentions for a brand (and the poll cursor, atomically); count
        them toward the rules unless count is False (a replay stores ahead and counts at stream time).
        Each mention is made safe first (monitor.sanitize): repaired, or left out with its cause logged."""
        prepared = self.pipeline.prepare(brand_id, self._fresh(brand_id, mentions, now), live_since, check_query)
        with self.store.transaction():
            prepared = self.store.link_copies(prepared)
            self.store.add_mentions(prepared, fetched_at=now)
            if cursor is not None:
                self.store.set_cursor(cursor.source, brand_id, cursor.query, cursor.state, now)
        if count:
            self.count(prepared)
        return prepared

    def _fresh(self, brand_id: str, mentions: Iterable[Mention], now: float) -> list[Mention]:
        """The mentions made safe (monitor.sanitize), less those the brand already has stored."""
        batch = self.guard.safe(mentions, now)
        by_platform: dict[str, list[str]] = {}
        for m in batch:
            by_platform.setdefault(m.platform, []).append(m.id)
        known = {
            (platform, i)
            for platform, ids in by_platform.items()
            for i in self.store.known_ids(brand_id, platform, ids)
        }
        return [m for m in batch if (m.platform, m.id) not in known] if known else batch

    def ingest_later(
        self, batches: Sequence[tuple[str, list[Mention], bool]], now: float
    ) -> Callable[[], list[ScoredMention]]:
        """ingest() for several brands' batches of (brand, mentions, check_query) at once, not counted, in
        two steps: the mentions are made safe, deduplicated against what is stored now and selected, and
        one scoring batch for all of them is started (in the process pool, when large); calling the
        result waits for the scores and stores them in one transaction. A replay stores ahead with it,
        whatever the number of brands, and ticks through one chunk while the pool scores the next."""
        selected = [
            (brand, self.pipeline.select(brand, self._fresh(brand, mentions, now), check))
            for brand, mentions, check in batches
        ]
        scoring = self.scorer.pairs_later([(m.full_text, m.lang, brand) for brand, kept in selected for m in kept])

        def store() -> list[ScoredMention]:
            pairs = scoring()
            stored: list[ScoredMention] = []
            with self.store.transaction():
                start = 0
                for brand, kept in selected:
                    scored = self.pipeline.scored(brand, kept, pairs[start : start + len(kept)])
                    start += len(kept)
                    scored = self.store.link_copies(scored)
                    self.store.add_mentions(scored, fetched_at=now)
                    stored += scored
            return stored

        return store

    def count(self, stored: Iterable[ScoredMention]) -> None:
        """Count stored mentions toward the rules (a copy of a stored story or link is not counted again)."""
        for scored in stored:
            if scored.copy_of is None:
                self._count(scored)

    # rule tick

    def evaluate(self, rule: Rule, brand: str, now: float, explain: bool = True) -> Evaluation:
        """Run the rule's detector for one brand at now (explain False: figures of a quiet result are
        not read, and may leave out what is costly to compute)."""
        key = (rule.name, brand)
        counts = _bucket(self.counts, key)
        detect, start = rule.detect, self.history_start.get(brand)
        watched = self.watched.get(brand, set()) if self.watching else None
        if isinstance(detect, SpikeDetect):
            return evaluate_spike(detect, counts, now, start, self.config.zone, watched, explain)
        if isinstance(detect, ShareDetect):
            totals = _bucket(self.totals, brand)
            return evaluate_share(detect, counts, totals, now, start, watched)
        if isinstance(detect, KeywordDetect):
            return evaluate_keyword(detect, counts, _bucket(self.reach, key), now)
        if isinstance(detect, InfluencerDetect):
            return evaluate_influencer(detect, counts, now)
        if isinstance(detect, SilenceDetect):
            failures = dict(self.source_failures()) if self.source_failures is not None else {}
            if "*" not in rule.platforms:
                failures = {name: f for name, f in failures.items() if name in rule.platforms}
            return evaluate_silence(detect, counts, now, start, self.config.zone, watched, failures)
        return evaluate_volume(detect, counts, now)

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Evaluate every rule for every brand; store incident changes with their alerts; return the events."""
        started = time.perf_counter()
        if self._latest is None:
            self._latest = self.store.latest_incidents()
        latest = self._latest
        self.muting = muting = Muting(self.silences.at(now))
        severity = {r.name: r.severity for r in self.rules}
        for incident in latest.values():
            if incident.status == "open" and incident.rule in severity:
                muting.opened(incident.brand, incident.rule, severity[incident.rule])
        events: list[dict[str, Any]] = []
        # Pairs quiet by counts with nothing counted since are passed over unlooked at (a trace sees all).
        dormant = self.dormant if self.trace is None else {}
        self.settle_shares(now)
        for rule, pairs in self._order:
            for brand, key in pairs:
                asleep = dormant.get(key)
                if asleep is not None and asleep[0] <= now < asleep[1]:
                    continue
                previous = latest.get(key)
                # A quiet result's figures are read only by a trace or to resolve an open incident.
                explain = self.trace is not None or (previous is not None and previous.status == "open")
                if not explain and key not in self.pending and self._cannot_fire(rule, key, now):
                    continue  # quiet, and nothing open or pending to move on: the evaluation would change nothing
                result = self.evaluate(rule, brand.id, now, explain)
                if self.trace is not None:
                    self.trace(rule, brand.id, now, result)
                pending = hold(rule, previous, result, now, self.pending.get(key))
                if pending is not None:
                    self.pending[key] = pending
                    continue
                self.pending.pop(key, None)
                change = step(rule, brand.id, previous, result, now)
                if change is None:
                    continue
                event = self._apply(change, rule, brand, previous, result, now)
                if event is not None:
                    events.append(event)
        self._prune(now)
        self.settle_quiet(now)
        logger.debug("rule tick: %d rules, %.1f ms", len(self.rules), (time.perf_counter() - started) * 1e3)
        return events

    def _apply(
        self, change: Change, rule: Rule, brand: Brand, previous: IncidentRow | None, result: Evaluation, now: float
    ) -> dict[str, Any] | None:
        """Save an incident change with its alert event, unless it must stay quiet; the event written."""
        quiet = self.muting.why_quiet(rule, brand.id, change.event, now)
        if quiet and (change.event == "opened" or change.reopened):
            # Not made at all: a reopening kept quiet would later post a second "resolved" to a thread
            # never told the incident had come back.
            verb = "reopen" if change.reopened else "open"
            logger.info("%s for %s would %s but is %s", rule.name, brand.id, verb, quiet)
            return None
        if change.incident.status == "open":
            self.muting.opened(brand.id, rule.name, rule.severity)
        event = None
        if change.event is not None and not quiet:
            event = self._event(change.event, rule, brand, change.incident, result, now)
            if change.reopened:
                event["reopened"] = True
            then = posted_count(previous.figures, result, previous.last_posted_count) if previous else 0
            if change.event == "updated" and then:
                event["growth"] = round(result.count / then - 1, 3)
        with self.store.transaction():
            self.store.save_incident(change.incident)
            if event is not None:
                event["outbox_id"] = self.store.enqueue(change.incident.id, event, now)
        self._remember(change.incident)
        if event is not None:
            logger.info("%s %s for %s: %s", change.event, rule.name, brand.id, event.get("summary"))
        return event

    def _remember(self, incident: IncidentRow) -> None:
        """Keep a saved incident as the newest of its (rule, brand), once its transaction committed."""
        if self._latest is not None:
            self._latest[(incident.rule, incident.brand)] = incident

    def _prune(self, now: float) -> None:
        # Buckets are hours: forgetting the old ones once an hour is enough.
        hour = int(now // 3600)
        if hour == self._pruned_hour:
            return
        self._pruned_hour = hour
        # Hours are kept for the baselines, minutes only for the current windows.
        horizons = {
            r.name: (r.horizon.total_seconds() + 3600, r.longest_window.total_seconds() + 3600) for r in self.rules
        }
        for (rule, _brand), counts in [*self.counts.items(), *self.reach.items()]:
            hours, minutes = horizons.get(rule, (0.0, 0.0))
            counts.prune(now - hours, now - minutes)
        longest = max((h for h, _ in horizons.values()), default=0.0)
        longest_window = max((m for _, m in horizons.values()), default=0.0)
        for totals in self.totals.values():
            totals.prune(now - longest, now - longest_window)
        self.repeats.prune(now)
