"""Configuration: config.toml -> frozen dataclasses, and the TOML reading that names FILE:LINE: key.

Owns the settings' shapes, their loading and validation (`load`; the service tables [slack], [health],
[ingest], [digests] and the `*_env` check in `services`), what a config exposes to the network
(`exposure`: warnings) and the positions of keys in TOML files (`toml`), which rule files use too.
Imports only the foundation modules (clock, durations, errors, mention, textmatch).
"""

from monitor.config.load import Brand, Config, SentimentConfig, SourceConfig, load_config
from monitor.config.services import DigestConfig, HealthConfig, IngestConfig, SlackConfig

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
