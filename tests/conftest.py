"""Shared fixtures: the fake servers, one plugin module per platform (and Slack) in tests/fakes/."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

pytest_plugins = [
    *sorted(
        f"tests.fakes.{path.stem}"
        for path in (Path(__file__).parent / "fakes").glob("*.py")
        if path.stem not in ("__init__", "base")
    ),
    "tests.helpers.sources",  # the `spec` and `fake` fixtures: each platform in turn
]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for a source under test, closed after it."""
    async with aiohttp.ClientSession() as s:
        yield s


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core. Most tests wait on loopback servers, subprocesses and latency the
    fakes add rather than compute, so on a 2-core machine 4 workers take the suite from 97 s to 66 s."""
    return 2 * (os.cpu_count() or 1)
