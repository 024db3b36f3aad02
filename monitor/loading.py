"""Loading what the daemon and the commands run on: config.toml with its sources' options, and the
rule files, validated together (InvalidFiles lists every problem as FILE:LINE: key: what is wrong)."""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config
from monitor.config import load_config as load_config_with
from monitor.config.toml import TomlFile
from monitor.errors import InvalidFiles, Problem
from monitor.rules import Rule, load_rules
from monitor.sources import PLATFORMS, SOURCES


def load_config(path: Path | str) -> Config:
    """config.toml, its [sources.NAME] tables checked against the sources this build has."""
    return load_config_with(path, SOURCES)


def load_all(config_path: Path | str, rules_dir: Path | str | None = None) -> tuple[Config, list[Rule]]:
    """Config and rules, validated together; InvalidFiles lists every problem."""
    config = load_config(config_path)
    directory = Path(rules_dir) if rules_dir else config.rules_dir
    rules = load_rules(directory, (b.id for b in config.brands), PLATFORMS)
    longest = max(rules, key=lambda r: r.horizon, default=None)
    if longest is not None and longest.horizon.total_seconds() > config.keep_days * 86400:
        line = TomlFile.load(config.path).line_of("monitor.keep_days")
        raise InvalidFiles(
            [
                Problem(
                    str(config.path),
                    line,
                    "monitor.keep_days",
                    f"{config.keep_days} days is shorter than what rule {longest.name!r} reads back"
                    f" ({longest.horizon.days} days and more): raise keep_days",
                )
            ]
        )
    return config, rules
