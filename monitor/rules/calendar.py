"""Expected surges: launches, campaigns and live events a brand announced, from the rules folder's
expected.toml. Rules with `quiet_when_expected = true` (the shipped mention-storm) stay quiet for a
brand while one of its expected surges runs, and while their longest window still holds some of it;
every other rule alerts as usual (a launch that goes wrong is still a negative spike)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from monitor.config.toml import Section, TomlFile
from monitor.durations import format_duration
from monitor.errors import InvalidFiles

FILE_NAME = "expected.toml"
_KEYS = ("brand", "from", "until", "for", "what")


@dataclass(frozen=True, slots=True)
class Expected:
    """A span in which a brand's mentions are expected to surge."""

    brand: str  # a brand id, or "*"
    start: float
    end: float
    what: str = ""


@dataclass(frozen=True, slots=True)
class Calendar:
    """All expected surges of the rules folder."""

    entries: tuple[Expected, ...] = ()

    def expected(self, brand: str, now: float, window: float = 0.0) -> Expected | None:
        """The brand's expected surge running at now or within the window before it, if any (a window
        that still holds the surge's posts is about the surge)."""
        return next(
            (e for e in self.entries if e.brand in ("*", brand) and e.start <= now and e.end > now - window), None
        )


def load_calendar(directory: Path, brands: Iterable[str]) -> Calendar:
    """The folder's expected.toml (an empty calendar when there is none); InvalidFiles on problems."""
    path = directory / FILE_NAME
    if not path.exists():
        return Calendar()
    file = TomlFile.load(path)
    top = file.section("")
    top.check_keys(("expected",))
    known = set(brands)
    entries = [entry for section in top.tables("expected") if (entry := _entry(section, known)) is not None]
    file.raise_problems()
    return Calendar(tuple(sorted(entries, key=lambda e: e.start)))


def _entry(section: Section, brands: set[str]) -> Expected | None:
    section.check_keys(_KEYS)
    brand = section.text("brand")
    if isinstance(brand, str) and brand != "*" and brand not in brands:
        section.problem("brand", f"unknown brand {brand!r} (known: {', '.join(sorted(brands)) or 'none configured'})")
    start = _moment(section, "from", required=True)
    end = _moment(section, "until", required=False)
    length = section.duration("for", None)
    if (end is None) == (length is None):
        section.problem("until", 'give either until (a date and time) or for (a duration like "6h")')
    what = section.text("what", "")
    if start is None or brand is None:
        return None
    end = end if end is not None else start + (length.total_seconds() if length else 0.0)
    if end <= start:
        section.problem("until", "must be after from")
        return None
    return Expected(brand, start, end, what or "")


def _moment(section: Section, key: str, required: bool) -> float | None:
    """A TOML date-time with its UTC offset (or the same as a string), as epoch seconds."""
    value = section.data.get(key)
    if value is None:
        if required:
            section.problem(key, "required")
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime) or value.tzinfo is None:
        section.problem(key, "expected a date and time with its UTC offset, like 2026-09-14T09:00:00+02:00")
        return None
    return value.timestamp()


_UNSAFE = re.compile(r'["\\\n\r\t]')


def entry_text(brand: str, start: float, length: timedelta, what: str, zone: tzinfo) -> str:
    """One [[expected]] table as TOML text, for `monitor silences add --expected` to append."""
    moment = datetime.fromtimestamp(start, zone).replace(microsecond=0).isoformat()
    return (
        f'\n[[expected]]\nbrand = "{_UNSAFE.sub(" ", brand)}"\nfrom = {moment}\n'
        f'for = "{format_duration(length)}"\nwhat = "{_UNSAFE.sub(" ", what).strip()}"\n'
    )


def add_expected(
    directory: Path, brand: str, start: float, length: timedelta, what: str, zone: tzinfo, brands: Iterable[str]
) -> Path:
    """Append an expected surge to the folder's expected.toml (made if missing) and check the file still
    loads; on a problem the file is left as it was and InvalidFiles says why. Returns the file's path."""
    path = directory / FILE_NAME
    before = path.read_text(encoding="utf-8") if path.exists() else None
    head = before if before is not None else "# Expected surges (see docs/rules.md): launches the brand announced.\n"
    path.write_text(head + entry_text(brand, start, length, what, zone), encoding="utf-8")
    try:
        load_calendar(directory, brands)
    except InvalidFiles:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
        raise
    return path


def expected_text(directory: Path, brands: Iterable[str], now: float, zone: tzinfo) -> str:
    """The expected surges that have not ended, one a line, for `monitor silences`."""
    try:
        calendar = load_calendar(directory, brands)
    except InvalidFiles as exc:
        return "expected surges: " + "; ".join(str(p) for p in exc.problems)
    coming = [e for e in calendar.entries if e.end > now]
    if not coming:
        return f"expected surges: none ({directory / FILE_NAME})"
    lines = [f"expected surges ({directory / FILE_NAME}):"]
    for e in coming:
        begin, end = datetime.fromtimestamp(e.start, zone), datetime.fromtimestamp(e.end, zone)
        lines.append(f"  {e.brand}: {begin:%a %d %b %H:%M} to {end:%a %d %b %H:%M} {e.what}".rstrip())
    return "\n".join(lines)
