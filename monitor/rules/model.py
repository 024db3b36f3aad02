"""Rules as loaded from rules/*.toml: frozen dataclasses, one per table of the file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

from monitor.rules.calendar import Calendar
from monitor.rules.topics import Topics

KINDS = ("spike", "volume", "keyword", "influencer", "share", "silence")
SEVERITIES = ("low", "medium", "high", "critical")
SENTIMENTS = ("negative", "positive", "neutral", "any")


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """Which mentions count toward a rule."""

    sentiment: str = "any"
    any_terms: tuple[str, ...] = ()
    all_terms: tuple[str, ...] = ()
    none_terms: tuple[str, ...] = ()
    min_author_followers: int = 0
    compound: tuple[float, float] | None = None  # VADER compound score range, both ends included
    languages: tuple[str, ...] = ()  # ISO 639-1 codes: the declared language, else a guess from the text


@dataclass(frozen=True, slots=True)
class SpikeDetect:
    """A count in the current window well above the seasonal expected rate (negative binomial tail)."""

    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=14)
    seasonal: bool = True
    min_count: int = 5
    min_ratio: float = 3.0
    max_p_value: float = 0.001
    min_history: timedelta = timedelta(days=1)
    fast_window: timedelta | None = None  # also test this shorter window: a sudden start is seen sooner
    long_window: timedelta | None = None  # also test this longer window: a slow climb is caught
    dispersion: str = "auto"  # "auto": negative binomial when the baseline varies more than Poisson
    more_windows: tuple[timedelta, ...] = ()  # from `windows = [...]`: the others besides the main (longest) one

    @property
    def windows(self) -> tuple[timedelta, ...]:
        """The main window first, then the others the rule tests (fast, long, or listed in `windows`)."""
        extra = (w for w in (self.fast_window, self.long_window) if w is not None)
        return (self.window, *extra, *self.more_windows)


@dataclass(frozen=True, slots=True)
class VolumeDetect:
    """At least min_count matching mentions in the window."""

    window: timedelta = timedelta(hours=1)
    min_count: int = 10


@dataclass(frozen=True, slots=True)
class KeywordDetect:
    """Crisis terms in at least min_count mentions in the window, or once from an author with reach."""

    terms: tuple[str, ...] = ()
    window: timedelta = timedelta(hours=1)
    min_count: int = 3
    min_followers: int = 0  # 0: no single-post path


@dataclass(frozen=True, slots=True)
class InfluencerDetect:
    """One matching mention from an author with at least min_followers."""

    window: timedelta = timedelta(hours=1)
    min_followers: int = 10_000


@dataclass(frozen=True, slots=True)
class ShareDetect:
    """The share of the brand's scored mentions that match (say, negative ones) in the window, at or
    above max_share or min_ratio times its share over the baseline."""

    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=7)
    max_share: float = 0.5
    min_ratio: float = 2.0
    min_count: int = 5
    min_history: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SilenceDetect:
    """The collector may be broken: no matching mention for quiet_for where the baseline expected at
    least min_expected, or one of the rule's sources failing for failing_for."""

    quiet_for: timedelta = timedelta(hours=6)
    min_expected: float = 5.0
    baseline: timedelta = timedelta(days=14)
    min_history: timedelta = timedelta(days=1)
    failing_for: timedelta | None = timedelta(minutes=30)  # None: do not watch source failures

    @property
    def window(self) -> timedelta:
        """The span the rule looks back over (for horizons and alert text)."""
        return self.quiet_for


Detect = SpikeDetect | VolumeDetect | KeywordDetect | InfluencerDetect | ShareDetect | SilenceDetect


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How incidents of a rule open, update and resolve."""

    cooldown: timedelta = timedelta(hours=2)
    resolve_after: timedelta = timedelta(hours=1)  # keep_firing_for: how long below threshold before resolving
    update_when_grown: float = 0.5
    pending_for: timedelta = timedelta(0)  # `for`: how long the condition must hold before the incident opens
    quiet_when_expected: bool = False  # no alert while the brand has an expected surge (see rules/calendar.py)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alerting rule."""

    name: str
    kind: str
    path: Path
    detect: Detect
    brands: tuple[str, ...] = ("*",)
    platforms: tuple[str, ...] = ("*",)
    severity: str = "medium"
    description: str = ""
    match: MatchSpec = MatchSpec()
    alert: AlertPolicy = AlertPolicy()
    drafts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    topics: Topics | None = None  # the rules folder's draft topics
    calendar: Calendar = field(default_factory=Calendar)  # the rules folder's expected surges

    def applies_to(self, brand: str) -> bool:
        """Whether this rule watches the brand."""
        return "*" in self.brands or brand in self.brands

    @property
    def horizon(self) -> timedelta:
        """How much history the rule's detector reads back from now."""
        if isinstance(self.detect, SpikeDetect):
            return max(self.detect.windows) + self.detect.baseline
        if isinstance(self.detect, ShareDetect | SilenceDetect):
            return self.detect.window + self.detect.baseline
        return self.detect.window

    @property
    def longest_window(self) -> timedelta:
        """The longest current window the detector counts minute by minute."""
        if isinstance(self.detect, SpikeDetect):
            return max(self.detect.windows)
        return self.detect.window

    @property
    def reach_threshold(self) -> int:
        """Followers at which one mention alone counts (keyword and influencer kinds; 0: never)."""
        if isinstance(self.detect, KeywordDetect | InfluencerDetect):
            return self.detect.min_followers
        return 0
