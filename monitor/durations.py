"""Durations written as "90s", "15m", "2h", "7d", "1w" or combined ("1h30m")."""

from __future__ import annotations

import re
from datetime import timedelta

MAX_SECONDS = 100 * 365 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def parse_duration(text: str) -> timedelta:
    """Parse a duration string; ValueError with the expected form if it is not one."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.strip()):
        raise ValueError(f'expected a duration like "90s", "15m", "2h" or "7d", got {text!r}')
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text.strip()))
    if seconds > MAX_SECONDS:  # timedelta itself would overflow past 999,999,999 days
        raise ValueError(f"expected a duration of at most 100 years, got {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest duration string for a timedelta (whole seconds)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)
