"""Loading and validating rules/*.toml: one rule per file; every problem names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

from monitor.config.toml import Section, TomlFile
from monitor.durations import parse_duration
from monitor.errors import InvalidFiles, Problem
from monitor.rules.calendar import FILE_NAME as CALENDAR_FILE
from monitor.rules.calendar import Calendar, load_calendar
from monitor.rules.model import (
    KINDS,
    SENTIMENTS,
    SEVERITIES,
    AlertPolicy,
    Detect,
    InfluencerDetect,
    KeywordDetect,
    MatchSpec,
    Rule,
    ShareDetect,
    SilenceDetect,
    SpikeDetect,
    VolumeDetect,
)
from monitor.rules.topics import FILE_NAME as TOPICS_FILE
from monitor.rules.topics import check_template, load_topics

_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]*")
_TOP_KEYS = ("name", "kind", "description", "brands", "platforms", "severity", "match", "detect", "alert", "drafts")
DRAFT_KEYS = ("holding", "reply")


def load_rules(directory: Path, brands: Iterable[str], platforms: Iterable[str]) -> list[Rule]:
    """Load every *.toml in directory (or the one rule file given, to try it alone, with the draft
    topics and expected surges of its folder); InvalidFiles lists every problem in every file."""
    single = directory.is_file() and directory.suffix == ".toml"
    if not directory.is_dir() and not single:
        raise InvalidFiles([Problem(str(directory), None, "", "rules folder (or rule file) not found")])
    known_brands, known_platforms = set(brands), set(platforms)
    rules: list[Rule] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    topics = None
    calendar = Calendar()
    try:
        topics = load_topics(directory.parent if single else directory)
    except InvalidFiles as exc:
        problems.extend(exc.problems)
    try:
        calendar = load_calendar(directory.parent if single else directory, known_brands)
    except InvalidFiles as exc:
        problems.extend(exc.problems)
    for path in [directory] if single else sorted(directory.glob("*.toml")):
        if path.name in (TOPICS_FILE, CALENDAR_FILE):
            continue
        try:
            rule = replace(load_rule(path, known_brands, known_platforms), topics=topics, calendar=calendar)
        except InvalidFiles as exc:
            problems.extend(exc.problems)
            continue
        if rule.name in seen:
            problems.append(Problem(str(path), 1, "name", f"{rule.name!r} is already used by {seen[rule.name]}"))
            continue
        seen[rule.name] = path
        rules.append(rule)
    if problems:
        raise InvalidFiles(problems)
    return rules


def load_rule(path: Path, brands: set[str], platforms: set[str]) -> Rule:
    """Load one rule file."""
    file = TomlFile.load(path)
    top = file.section("")
    top.check_keys(_TOP_KEYS)
    name = top.text("name")
    if isinstance(name, str) and not _NAME.fullmatch(name):
        top.problem("name", f"use lowercase letters, digits, - and _, got {name!r}")
    kind = top.text("kind", choices=KINDS)
    rule_brands = _names(top, "brands", brands, "brand")
    rule_platforms = _names(top, "platforms", platforms, "platform")
    severity = top.text("severity", "medium", choices=SEVERITIES)
    description = top.text("description", "")
    match = _match(top.table("match"))
    detect_section = top.table("detect", required=True)
    builders: dict[str, Callable[[Section], Detect]] = {
        "volume": _volume,
        "keyword": _keyword,
        "influencer": _influencer,
        "share": _share,
        "silence": _silence,
    }
    detect = builders.get(kind or "", _spike)(detect_section)
    alert = _alert(top.table("alert"))
    drafts = _drafts(top.table("drafts"))
    file.raise_problems()
    return Rule(
        name=name,
        kind=kind,
        path=path,
        detect=detect,
        brands=rule_brands,
        platforms=rule_platforms,
        severity=severity,
        description=description,
        match=match,
        alert=alert,
        drafts=drafts,
    )


def _names(top: Section, key: str, known: set[str], what: str) -> tuple[str, ...]:
    values: tuple[str, ...] = top.text_list(key, ("*",), allow_empty=False) or ("*",)
    for value in values:
        if value != "*" and value not in known:
            options = ", ".join(sorted(known)) or "none configured"
            top.problem(key, f"unknown {what} {value!r} (known: {options})")
    return values


def _match(section: Section) -> MatchSpec:
    section.check_keys(
        ("sentiment", "any_terms", "all_terms", "none_terms", "min_author_followers", "compound", "languages")
    )
    languages = section.text_list("languages", ())
    for code in languages or ():
        if not re.fullmatch(r"[a-z]{2}", code):
            section.problem("languages", f'expected ISO 639-1 codes like "en", got {code!r}')
    return MatchSpec(
        sentiment=section.text("sentiment", "any", choices=SENTIMENTS),
        any_terms=section.text_list("any_terms", ()),
        all_terms=section.text_list("all_terms", ()),
        none_terms=section.text_list("none_terms", ()),
        min_author_followers=section.integer("min_author_followers", 0, minimum=0),
        compound=_compound_range(section),
        languages=tuple(languages or ()),
    )


def _compound_range(section: Section) -> tuple[float, float] | None:
    """[match] compound = [low, high]: two numbers in [-1, 1], low <= high."""
    value = section.data.get("compound")
    if value is None:
        return None
    numbers = isinstance(value, list) and len(value) == 2
    numbers = numbers and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not numbers:
        section.problem("compound", f"expected a range [low, high] like [-1.0, -0.5], got {value!r}")
        return None
    low, high = float(value[0]), float(value[1])
    if not (-1.0 <= low <= high <= 1.0):
        section.problem("compound", f"expected -1 <= low <= high <= 1, got [{low:g}, {high:g}]")
        return None
    return low, high


def _spike(section: Section) -> SpikeDetect:
    default = SpikeDetect()
    section.check_keys(
        (
            "window",
            "windows",
            "baseline",
            "seasonal",
            "min_count",
            "min_ratio",
            "max_p_value",
            "min_history",
            "fast_window",
            "long_window",
            "dispersion",
        )
    )
    listed = _windows(section)
    window = max(listed) if listed else section.duration("window", default.window)
    baseline = section.duration("baseline", default.baseline)
    fast = section.duration("fast_window", None)
    long = section.duration("long_window", None)
    if window and fast and fast >= window:
        section.problem("fast_window", "must be shorter than window")
    if window and long and long <= window:
        section.problem("long_window", "must be longer than window")
    longest = max(w for w in (window, long) if w) if window else None
    if longest and baseline and baseline < longest:
        section.problem("baseline", "must be at least as long as the longest window")
    dispersion = section.text("dispersion", default.dispersion, choices=("auto", "poisson"))
    p_value = section.number("max_p_value", default.max_p_value, minimum=0.0, maximum=1.0)
    if p_value == 0:
        section.problem("max_p_value", "must be above 0 (0 would never fire)")
    return SpikeDetect(
        window=window,
        baseline=baseline,
        seasonal=section.flag("seasonal", default.seasonal),
        min_count=section.integer("min_count", default.min_count, minimum=1),
        min_ratio=section.number("min_ratio", default.min_ratio, minimum=1.0),
        max_p_value=p_value,
        min_history=section.duration("min_history", default.min_history, positive=False),
        fast_window=fast,
        long_window=long,
        dispersion=dispersion,
        more_windows=tuple(sorted(w for w in listed if w != window)) if listed and window else (),
    )


def _windows(section: Section) -> list[timedelta]:
    """`windows = ["10m", "20m", "1h"]`: every window the rule tests (the longest is the main one)."""
    if "windows" not in section.data:
        return []
    texts = section.text_list("windows", allow_empty=False) or ()
    for key in ("window", "fast_window", "long_window"):
        if key in section.data:
            section.problem(key, "give either windows or window (with fast_window and long_window), not both")
    listed = []
    for text in texts:
        try:
            listed.append(parse_duration(text))
        except ValueError as exc:
            section.problem("windows", str(exc))
    if len(set(listed)) != len(listed):
        section.problem("windows", "each window only once")
    if any(w.total_seconds() <= 0 for w in listed):
        section.problem("windows", "every window must be longer than zero")
    return sorted(set(listed))


def _silence(section: Section) -> SilenceDetect:
    default = SilenceDetect()
    section.check_keys(("quiet_for", "min_expected", "baseline", "min_history", "failing_for"))
    quiet = section.duration("quiet_for", default.quiet_for)
    baseline = section.duration("baseline", default.baseline)
    if quiet and baseline and baseline < quiet:
        section.problem("baseline", "must be at least as long as quiet_for")
    failing = section.duration("failing_for", default.failing_for, positive=False)
    return SilenceDetect(
        quiet_for=quiet,
        min_expected=section.number("min_expected", default.min_expected, minimum=1.0),
        baseline=baseline,
        min_history=section.duration("min_history", default.min_history, positive=False),
        failing_for=failing if failing else None,
    )


def _volume(section: Section) -> VolumeDetect:
    default = VolumeDetect()
    section.check_keys(("window", "min_count"))
    return VolumeDetect(
        window=section.duration("window", default.window),
        min_count=section.integer("min_count", default.min_count, minimum=1),
    )


def _keyword(section: Section) -> KeywordDetect:
    default = KeywordDetect()
    section.check_keys(("terms", "window", "min_count", "min_followers"))
    return KeywordDetect(
        terms=section.text_list("terms", allow_empty=False) or (),
        window=section.duration("window", default.window),
        min_count=section.integer("min_count", default.min_count, minimum=1),
        min_followers=section.integer("min_followers", default.min_followers, minimum=0),
    )


def _influencer(section: Section) -> InfluencerDetect:
    default = InfluencerDetect()
    section.check_keys(("window", "min_followers"))
    return InfluencerDetect(
        window=section.duration("window", default.window),
        min_followers=section.integer("min_followers", default.min_followers, minimum=1),
    )


def _share(section: Section) -> ShareDetect:
    default = ShareDetect()
    section.check_keys(("window", "baseline", "max_share", "min_ratio", "min_count", "min_history"))
    window = section.duration("window", default.window)
    baseline = section.duration("baseline", default.baseline)
    if window and baseline and baseline < window:
        section.problem("baseline", "must be at least as long as window")
    return ShareDetect(
        window=window,
        baseline=baseline,
        max_share=section.number("max_share", default.max_share, minimum=0.01, maximum=1.0),
        min_ratio=section.number("min_ratio", default.min_ratio, minimum=1.0),
        min_count=section.integer("min_count", default.min_count, minimum=1),
        min_history=section.duration("min_history", default.min_history, positive=False),
    )


def _alert(section: Section) -> AlertPolicy:
    default = AlertPolicy()
    section.check_keys(
        ("cooldown", "keep_firing_for", "resolve_after", "for", "update_when_grown", "quiet_when_expected")
    )
    # keep_firing_for is the name Prometheus users know; resolve_after is the older name of the same thing.
    if "keep_firing_for" in section.data and "resolve_after" in section.data:
        section.problem("resolve_after", "is the older name of keep_firing_for: give one of them")
    keep = section.duration("resolve_after", default.resolve_after)
    keep = section.duration("keep_firing_for", keep)
    return AlertPolicy(
        cooldown=section.duration("cooldown", default.cooldown, positive=False),
        resolve_after=keep,
        update_when_grown=section.number("update_when_grown", default.update_when_grown, minimum=0.01),
        pending_for=section.duration("for", default.pending_for, positive=False),
        quiet_when_expected=section.flag("quiet_when_expected", default.quiet_when_expected),
    )


def _drafts(section: Section) -> MappingProxyType[str, str]:
    section.check_keys(DRAFT_KEYS)
    drafts: dict[str, str] = {}
    for key in DRAFT_KEYS:
        template = check_template(section, key, section.text(key, None))
        if template is not None:
            drafts[key] = template
    return MappingProxyType(drafts)
