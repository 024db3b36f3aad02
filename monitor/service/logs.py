"""Logging to stderr: one line per event; no timestamps when journald is the sink."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replaces the values of secret environment variables wherever they appear in a log record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned, text = message, record.exc_text or ""
        for secret in self.secrets:
            cleaned, text = cleaned.replace(secret, REDACTED), text.replace(secret, REDACTED)
        record.msg, record.args, record.exc_text = cleaned, None, text or None
        return True


def redact_environment(names: Iterable[str]) -> None:
    """Keep the values of these environment variables out of every log line."""
    secrets = [os.environ.get(name, "") for name in names]
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactSecrets)]
        handler.addFilter(RedactSecrets(secrets))


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the root logger once (journald adds its own timestamps)."""
    if os.environ.get("JOURNAL_STREAM"):
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "aiohttp.access", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
