"""`monitor version`: the versions of monitor and of what it runs on."""

from __future__ import annotations

import argparse
import platform
import sqlite3
from importlib.metadata import version

from monitor import __version__


def version_text() -> str:
    """The version of monitor and of what it runs on."""
    parts = [f"monitor {__version__}", f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    parts += [f"{name} {version(name)}" for name in ("aiohttp", "slack-sdk", "vaderSentiment", "APScheduler")]
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Print the versions."""
    print(version_text())
    return 0
