"""The one source of "now" for product code.

Two kinds of time, kept apart:

- **Wall time** is what time it is, in epoch seconds. Whatever is stored, compared with a stored time
  or shown as a date reads it through a `Clock`, handed down from the top: the daemon, each operator
  command (`main(argv, clock=...)`) and the demo. Mention and poll times, sweep cursors, rule windows
  and baselines, incidents, silences and snoozes, the outbox's retry times, digests, health's "last
  success", platforms' rate-limit resets and token expiries all come from it. `system` is the real one;
  tests pass a pinned `Clock`; the demo runs a fast one. Nothing else in `monitor/` may call
  `time.time()`, `datetime.now()` or `date.today()` (tests/test_clock.py greps for them).
- **Elapsed time** is how long something took or how long to wait: HTTP timeouts, poll durations in
  metrics, back-off sleeps, the file watch's interval, asyncio's timers, the systemd watchdog. It stays
  on `time.monotonic()`, `time.perf_counter()` and the event loop's clock, and never becomes a date.

APScheduler keeps its own wall clock to decide when jobs run (an interval timer, not a reading the
product acts on); `scheduler_time` tells it "this many seconds from now" in that clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], float]
"""A reading of wall time: epoch seconds, UTC."""


def system() -> float:
    """The machine's wall clock: the clock the daemon and the operator commands run on."""
    return time.time()


def utc(clock: Clock) -> datetime:
    """The clock's reading as an aware UTC datetime."""
    return datetime.fromtimestamp(clock(), UTC)


def scheduler_time(delay: float) -> datetime:
    """`delay` seconds from now by APScheduler's own (system) clock, for a job's next run time."""
    return datetime.now(UTC) + timedelta(seconds=delay)


def fast(speed: float, start: float) -> Clock:
    """A clock that reads `start` now and then runs `speed` times as fast as real time (the demo's)."""
    origin = time.monotonic()

    def clock() -> float:
        return start + (time.monotonic() - origin) * speed

    return clock
