"""Shared fixtures: the fake servers, one plugin module per platform (and Slack) in tests/fakes/."""

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
