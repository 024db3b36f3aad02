"""What a config exposes to the network: listeners on every interface, an ingest token too short to guess
hard. Warnings, not errors (a firewall or a TLS proxy may make them fine); `monitor check` prints them
and the daemon logs them at start. They name keys and variables, never a secret's value."""

from __future__ import annotations

import os
from collections.abc import Mapping

from monitor.config.load import Config

MIN_TOKEN = 16  # characters; `openssl rand -hex 32` gives 64
EVERY_INTERFACE = ("0.0.0.0", "::", "")


def exposure_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(key, what and what to do) per warning."""
    environ = os.environ if environ is None else environ
    found: list[tuple[str, str]] = []
    listeners = [("health", config.health.host, config.health.enabled, "/healthz and /metrics")]
    listeners.append(("ingest", config.ingest.host, config.ingest.enabled, "/ingest"))
    for name, host, enabled, what in listeners:
        if enabled and host in EVERY_INTERFACE:
            shown = f"[{host}]" if ":" in host else host or "every address"
            found.append(
                (
                    f"{name}.listen",
                    f"{shown} listens on every network interface: {what} can be reached from other"
                    " machines; use 127.0.0.1 (behind a TLS proxy for remote senders) unless a firewall keeps them out",
                )
            )
    token = environ.get(config.ingest.token_env, "")
    if config.ingest.enabled and 0 < len(token) < MIN_TOKEN:
        found.append(
            (
                "ingest.token_env",
                f"the token in {config.ingest.token_env} has {len(token)} character(s), easy to"
                f" guess: use at least {MIN_TOKEN} random ones (`openssl rand -hex 32`)",
            )
        )
    return found
