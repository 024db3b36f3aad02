"""The process pool large batches are scored in (Scorer.pairs_later): one worker a core, each scoring
with what a factory builds in it from the same settings."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

Item = tuple[str, str | None, str | None]  # (text, declared language, brand id)
Pair = tuple[float | None, str | None]  # (compound, label), both None when unscored
Scoring = Callable[[Sequence[Item]], list[Pair]]

# A batch this large is scored in the pool, in chunks of POOL_CHUNK: below it, starting workers and
# shipping texts costs more than it saves. Polls bring tens of mentions; bulk ingests, imports and
# backtests bring thousands.
POOL_MIN = 4000
POOL_CHUNK = 1000
# Workers run this much nicer than the process they score for: it is the critical path (a replay's
# counting, ticks and alerts; the daemon's event loop), and they take what it leaves of the cores.
WORKER_NICENESS = 10


def start(workers: int, factory: Callable[..., Scoring], args: tuple[Any, ...]) -> ProcessPoolExecutor:
    """workers processes, each scoring with factory(*args), built once in it (a module-level function:
    it is sent by name). Spawned, not forked: the daemon forks from a running event loop with threads."""
    return ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _start_worker, (factory, args))


def submit(pool: ProcessPoolExecutor, items: Sequence[Item]) -> list[Future[list[Pair]]]:
    """The items' pairs, scored in the pool chunk by chunk, in order."""
    return [pool.submit(_score_chunk, items[i : i + POOL_CHUNK]) for i in range(0, len(items), POOL_CHUNK)]


_SCORING: Scoring | None = None


def _start_worker(factory: Callable[..., Scoring], args: tuple[Any, ...]) -> None:
    global _SCORING  # one per worker process, built once
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    _SCORING = factory(*args)


def _score_chunk(items: Sequence[Item]) -> list[Pair]:
    assert _SCORING is not None
    return _SCORING(items)
