"""A wall clock that tests move by hand, and sleeps that do not wait."""

from __future__ import annotations


class Clock:
    """A wall clock the test moves by hand (`clock.now += 60`); pass it where monitor takes a Clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def no_sleep(_: float) -> None:
    """Backoff that does not wait."""
