"""Silences and inhibition: what keeps an incident from alerting while a person or a crisis says so."""

from __future__ import annotations

import math
from collections.abc import Iterable

from monitor.alerts.events import iso
from monitor.rules.model import SEVERITIES, Rule
from monitor.store import Store
from monitor.store.records import Silence
from monitor.textmatch import TermSet


class SilencesInForce:
    """The silences in force at a time, read from the store again only when they may differ: a silence
    starts or ends (Store.silences_in_force says until when its answer holds), or one is written
    (Store.silences_token). The tick asks every minute."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._kept: tuple[list[Silence], tuple[float, float, tuple[int, int]]] | None = None

    def at(self, now: float) -> list[Silence]:
        """The silences in force at now."""
        if self._kept is not None:
            silences, (since, until, token) = self._kept
            if since <= now < until and token == self.store.silences_token():
                return silences
        self._kept = self.store.silences_in_force(now)
        return self._kept[0]

    def holds_until(self, now: float) -> float:
        """Until when the silences in force at now stay the same, unless one is written."""
        return self._kept[1][1] if self._kept is not None and self._kept[1][0] <= now else -math.inf


class Muting:
    """The silences in force at one moment, and the open incidents that inhibit lesser ones."""

    def __init__(self, silences: Iterable[Silence]) -> None:
        self.silences = [s for s in silences if not s.terms]
        self.term_silences = [(s, TermSet(s.terms)) for s in silences if s.terms]
        self.open_severity: dict[str, tuple[int, str]] = {}  # brand -> (rank, rule) of its gravest open incident

    def silenced(self, rule: str, brand: str) -> Silence | None:
        """The silence that mutes incidents of this rule and brand, if any."""
        return next((s for s in self.silences if s.covers(rule, brand)), None)

    def ignores(self, rule: str, brand: str, text: str) -> bool:
        """Whether a mention's text is silenced for this rule and brand."""
        return any(s.covers(rule, brand) and terms.search(text) for s, terms in self.term_silences)

    def opened(self, brand: str, rule: str, severity: str) -> None:
        """Note an open incident (the gravest per brand inhibits lesser ones)."""
        rank = SEVERITIES.index(severity)
        if rank > self.open_severity.get(brand, (-1, ""))[0]:
            self.open_severity[brand] = (rank, rule)

    def why_quiet(self, rule: Rule, brand: str, kind: str | None, now: float) -> str:
        """Why an opening or update must not alert now ("" when it may): the brand announced this surge,
        a silence, or a graver open incident. Resolutions always go out."""
        if kind not in ("opened", "updated"):
            return ""
        expected = None
        if rule.alert.quiet_when_expected:
            expected = rule.calendar.expected(brand, now, rule.longest_window.total_seconds())
        if expected is not None:
            return f"expected ({expected.what or 'announced'}, until {iso(expected.end)})"
        silence = self.silenced(rule.name, brand)
        if silence is not None:
            return f"silenced (#{silence.id} by {silence.author or 'someone'})"
        inhibitor = self.inhibitor(rule.name, brand, rule.severity)
        return f"inhibited by the open {inhibitor} incident" if inhibitor else ""

    def inhibitor(self, rule: str, brand: str, severity: str) -> str | None:
        """The rule of a graver open incident for the same brand, which keeps this one quiet."""
        rank, other = self.open_severity.get(brand, (-1, ""))
        return other if rank > SEVERITIES.index(severity) and other != rule else None
