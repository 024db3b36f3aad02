"""A wall clock that tests move by hand, and sleeps that do not wait."""

from __future__ import annotations


class Clock:
    """A wall clock the test moves by hand (`clock.now += 60`); pass it where monitor takes a Clock.

    With `tick`, every reading also moves it that many seconds on, as the real clock moves between two
    readings: code that reads the time twice where it means one moment shows up (GDELT's spacing did).
    """

    def __init__(self, now: float, tick: float = 0.0) -> None:
        self.now = now
        self.tick = tick

    def __call__(self) -> float:
        now = self.now
        self.now += self.tick
        return now

    async def sleep(self, seconds: float) -> None:
        """A wait that passes on this clock at once (no real time): backoff and spacing under test."""
        self.now += seconds


async def no_sleep(_: float) -> None:
    """Backoff that does not wait."""
