"""Scale-out past one machine: brands split across instances, and one status over their databases.

`monitor run --shard i/n` runs instance i of n (1 <= i <= n) with the same config.toml everywhere:
it watches only the brands whose stable hash (SHA-256 of the brand id, not Python's per-process
hash) falls to it, and keeps its own database (`monitor.db` becomes `monitor.shard-i-of-n.db`), so
instances share nothing and each brand's history, incidents and threads live in exactly one place.
Adding a brand moves no other brand; changing n moves brands, whose history stays in the old shard's
database (replay it with `monitor backtest` or start afresh). `monitor status --merge DB...` reads
the shards' databases (a copy or a read-only mount will do) and prints one status for all of them.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Config

_SHARD = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True, slots=True)
class Shard:
    """Instance index of count, 1-based."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Parse "i/n" into a Shard; ValueError saying what is expected."""
    match = _SHARD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--shard: expected i/n such as 1/2, got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ValueError(f"--shard: i must be between 1 and n, got {text!r}")
    return Shard(index, count)


def shard_of(brand_id: str, count: int) -> int:
    """The 1-based shard a brand belongs to among count: the same on every machine and every run."""
    digest = hashlib.sha256(brand_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def for_shard(config: Config, shard: Shard) -> Config:
    """The config one instance runs: its brands only, and its own database file.

    ValueError when the shard gets no brand (more shards than brands, or an unlucky split).
    """
    brands = tuple(b for b in config.brands if shard_of(b.id, shard.count) == shard.index)
    if not brands:
        raise ValueError(f"--shard {shard}: no brand of {len(config.brands)} falls to this shard; use fewer shards")
    database = config.database
    if str(database) != ":memory:":
        database = database.with_name(f"{database.stem}.shard-{shard.index}-of-{shard.count}{database.suffix}")
    return replace(config, brands=brands, database=database)


@dataclass(frozen=True, slots=True)
class ShardStatus:
    """What one shard's database says."""

    path: str
    brands: tuple[str, ...]
    mentions: int
    open_incidents: tuple[tuple[str, float, int], ...]  # (incident id, opened at, peak count)
    outbox: int
    outbox_oldest: float | None
    dead_letters: int


def read_status(path: Path) -> ShardStatus:
    """One shard's status from its database (FileNotFoundError when there is none)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such database")
    from monitor.store import Store  # here: `monitor --help` and `--shard` parsing start without SQLite

    store = Store.open(path)
    try:
        stats = store.stats()
        return ShardStatus(
            path=str(path),
            brands=tuple(sorted({row["brand"] for row in stats["mentions"]})),
            mentions=store.count_mentions(),
            open_incidents=tuple((i.id, i.opened_at, i.peak_count) for i in store.incidents("open")),
            outbox=store.outbox_size(),
            outbox_oldest=store.outbox_oldest(),
            dead_letters=store.count_dead_letters(),
        )
    finally:
        store.close()


def merged_status(shards: Sequence[ShardStatus], now: float) -> str:
    """One status over every shard: totals first, then open incidents (oldest first), then per shard."""
    incidents = sorted((i for s in shards for i in s.open_incidents), key=lambda i: i[1])
    waiting = sum(s.outbox for s in shards)
    oldest = min((s.outbox_oldest for s in shards if s.outbox_oldest is not None), default=None)
    brands = sorted({b for s in shards for b in s.brands})
    lines = [
        f"shards: {len(shards)}, brands with mentions: {len(brands)}, mentions: {sum(s.mentions for s in shards)}",
        f"open incidents: {len(incidents)}",
        *(
            f"  {iid}  since {time.strftime('%Y-%m-%d %H:%M', time.gmtime(at))} UTC  peak {peak}"
            for iid, at, peak in incidents
        ),
        f"outbox: {waiting} alert(s) waiting" + (f", oldest {int(now - oldest)} s ago" if oldest is not None else ""),
        f"dead letters: {sum(s.dead_letters for s in shards)}",
    ]
    seen: dict[str, str] = {}
    for s in shards:
        for brand in s.brands:
            if brand in seen:
                lines.append(f"  ! brand {brand} has mentions in {seen[brand]} and {s.path} (the shard count changed?)")
            seen.setdefault(brand, s.path)
    for s in shards:
        lines.append(
            f"  {s.path}: {len(s.brands)} brand(s), {s.mentions} mention(s), {len(s.open_incidents)} open,"
            f" {s.outbox} waiting, {s.dead_letters} dead"
        )
    return "\n".join(lines)
