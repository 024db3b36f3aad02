"""A replay's mentions in created_at order, read as they are replayed rather than held.

A replay file is read twice: once to check every line (so that a bad line is one clear problem
before anything is replayed) and to note each mention's time and where its line starts, then, in
time order, line by line as the replay goes. What is held is two numbers a mention, in typed arrays
(16 MB for a million, where lists of Python numbers took 70), so a backtest's memory grows little with
its input. The mentions of a database are read in time order from its created_at index, in batches.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from monitor.errors import InvalidFiles, Problem
from monitor.mention import Mention, from_replay
from monitor.store import Store

Item = tuple[Mention, str | None]  # a mention and the brand its replay line names, if any
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Replay:
    """Mentions to replay: `items()` yields them in created_at order, as often as asked."""

    items: Callable[[], Iterator[Item]]
    count: int
    first: float  # the first and last created_at (0 for an empty replay)
    last: float
    brands: frozenset[str] = field(default_factory=frozenset)  # the brands the lines name

    def __iter__(self) -> Iterator[Item]:
        return self.items()

    @property
    def span(self) -> tuple[float, float]:
        """The first and last created time."""
        return self.first, self.last


def of_items(items: Iterable[Item], since: float = float("-inf"), until: float = float("inf")) -> Replay:
    """A replay of mentions already in memory (tests, generated streams), sorted by created_at."""
    kept = sorted(
        (item for item in items if since <= item[0].created_at.timestamp() < until),
        key=lambda item: item[0].created_at,
    )
    stamps = [m.created_at.timestamp() for m, _ in kept]
    return Replay(
        lambda: iter(kept),
        len(kept),
        stamps[0] if stamps else 0.0,
        stamps[-1] if stamps else 0.0,
        frozenset(b for _, b in kept if b),
    )


def of_file(path: Path, since: float = float("-inf"), until: float = float("inf")) -> Replay:
    """A replay JSONL file's mentions created in [since, until); InvalidFiles naming each bad line."""
    offsets, stamps, brands = _index(path, since, until)
    times = np.frombuffer(stamps, dtype=np.float64) if stamps else np.empty(0)
    order = np.argsort(times, kind="stable")
    starts = (np.frombuffer(offsets, dtype=np.int64) if offsets else np.empty(0, dtype=np.int64))[order]

    def items() -> Iterator[Item]:
        with path.open("rb") as handle:
            for start in starts:
                handle.seek(int(start))
                yield from_replay(json.loads(handle.readline()))

    first, last = (float(times[order[0]]), float(times[order[-1]])) if len(times) else (0.0, 0.0)
    return Replay(items, len(times), first, last, frozenset(brands))


def _index(path: Path, since: float, until: float) -> tuple[array[int], array[float], set[str]]:
    """(where each kept line starts, its created_at, the brands named) after checking every line."""
    offsets = array("q")
    stamps = array("d")
    brands: set[str] = set()
    problems: list[Problem] = []
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InvalidFiles([Problem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    with handle:
        position = 0
        for number, line in enumerate(handle, start=1):
            start, position = position, position + len(line)
            if not line.strip():
                continue
            try:
                mention, brand = from_replay(json.loads(line))
            except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
                problems.append(Problem(str(path), number, "", str(exc)))
                if len(problems) >= MAX_PROBLEMS:
                    break
                continue
            ts = mention.created_at.timestamp()
            if since <= ts < until:
                offsets.append(start)
                stamps.append(ts)
                if brand:
                    brands.add(brand)
    if problems:
        raise InvalidFiles(problems)
    return offsets, stamps, brands


def of_store(database: Path, since: float = float("-inf"), until: float = float("inf")) -> Replay:
    """The mentions already in a database (copies left out), with their brands, in created_at order."""
    store = Store.open(database)
    try:
        count, first, last, brands = store.span_of_mentions(since, until)
    finally:
        store.close()

    def items() -> Iterator[Item]:
        reader = Store.open(database)
        try:
            for scored in reader.iter_mentions(since=since if since > float("-inf") else None):
                if scored.mention.created_at.timestamp() >= until:
                    return
                yield scored.mention, scored.brand
        finally:
            reader.close()

    return Replay(items, count, first, last, frozenset(brands))
