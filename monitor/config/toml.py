"""Reading TOML files for users: line numbers for keys and typed getters that collect problems."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from monitor.durations import parse_duration
from monitor.errors import InvalidFiles, Problem

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")
_MISSING: Any = object()
T = TypeVar("T")


def _clean(part: str) -> str:
    return ".".join(p.strip().strip("\"'") for p in part.split("."))


def key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths ("sources.reddit.interval", "brands[1].id") to their 1-based line numbers.

    Only lines that start a key or a table count: what is inside a multi-line string or a value that
    runs over several lines (an array, an inline table) is skipped, however it looks.
    """
    lines: dict[str, int] = {}
    current = ""
    array_counts: dict[str, int] = {}
    scan = _ValueScan()
    for number, raw in enumerate(text.splitlines(), start=1):
        if scan.open:  # the rest of a value begun on an earlier line
            scan.feed(raw)
            continue
        header = _HEADER.match(raw)
        if header and not _KEY.match(raw):
            name = _clean(header.group(2))
            if header.group(1) == "[[":
                index = array_counts.get(name, 0)
                array_counts[name] = index + 1
                current = f"{name}[{index}]"
            else:
                current = name
            lines.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            path = f"{current}.{_clean(key.group(1))}" if current else _clean(key.group(1))
            lines.setdefault(path, number)
            scan.feed(raw[key.end() :])
    return lines


class _ValueScan:
    """Follows a TOML value across lines: open multi-line strings and brackets; comments skipped."""

    def __init__(self) -> None:
        self.depth = 0  # open [ and { of arrays and inline tables
        self.string = ""  # the delimiter of an open multi-line string

    @property
    def open(self) -> bool:
        """Whether the value goes on to the next line."""
        return bool(self.string) or self.depth > 0

    def feed(self, line: str) -> None:
        """Read one line (or the part of one after `key =`) of a value."""
        i = 0
        while i < len(line):
            if self.string:
                end = line.find(self.string, i)
                if end < 0:
                    return
                i = end + len(self.string)
                self.string = ""
                continue
            char = line[i]
            if char == "#":
                return
            if line.startswith('"""', i) or line.startswith("'''", i):
                self.string, i = line[i : i + 3], i + 3
            elif char in "\"'":
                i = _string_end(line, i)
            else:
                self.depth += (char in "[{") - (char in "]}")
                i += 1


def _string_end(line: str, start: int) -> int:
    """The index after a one-line string that opens at `start` (basic strings have \\ escapes)."""
    quote, i = line[start], start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i + 1
        i += 1
    return i


class TomlFile:
    """A parsed TOML file that knows where its keys are and gathers problems."""

    def __init__(self, path: Path, data: dict[str, Any], lines: dict[str, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines
        self.problems: list[Problem] = []

    @classmethod
    def load(cls, path: Path) -> TomlFile:
        """Read and parse; InvalidFiles with one problem if unreadable or not TOML."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidFiles([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            line = int(match.group(1)) if match else None
            message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise InvalidFiles([Problem(str(path), line, "", f"not valid TOML: {message}")]) from None
        return cls(path, data, key_lines(text))

    def line_of(self, key: str) -> int | None:
        """The line of a key, or of its nearest enclosing table."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rsplit(".", 1)[0] if "." in key else ""
        return None

    def problem(self, key: str, message: str) -> None:
        """Record a problem at a key."""
        self.problems.append(Problem(str(self.path), self.line_of(key), key, message))

    def raise_problems(self) -> None:
        """Raise InvalidFiles if any problem was recorded."""
        if self.problems:
            raise InvalidFiles(list(self.problems))

    def section(self, key: str, data: dict[str, Any] | None = None) -> Section:
        """A typed view of a table (the whole file for key "")."""
        return Section(self, key, self.data if data is None else data)


class Section:
    """Typed getters over one table; each wrong value becomes a Problem and yields the default."""

    def __init__(self, file: TomlFile, prefix: str, data: dict[str, Any]) -> None:
        self.file = file
        self.prefix = prefix
        self.data = data

    def path(self, key: str) -> str:
        """The dotted path of a key in this table."""
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str, message: str) -> None:
        """Record a problem at a key of this table."""
        self.file.problem(self.path(key), message)

    def _get(self, key: str, default: Any, kinds: type | tuple[type, ...], what: str) -> Any:
        if key not in self.data:
            if default is _MISSING:
                self.problem(key, "required")
                return None
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
            self.problem(key, f"expected {what}, got {value!r}")
            return None if default is _MISSING else default
        if not isinstance(value, kinds):
            self.problem(key, f"expected {what}, got {value!r}")
            return None if default is _MISSING else default
        return value

    def text(self, key: str, default: Any = _MISSING, choices: Iterable[str] | None = None) -> Any:
        """A string, optionally one of choices."""
        value = self._get(key, default, str, "a string")
        if choices is not None and key in self.data and value is not None:
            options = list(choices)
            if value not in options:
                self.problem(key, f"expected one of {', '.join(options)}, got {value!r}")
                return None if default is _MISSING else default
        return value

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        """A boolean."""
        return self._get(key, default, bool, "true or false")

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        """An integer, at least minimum."""
        value = self._get(key, default, int, "an integer")
        if minimum is not None and isinstance(value, int) and key in self.data and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {value}")
            return None if default is _MISSING else default
        return value

    def number(
        self, key: str, default: Any = _MISSING, minimum: float | None = None, maximum: float | None = None
    ) -> Any:
        """A number (integer or float) within [minimum, maximum]."""
        value = self._get(key, default, (int, float), "a number")
        if value is None or key not in self.data:
            return value
        value = float(value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "-inf" if minimum is None else f"{minimum:g}"
            high = "inf" if maximum is None else f"{maximum:g}"
            self.problem(key, f"must be between {low} and {high}, got {value:g}")
            return None if default is _MISSING else default
        return value

    def duration(self, key: str, default: Any = _MISSING, positive: bool = True) -> Any:
        """A duration string, parsed to a timedelta."""
        value = self._get(key, default, (str, timedelta), 'a duration like "15m"')
        if not isinstance(value, str):
            return value
        try:
            parsed = parse_duration(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return None if default is _MISSING else default
        if positive and parsed.total_seconds() <= 0:
            self.problem(key, f"must be longer than zero, got {value!r}")
            return None if default is _MISSING else default
        return parsed

    def text_list(self, key: str, default: Any = _MISSING, allow_empty: bool = True) -> Any:
        """A list of non-empty strings, as a tuple."""
        value = self._get(key, default, list, "a list of strings")
        if not isinstance(value, list):
            return value if value is None else tuple(value)
        if not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(key, "expected a list of non-empty strings")
            return tuple(default) if default is not _MISSING else None
        if not allow_empty and not value:
            self.problem(key, "must not be empty")
            return None if default is _MISSING else tuple(default)
        return tuple(value)

    def table(self, key: str, required: bool = False) -> Section:
        """A sub-table (empty if absent and not required)."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem(key, "required table is missing")
            return Section(self.file, self.path(key), {})
        if not isinstance(value, dict):
            self.problem(key, "expected a table")
            return Section(self.file, self.path(key), {})
        return Section(self.file, self.path(key), value)

    def tables(self, key: str) -> list[Section]:
        """An array of tables ([[key]])."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(key, "expected an array of tables")
            return []
        return [Section(self.file, f"{self.path(key)}[{i}]", v) for i, v in enumerate(value)]

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Report keys this table does not know, with a did-you-mean."""
        known = list(allowed)
        for key in self.data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
                self.problem(key, f"unknown key{hint}")
