"""`monitor check`: config and every rule file validated, then warnings that do not stop a start."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from monitor.config import Config
from monitor.config.exposure import exposure_warnings
from monitor.config.toml import TomlFile
from monitor.errors import Problem
from monitor.loading import load_all
from monitor.sources import SOURCES
from monitor.sources.quota import credential_warnings, quota_warnings


def check_warnings(config: Config, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """What `monitor check` warns about (exit 0 all the same): missing credentials, quotas passed, listeners
    on every interface, a short ingest token."""
    environ = os.environ if environ is None else environ
    line_of = TomlFile.load(config.path).line_of
    found = credential_warnings(config, SOURCES, environ) + quota_warnings(config, SOURCES, environ)
    if config.ingest.enabled and not environ.get(config.ingest.token_env):
        found.append(("ingest.token_env", f"{config.ingest.token_env} is not set: the daemon cannot serve /ingest"))
    found += exposure_warnings(config, environ)
    return [Problem(str(config.path), line_of(key), key, f"warning: {message}") for key, message in found]


def run(args: argparse.Namespace) -> int:
    """Exit 0 when valid (problems raise InvalidFiles: exit 2); notes and warnings on stderr."""
    config, rules = load_all(args.config, args.rules)
    enabled = [s for s in config.sources.values() if s.enabled]
    print(
        f"ok: {len(config.brands)} brand(s), {len(enabled)} of {len(config.sources)} source(s) enabled,"
        f" {len(rules)} rule(s)"
    )
    if not os.environ.get(config.slack.token_env):
        print(f"note: {config.slack.token_env} is not set: alerts will print to the console", file=sys.stderr)
    for warning in check_warnings(config):
        print(warning, file=sys.stderr)
    return 0
