"""Logs: secrets of any length kept out, and floods of one cause cut to a few lines a minute."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from monitor.service.logs import BURST, RateLimit, RedactSecrets, setup_logging


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger as the daemon sets it up, writing to a string."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging()
    out = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:], root.level = saved[0], saved[1]


def test_short_secrets_are_redacted_where_they_stand_alone() -> None:
    redact = RedactSecrets(["x", "k3y", "", "a-long-secret-value"])
    record = logging.LogRecord("monitor", logging.INFO, __file__, 1, "token %s, key=%s; %s", ("x", "k3y", "ok"), None)
    assert redact.filter(record)
    assert record.getMessage() == "token [redacted], key=[redacted]; ok"
    # Inside a longer word or number a short secret is not a secret (a 1-character token would blank
    # out every "x" of every line otherwise); long ones go wherever they appear.
    record = logging.LogRecord("monitor", logging.INFO, __file__, 1, "max 0x1 k3yboard a-long-secret-value1", (), None)
    redact.filter(record)
    assert record.getMessage() == "max 0x1 k3yboard [redacted]1"


def test_a_flood_of_one_cause_is_cut_to_a_few_lines_and_the_rest_counted(stream: io.StringIO) -> None:
    ticks = Ticks()
    handler = logging.getLogger().handlers[0]
    handler.filters = [RateLimit(clock=ticks)]
    log = logging.getLogger("monitor.service.ingest_endpoint")
    other = logging.getLogger("monitor.service.daemon")
    for i in range(10_000):  # ten thousand refused requests in a minute
        log.warning("ingest: refused a request from %s without the right bearer token", f"10.0.0.{i % 250}")
        if i == 5000:
            other.error("another cause still gets through")
    ticks.now += 61
    log.warning("ingest: refused a request from %s without the right bearer token", "10.0.0.1")
    lines = stream.getvalue().splitlines()
    assert len(lines) == BURST + 2
    assert sum("another cause still gets through" in line for line in lines) == 1
    assert lines[-1].endswith("without the right bearer token (9995 more like this were not logged)")


def test_tracebacks_of_one_kind_are_limited_too(stream: io.StringIO) -> None:
    log = logging.getLogger("asyncio")
    for _ in range(1000):  # asyncio's report of each failed accept, as with EMFILE
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            log.exception("socket.accept() out of system resource\nsocket: <socket fd=6>")
    assert stream.getvalue().count("Traceback") == BURST
