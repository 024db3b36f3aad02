"""The tables that say how the daemon serves and speaks, [slack], [health], [ingest] and [digests], and
the check every `*_env` key goes through (a variable's NAME, never a secret)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.config.toml import Section

SLACK_API = "https://slack.com/api/"


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


# A variable's NAME, as environment files write them: capitals, digits and underscores.
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
NOT_A_NAME = (
    "expected the NAME of an environment variable (capitals, digits and _, like SLACK_BOT_TOKEN), not a secret:"
    " secrets go in the environment file, never in config.toml"
)


def env_name(section: Section, key: str, default: str) -> str:
    """A `*_env` key: the name of the variable holding a secret. A value that is not a name, or that looks
    like a key itself (20 or more capitals and digits, no underscore), is a problem that never quotes it."""
    value = section.data.get(key, default)
    if not isinstance(value, str):
        section.problem(key, NOT_A_NAME)  # a number or a list, never echoed: it may be a pasted secret
        return default
    looks_like_a_key = len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value)
    if value and (not _ENV_NAME.fullmatch(value) or looks_like_a_key):
        section.problem(key, NOT_A_NAME)
        return default
    return value


def slack_table(section: Section) -> SlackConfig:
    """[slack]."""
    section.check_keys(("channel", "token_env", "base_url", "webhook_env", "app_token_env", "mention"))
    names = {}
    for key, default in (
        ("token_env", "SLACK_BOT_TOKEN"),
        ("webhook_env", "SLACK_WEBHOOK_URL"),
        ("app_token_env", "SLACK_APP_TOKEN"),
    ):
        names[key] = env_name(section, key, default)
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
        channel=channel,
        token_env=names["token_env"],
        base_url=base_url,
        webhook_env=names["webhook_env"],
        app_token_env=names["app_token_env"],
        mention=mention,
    )


# One or more of: @here, @channel, a user group, a user; separated by spaces.
_MENTION = re.compile(
    r"(?:<!here>|<!channel>|<!subteam\^[A-Z0-9]+(?:\|[^<>|]*)?>|<@[UW][A-Z0-9]+>)"
    r"(?: (?:<!here>|<!channel>|<!subteam\^[A-Z0-9]+(?:\|[^<>|]*)?>|<@[UW][A-Z0-9]+>))*"
)


def _listen(section: Section, default: str) -> tuple[str, int]:
    listen = section.text("listen", default)
    host, _, port = listen.rpartition(":") if isinstance(listen, str) else ("", "", "")
    if not host or not port.isdigit() or int(port) > 65535:
        section.problem("listen", f'expected "HOST:PORT" like "{default}", got {listen!r}')
        host, _, port = default.rpartition(":")
    return host.strip("[]"), int(port)


def health_table(section: Section) -> HealthConfig:
    """[health]."""
    section.check_keys(("enabled", "listen"))
    host, port = _listen(section, "127.0.0.1:9110")
    return HealthConfig(enabled=section.flag("enabled", True), host=host, port=port)


def ingest_table(section: Section, configured: bool) -> IngestConfig:
    """[ingest]: present means on (unless enabled = false); absent means off."""
    section.check_keys(("enabled", "listen", "token_env", "max_body"))
    host, port = _listen(section, "127.0.0.1:9111")
    token_env = env_name(section, "token_env", "MONITOR_INGEST_TOKEN")
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


def digests_table(section: Section) -> DigestConfig:
    """[digests]."""
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
