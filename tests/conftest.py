"""Shared fixtures: the fake servers, one plugin module per platform (and Slack) in tests/fakes/."""

from pathlib import Path

pytest_plugins = sorted(
    f"tests.fakes.{path.stem}"
    for path in (Path(__file__).parent / "fakes").glob("*.py")
    if path.stem not in ("__init__", "base")
)
