"""Logging to stderr: one line per event; no timestamps when journald is the sink; secrets redacted;
floods of one cause cut down to a few lines a minute."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"
# Secrets shorter than this are redacted only where they stand alone (not inside a longer word or
# number): a 1-character token replaced everywhere would blank out every "a" of every line.
SHORT_SECRET = 8
BURST = 5  # records of one cause let through per WINDOW ...
WINDOW = 60.0  # ... seconds; the rest are counted, and the count is told with the next one let through
MAX_CAUSES = 1000


class RedactSecrets(logging.Filter):
    """Replaces the values of secret environment variables wherever they appear in a log record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.secrets = [s for s in ordered if len(s) >= SHORT_SECRET]
        short = [s for s in ordered if len(s) < SHORT_SECRET]
        alternatives = "|".join(re.escape(s) for s in short)
        self.short = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])") if short else None

    def clean(self, text: str) -> str:
        """text with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return self.short.sub(REDACTED, text) if self.short is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        record.msg, record.args, record.exc_text = self.clean(message), None, self.clean(text) or None
        return True


class RateLimit(logging.Filter):
    """Lets through at most BURST records of one cause per WINDOW seconds, then tells how many it held back.

    A cause is where a record comes from and what it says before its arguments: the logger, the level,
    the message template (its first line, for asyncio's multi-line reports) and the exception's type.
    So 10,000 refused requests a minute make six lines, while a different problem still gets through.
    """

    def __init__(self, burst: int = BURST, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self.causes: OrderedDict[tuple[str, int, str, str], list[float]] = OrderedDict()  # [window start, seen, held]

    @staticmethod
    def cause(record: logging.LogRecord) -> tuple[str, int, str, str]:
        """What makes two records the same cause."""
        template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
        kind = type(record.exc_info[1]).__name__ if record.exc_info and record.exc_info[1] is not None else ""
        return record.name, record.levelno, template.split("\n", 1)[0][:120], kind

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = self.cause(record), self.clock()
        state = self.causes.get(key)
        if state is None:
            state = self.causes[key] = [now, 0.0, 0.0]
            if len(self.causes) > MAX_CAUSES:
                self.causes.popitem(last=False)
        self.causes.move_to_end(key)
        if now - state[0] >= self.window:
            state[0], state[1] = now, 0.0
        state[1] += 1
        if state[1] > self.burst:
            state[2] += 1
            return False
        if state[2]:
            held, state[2] = int(state[2]), 0.0
            record.msg, record.args = f"{record.getMessage()} ({held} more like this were not logged)", None
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
    handler.addFilter(RateLimit())  # first: a record held back is not formatted or redacted for nothing
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "aiohttp.access", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
