"""config.toml -> frozen dataclasses. Every problem names file, line and key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.tomlfile import Section, TomlFile

_BRAND_ID = re.compile(r"[a-z0-9][a-z0-9_\-]*")
SLACK_API = "https://slack.com/api/"
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
class SlackConfig:
    """Where alerts go. The token is read from the environment variable named by token_env."""

    channel: str = "#pr-alerts"
    token_env: str = "SLACK_BOT_TOKEN"
    base_url: str = SLACK_API
    webhook_env: str = "SLACK_WEBHOOK_URL"
    # The app-level token (xapp-..., scope connections:write) for Socket Mode: buttons work only with it.
    app_token_env: str = "SLACK_APP_TOKEN"
    # Who new alerts @-mention until someone acknowledges: "<!here>", "<!subteam^S0123ABCD>", "<@U0123ABCD>".
    mention: str = ""


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """When digests go out, in the configured time zone (None: not at all)."""

    daily: tuple[int, int] | None = (9, 0)  # hour, minute
    weekly: tuple[str, int, int] | None = ("mon", 9, 0)  # day of week, hour, minute


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """The health and metrics server: loopback unless told otherwise."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9110


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """POST /ingest for exporters and webhooks: off unless an [ingest] table is configured."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9111
    token_env: str = "MONITOR_INGEST_TOKEN"
    max_body: int = 5 * 1024 * 1024


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
    slack: SlackConfig = SlackConfig()
    health: HealthConfig = HealthConfig()
    digests: DigestConfig = DigestConfig()
    ingest: IngestConfig = IngestConfig()

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


def load_config(path: Path | str) -> Config:
    """Load and validate config.toml; raises InvalidFiles listing every problem."""
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
        sources=MappingProxyType(_sources(top)),
        tick=tick,
        backfill=backfill,
        timezone=timezone,
        keep_days=keep_days,
        user_agent=user_agent,
        sentiment=_sentiment(top.table("sentiment")),
        slack=_slack(top.table("slack")),
        health=_health(top.table("health")),
        digests=_digests(top.table("digests")),
        ingest=_ingest(top.table("ingest"), configured="ingest" in top.data),
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
        section.check_keys(("id", "name", "queries", "exclude", "own_accounts", "status_url", "lexicon"))
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
                lexicon=_lexicon(section.table("lexicon")),
            )
        )
    return tuple(brands)


def _sources(top: Section) -> dict[str, SourceConfig]:
    from monitor.sources import SOURCES

    table = top.table("sources")
    sources: dict[str, SourceConfig] = {}
    for name in table.data:
        cls = SOURCES.get(name)
        if cls is None:
            table.problem(name, f"unknown source (known: {', '.join(sorted(SOURCES))})")
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


def _slack(section: Section) -> SlackConfig:
    section.check_keys(("channel", "token_env", "base_url", "webhook_env", "app_token_env", "mention"))
    names = {}
    for key, default in (
        ("token_env", "SLACK_BOT_TOKEN"),
        ("webhook_env", "SLACK_WEBHOOK_URL"),
        ("app_token_env", "SLACK_APP_TOKEN"),
    ):
        names[key] = section.text(key, default)
        if isinstance(names[key], str) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", names[key]):
            section.problem(key, "expected the NAME of an environment variable, not a secret")
    base_url = section.text("base_url", SLACK_API)
    if not base_url.endswith("/"):
        base_url += "/"
    channel = section.text("channel", "#pr-alerts")
    mention = section.text("mention", "")
    if isinstance(mention, str) and mention and not _MENTION.fullmatch(mention):
        example = '"<!here>", "<!subteam^S0123ABCD>" or "<@U0123ABCD>"'
        section.problem("mention", f"expected Slack mentions like {example}, got {mention!r}")
        mention = ""
    return SlackConfig(
        channel=channel, token_env=names["token_env"], base_url=base_url, webhook_env=names["webhook_env"],
        app_token_env=names["app_token_env"], mention=mention,
    )  # fmt: skip


# One or more of: @here, @channel, a user group, a user; separated by spaces.
_MENTION = re.compile(r"(?:<!here>|<!channel>|<!subteam\^[A-Z0-9]+(?:\|[^<>|]*)?>|<@[UW][A-Z0-9]+>)"
                      r"(?: (?:<!here>|<!channel>|<!subteam\^[A-Z0-9]+(?:\|[^<>|]*)?>|<@[UW][A-Z0-9]+>))*")  # fmt: skip


def _listen(section: Section, default: str) -> tuple[str, int]:
    listen = section.text("listen", default)
    host, _, port = listen.rpartition(":") if isinstance(listen, str) else ("", "", "")
    if not host or not port.isdigit() or int(port) > 65535:
        section.problem("listen", f'expected "HOST:PORT" like "{default}", got {listen!r}')
        host, _, port = default.rpartition(":")
    return host.strip("[]"), int(port)


def _health(section: Section) -> HealthConfig:
    section.check_keys(("enabled", "listen"))
    host, port = _listen(section, "127.0.0.1:9110")
    return HealthConfig(enabled=section.flag("enabled", True), host=host, port=port)


def _ingest(section: Section, configured: bool) -> IngestConfig:
    """[ingest]: present means on (unless enabled = false); absent means off."""
    section.check_keys(("enabled", "listen", "token_env", "max_body"))
    host, port = _listen(section, "127.0.0.1:9111")
    token_env = section.text("token_env", "MONITOR_INGEST_TOKEN")
    if isinstance(token_env, str) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        section.problem("token_env", "expected the NAME of an environment variable, not a secret")
    max_body = section.integer("max_body", 5 * 1024 * 1024, minimum=1024)
    return IngestConfig(
        enabled=configured and bool(section.flag("enabled", True)),
        host=host,
        port=port,
        token_env=token_env,
        max_body=max_body,
    )


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _digests(section: Section) -> DigestConfig:
    section.check_keys(("daily", "weekly"))
    daily_text = section.text("daily", "09:00")
    weekly_text = section.text("weekly", "mon 09:00")
    daily = weekly = None
    if daily_text:
        match = _TIME.fullmatch(daily_text.strip())
        if match is None:
            section.problem("daily", f'expected a time like "09:00", or "" for none, got {daily_text!r}')
        else:
            daily = (int(match.group(1)), int(match.group(2)))
    if weekly_text:
        day, _, at = weekly_text.strip().partition(" ")
        match = _TIME.fullmatch(at.strip())
        if day.lower()[:3] not in _DAYS or match is None:
            section.problem("weekly", f'expected a day and time like "mon 09:00", or "" for none, got {weekly_text!r}')
        else:
            weekly = (day.lower()[:3], int(match.group(1)), int(match.group(2)))
    return DigestConfig(daily=daily, weekly=weekly)
