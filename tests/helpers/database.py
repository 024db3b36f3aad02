"""Databases as an older release left them: the schema's first migrations only."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from monitor.store.schema import MIGRATIONS


def database_at(path: Path, version: int) -> Path:
    """A database at path with the first `version` migrations applied, as that release wrote it."""
    old = sqlite_utils.Database(path)
    for migration in MIGRATIONS[:version]:
        migration(old)
    old.execute(f"PRAGMA user_version = {version}")
    old.close()
    return path
