"""The database (sqlite-utils, WAL): schema and migrations, mentions, cursors, incidents, outbox.

All SQL lives in this package; other modules call named methods. It also owns the database file
itself (`files`: made whole, quick_check), the daemon lock (`lock`: by name and by identity) and the
keys that find copies of one story (`copies`). Imports only the foundation modules and config.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from monitor.errors import StoreError
from monitor.store.actions import Action, ActionsTable, Exclusion, RuleStats
from monitor.store.files import prepare, quick_check
from monitor.store.lock import DaemonLock
from monitor.store.maintenance import Maintenance
from monitor.store.mentions import MentionsTable, PostRow
from monitor.store.records import IncidentRow, OutboxItem, epoch, from_epoch
from monitor.store.schema import migrate
from monitor.store.scores import ScoresTable
from monitor.store.state import DaemonState

__all__ = [
    "Action",
    "DaemonLock",
    "Exclusion",
    "IncidentRow",
    "OutboxItem",
    "PostRow",
    "RuleStats",
    "Store",
    "StoreError",
    "epoch",
    "from_epoch",
]


class Store(MentionsTable, ScoresTable, DaemonState, ActionsTable, Maintenance):
    """The one owner of the SQLite database."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._durable = 0
        self._rewrites = 0  # rescorings and prunings through this connection (see rewrites())
        self._silence_writes = 0  # silences added or ended through it (see silences_token())

    @classmethod
    def open(cls, path: Path | str, check: bool = False) -> Store:
        """Open (creating it whole, or migrating it, as needed) the database at path, or ":memory:";
        with check, run PRAGMA quick_check first (the daemon does, at start).

        StoreError, one line naming the file and what to do, when it is not a SQLite database, is
        damaged or empty, or cannot be written.
        """
        try:
            return cls._open(path, check)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_advice(path, exc)) from None

    @classmethod
    def _open(cls, path: Path | str, check: bool) -> Store:
        if str(path) == ":memory:":
            db = sqlite_utils.Database(memory=True)
        else:
            prepare(Path(path))
            db = sqlite_utils.Database(sqlite3.connect(str(path), timeout=10, check_same_thread=False))
        try:
            if check and str(path) != ":memory:":
                quick_check(db, path)
            if str(path) != ":memory:":
                if not db.table_names():
                    # Only possible before the file is first written: lets retention give space back.
                    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                db.enable_wal()
                db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA busy_timeout = 10000")
            store = cls(db)
            store.migrate()
        except BaseException:
            db.close()
            raise
        return store

    @classmethod
    def scratch(cls, path: Path) -> Store:
        """A new database at path for a replay to run on and throw away: no journal, no syncs, a page
        cache of 16 MB, so that a replay's memory does not grow with what it stores."""
        db = sqlite_utils.Database(sqlite3.connect(str(path), check_same_thread=False))
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -16000", "temp_store = FILE"):
            db.execute(f"PRAGMA {pragma}")
        store = cls(db)
        store.migrate()
        return store

    def rewrites(self) -> tuple[int, int]:
        """A token that changes whenever stored mentions may have been changed or deleted since it was read:
        a commit by another connection (PRAGMA data_version) or a rescore or prune through this one. A
        cache of stored mentions that only ever sees new rows arrive holds while it stays the same."""
        return self.data_version(), self._rewrites

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def migrate(self) -> None:
        """Apply migrations newer than PRAGMA user_version, each in its own transaction."""
        migrate(self.db)

    @property
    def schema_version(self) -> int:
        """The applied migration number."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic transaction (nested calls become savepoints)."""
        with self.db.atomic():
            yield

    @contextmanager
    def durable(self) -> Iterator[None]:
        """Commits made inside reach the disk before they return (synchronous=FULL), so they survive a
        power cut; outside, NORMAL (WAL): a commit survives a crash of the process, and the last ones
        may be lost with the power. Not to be entered inside a transaction."""
        if self._durable == 0:
            self.db.execute("PRAGMA synchronous = FULL")
        self._durable += 1
        try:
            yield
        finally:
            self._durable -= 1
            if self._durable == 0:
                self.db.execute("PRAGMA synchronous = NORMAL")


def _advice(path: Path | str, exc: sqlite3.DatabaseError) -> str:
    """One line for a database that cannot be opened: which file, what SQLite said, what to do."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("readonly" in text or "unable to open" in text):
        todo = "give the daemon's user write access to the file and its directory"
    elif "full" in text:
        todo = "free some disk space, then start again"
    else:
        todo = (
            "it is damaged or not a monitor database: move it aside and restore a backup"
            " (`monitor db backup` makes them), or start afresh without it"
        )
    return f"{path}: cannot use the database ({text}): {todo}"
