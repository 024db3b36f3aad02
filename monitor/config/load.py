"""config.toml -> frozen dataclasses. Every problem names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.services import (
    DigestConfig,
    HealthConfig,
    IngestConfig,
    SlackConfig,
    digests_table,
    env_name,
    health_table,
    ingest_table,
    slack_table,
)
from monitor.config.toml import Section, TomlFile
from monitor.textmatch import HANDLE, HASHTAG

_BRAND_ID = re.compile(r"[a-z0-9][a-z0-9_\-]*")
USER_AGENT = "monitor/0.1 (self-hosted brand monitor)"


@dataclass(frozen=True, slots=True)
class Brand:
    """A brand to watch: its search queries and what to leave out."""

    id: str
    name: str
    queries: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    own_accounts: tuple[str, ...] = ()
    status_url: str = ""
    handles: tuple[str, ...] = ()  # "@AcmeCloud": a mention tagging or replying to one counts, name or not
    hashtags: tuple[str, ...] = ()  # "#AcmeCloud": the same
    lexicon: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One platform source: common settings plus its own options (credentials by env-var name)."""

    name: str
    enabled: bool
    interval: timedelta
    base_url: str
    timeout: timedelta = timedelta(seconds=30)
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


SCORERS = ("learned", "vader")


@dataclass(frozen=True, slots=True)
class SentimentConfig:
    """Which scorer, its label thresholds, the languages it may score and the words config re-weighs.

    scorer "learned" (the default): labels are the model's most likely label and the thresholds are not
    used. scorer "vader": VADER with the brand lexicon, labelled by the compound thresholds.
    """

    positive: float = 0.05
    negative: float = -0.05
    languages: tuple[str, ...] = ("en",)
    lexicon: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    scorer: str = "learned"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole daemon configuration."""

    path: Path
    database: Path
    rules_dir: Path
    brands: tuple[Brand, ...]
    sources: Mapping[str, SourceConfig]
    tick: timedelta = timedelta(minutes=1)
    backfill: timedelta = timedelta(days=3)
    timezone: str = "UTC"
    keep_days: int = 90
    user_agent: str = USER_AGENT
    sentiment: SentimentConfig = SentimentConfig()
    slack: SlackConfig = field(default_factory=SlackConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    digests: DigestConfig = field(default_factory=DigestConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)

    @property
    def brand_lexicons(self) -> dict[str, Mapping[str, float]]:
        """Each brand's sentiment overrides."""
        return {b.id: b.lexicon for b in self.brands if b.lexicon}

    @property
    def secret_names(self) -> list[str]:
        """The environment variables this config reads secrets from."""
        names = [self.slack.token_env, self.slack.webhook_env, self.slack.app_token_env]
        if self.ingest.enabled:
            names.append(self.ingest.token_env)
        for source in self.sources.values():
            names += [str(v) for k, v in source.options.items() if k.endswith("_env") and v]
        return names

    def brand(self, brand_id: str) -> Brand | None:
        """The brand with this id, if configured."""
        return next((b for b in self.brands if b.id == brand_id), None)

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone (for seasonality and wording)."""
        return ZoneInfo(self.timezone)


_TOP_KEYS = ("monitor", "sentiment", "slack", "health", "digests", "ingest", "brands", "sources")
_MONITOR_KEYS = ("database", "rules", "tick", "backfill", "timezone", "keep_days", "user_agent")
_SOURCE_KEYS = ("enabled", "interval", "base_url", "timeout")


class SourceSchema(Protocol):
    """What config needs to know of a source class: its defaults (the sources layer provides them)."""

    base_url: str
    interval: timedelta
    options: dict[str, Any]


def load_config(path: Path | str, sources: Mapping[str, SourceSchema]) -> Config:
    """Load and validate config.toml, its [sources.NAME] tables against `sources` (name -> the source's
    defaults); raises InvalidFiles listing every problem."""
    path = Path(path)
    file = TomlFile.load(path)
    top = file.section("")
    top.check_keys(_TOP_KEYS)
    base_dir = path.parent

    general = top.table("monitor")
    general.check_keys(_MONITOR_KEYS)
    database = general.text("database", "monitor.db")
    rules_dir = general.text("rules", "rules")
    tick = general.duration("tick", timedelta(minutes=1))
    backfill = general.duration("backfill", timedelta(days=3), positive=False)
    timezone = general.text("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        general.problem("timezone", f"unknown time zone {timezone!r} (use an IANA name like Europe/Berlin)")
    user_agent = general.text("user_agent", USER_AGENT)
    keep_days = general.integer("keep_days", 90, minimum=1)

    config = Config(
        path=path,
        database=base_dir / database,
        rules_dir=base_dir / rules_dir,
        brands=_brands(top),
        sources=MappingProxyType(_sources(top, sources)),
        tick=tick,
        backfill=backfill,
        timezone=timezone,
        keep_days=keep_days,
        user_agent=user_agent,
        sentiment=_sentiment(top.table("sentiment")),
        slack=slack_table(top.table("slack")),
        health=health_table(top.table("health")),
        digests=digests_table(top.table("digests")),
        ingest=ingest_table(top.table("ingest"), configured="ingest" in top.data),
    )
    file.raise_problems()
    return config


def _brands(top: Section) -> tuple[Brand, ...]:
    brands: list[Brand] = []
    seen: set[str] = set()
    sections = top.tables("brands")
    if "brands" not in top.data:
        top.problem("brands", "at least one [[brands]] table is required")
    for section in sections:
        section.check_keys(
            ("id", "name", "queries", "handles", "hashtags", "exclude", "own_accounts", "status_url", "lexicon")
        )
        brand_id = section.text("id")
        if brand_id is not None:
            if not _BRAND_ID.fullmatch(brand_id):
                section.problem("id", f"use lowercase letters, digits, - and _, got {brand_id!r}")
            elif brand_id in seen:
                section.problem("id", f"duplicate brand id {brand_id!r}")
            seen.add(brand_id)
        brands.append(
            Brand(
                id=brand_id or "",
                name=section.text("name", brand_id or ""),
                queries=section.text_list("queries", allow_empty=False) or (),
                exclude=section.text_list("exclude", ()),
                own_accounts=section.text_list("own_accounts", ()),
                status_url=section.text("status_url", ""),
                handles=_tags(section, "handles", HANDLE, '"@AcmeCloud" (an @, then letters, digits, _ . -)'),
                hashtags=_tags(section, "hashtags", HASHTAG, '"#AcmeCloud" (a #, then letters, digits or _)'),
                lexicon=_lexicon(section.table("lexicon")),
            )
        )
    return tuple(brands)


def _tags(section: Section, key: str, shape: re.Pattern[str], example: str) -> tuple[str, ...]:
    """A brand's handles or hashtags: each whole, in its shape; one problem per one that is not."""
    values: tuple[str, ...] = section.text_list(key, ())
    good: dict[str, str] = {}
    for value in values:
        if not shape.fullmatch(value):
            section.problem(key, f"{value!r} is not written like {example}")
        elif value.lower() in good:
            section.problem(key, f"{value!r} is listed twice")
        else:
            good[value.lower()] = value
    return tuple(good.values())


def _sources(top: Section, known: Mapping[str, SourceSchema]) -> dict[str, SourceConfig]:
    table = top.table("sources")
    sources: dict[str, SourceConfig] = {}
    for name in table.data:
        cls = known.get(name)
        if cls is None:
            table.problem(name, f"unknown source (known: {', '.join(sorted(known))})")
            continue
        section = table.table(name)
        section.check_keys((*_SOURCE_KEYS, *cls.options))
        options: dict[str, Any] = {}
        for key, default in cls.options.items():
            if isinstance(default, bool):
                options[key] = section.flag(key, default)
            elif isinstance(default, int):
                options[key] = section.integer(key, default, minimum=0)
            elif isinstance(default, float):
                options[key] = section.number(key, default, minimum=0.0)
            elif isinstance(default, tuple):
                options[key] = section.text_list(key, default)
            elif key.endswith("_env"):
                options[key] = env_name(section, key, default)
            else:
                options[key] = section.text(key, default)
        base_url = section.text("base_url", cls.base_url)
        if isinstance(base_url, str) and not re.match(r"https?://[^/\s]+", base_url):
            section.problem("base_url", f"expected an http(s) URL, got {base_url!r}")
        sources[name] = SourceConfig(
            name=name,
            enabled=section.flag("enabled", True),
            interval=section.duration("interval", cls.interval),
            base_url=base_url,
            timeout=section.duration("timeout", timedelta(seconds=30)),
            options=MappingProxyType(options),
        )
    return sources


def _sentiment(section: Section) -> SentimentConfig:
    section.check_keys(("positive", "negative", "languages", "lexicon", "scorer"))
    positive = section.number("positive", 0.05, minimum=-1.0, maximum=1.0)
    negative = section.number("negative", -0.05, minimum=-1.0, maximum=1.0)
    if positive < negative:
        section.problem("positive", f"must not be below negative ({negative:g}), got {positive:g}")
    languages = section.text_list("languages", ("en",))
    scorer = section.text("scorer", "learned", choices=SCORERS)
    return SentimentConfig(
        positive=positive,
        negative=negative,
        languages=tuple(languages),
        lexicon=_lexicon(section.table("lexicon")),
        scorer=scorer,
    )


def _lexicon(section: Section) -> Mapping[str, float]:
    """Word -> valence on VADER's scale, -4 to 4 (0 makes a word neutral)."""
    words: dict[str, float] = {}
    for word in section.data:
        if not re.fullmatch(r"[^\s]+", word):
            section.problem(word, "one word per entry (phrases are not scored as such)")
            continue
        value = section.number(word, None, minimum=-4.0, maximum=4.0)
        if value is not None:
            words[word.lower()] = value
    return MappingProxyType(words)
