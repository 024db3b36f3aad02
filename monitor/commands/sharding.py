"""`--shard I/N` for the operator commands: the database (and brands) of one shard of a sharded install.

Without --shard, a command on a sharded install (no `monitor.db`, but `monitor.shard-I-of-N.db` files
beside where it would be) is refused in one line that names the shards: it used to create and use a
`monitor.db` that no shard reads, so a silence added there was silently ineffective.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import Refused
from monitor.service.shard import for_shard, parse_shard, shard_of

if TYPE_CHECKING:
    from monitor.config import Config


def add_option(parser: argparse.ArgumentParser) -> None:
    """The --shard option, as `monitor run` takes it."""
    parser.add_argument("--shard", metavar="I/N", help="on a sharded install: shard I of N (its database, its brands)")


def shard_databases(database: Path) -> list[Path]:
    """The shard databases beside where database would be (`NAME.shard-I-of-N.SUFFIX`), sorted."""
    return sorted(database.parent.glob(f"{database.stem}.shard-*-of-*{database.suffix}"))


def cut(config: Config, shard: str | None) -> Config:
    """config as shard I/N runs it (its brands, its database); Refused (one line) for a bad --shard, or
    none on a sharded install."""
    if shard:
        try:
            return for_shard(config, parse_shard(shard))
        except ValueError as exc:
            raise Refused(f"monitor: {exc}") from None
    found = shard_databases(config.database) if str(config.database) != ":memory:" else []
    if found and not config.database.exists():
        names = ", ".join(p.name for p in found)
        raise Refused(
            f"monitor: {config.database.name} does not exist but shard databases do ({names}): this install is"
            " sharded, give --shard I/N for the shard to act on"
        )
    return config


def brand_elsewhere(full: Config, sharded: Config, shard: str | None, brand: str) -> str | None:
    """Why brand cannot be used in this shard, when it is a configured brand of another one (else None)."""
    if not shard or full.brand(brand) is None or sharded.brand(brand) is not None:
        return None
    count = parse_shard(shard).count
    return f"brand {brand!r} runs in shard {shard_of(brand, count)}/{count}, not {shard}: give --shard for that one"
