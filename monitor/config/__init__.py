"""Configuration: config.toml -> frozen dataclasses, and the TOML reading that names FILE:LINE: key.

Owns the settings' shapes (`model`), their loading and validation (`load`) and the positions of keys in
TOML files (`toml`), which rule files use too. Imports only the foundation modules (clock, durations,
errors, mention, textmatch).
"""

from monitor.config.load import (
    Brand,
    Config,
    DigestConfig,
    HealthConfig,
    IngestConfig,
    SentimentConfig,
    SlackConfig,
    SourceConfig,
    load_config,
)

__all__ = [
    "Brand",
    "Config",
    "DigestConfig",
    "HealthConfig",
    "IngestConfig",
    "SentimentConfig",
    "SlackConfig",
    "SourceConfig",
    "load_config",
]
