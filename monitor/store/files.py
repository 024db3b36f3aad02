"""The database file itself: made whole or not at all, said so when found empty, checked at start.

A new database is built under a temporary name beside the real one and put into place only once its
schema is complete, so a crash while creating it never leaves an empty or half-made file under the
real name. An empty file found there is not ours: something opened the path before the daemon first
ran (SQLite creates an empty file when any program opens a missing one), or a database lost its
content (a failed copy, a truncation). A new database replaces it, with one warning line naming the
file, so that the second case is seen; a damaged file stops `monitor` instead (quick_check).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from monitor.errors import StoreError
from monitor.store.schema import migrate

logger = logging.getLogger(__name__)
RESTORE = "move it aside and restore a backup (`monitor db backup` makes them), or start afresh without it"


def folder_problem(path: Path, exc: OSError) -> StoreError:
    """One line for a database whose folder cannot be written or made."""
    return StoreError(
        f"{path}: cannot write in its folder {path.parent} ({exc.strerror or exc}): give the daemon's user write"
        f" access to the folder (SQLite writes {path.name}-wal and {path.name}-shm beside the database)"
    )


def prepare(path: Path) -> None:
    """Make sure a database file is at path: a fresh one (made whole, then put in place) when there is
    none or only an empty file (said in one warning); StoreError (one line) for a folder that cannot be
    written."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        create(path)
        return
    except OSError as exc:
        raise folder_problem(path, exc) from None
    if path.is_file() and size == 0:
        logger.warning(
            "%s: the database file is empty (0 bytes): a new database is made in its place; if it held"
            " data, stop monitor and restore a backup (`monitor db backup` makes them)",
            path,
        )
        create(path)


def create(path: Path) -> None:
    """A fresh, fully migrated database at path, made under a temporary name and then linked into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _forget_leftovers(path)
        temporary = path.with_name(f".{path.name}.new-{os.getpid()}")
        _remove(temporary)
        try:
            conn = sqlite3.connect(str(temporary))
            try:
                db = sqlite_utils.Database(conn)
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only possible before the first table
                db.enable_wal()
                migrate(db)
            finally:
                conn.close()  # the last connection: the WAL is checkpointed into the file and removed
            fd = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            _link(temporary, path)
        finally:
            _remove(temporary)
        _sync_folder(path.parent)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot create the database ({exc})") from None
    except OSError as exc:
        raise folder_problem(path, exc) from None


def _link(temporary: Path, path: Path) -> None:
    """Put the new file in place, never over a database another process put there meanwhile."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == 0:  # an empty file: replaced (another process's database is kept)
                os.replace(temporary, path)
    except OSError:  # a file system without hard links
        if not path.exists() or path.stat().st_size == 0:
            os.replace(temporary, path)


def _remove(temporary: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{temporary}{suffix}")


def _forget_leftovers(path: Path) -> None:
    """Remove temporary files of creations that a crash cut off (their process is gone)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.new-(\d+)")
    for leftover in path.parent.glob(f".{path.name}.new-*"):
        match = pattern.fullmatch(leftover.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            _remove(leftover)
        except OSError:
            pass  # alive, under another user


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def quick_check(db: sqlite_utils.Database, path: Path | str) -> None:
    """PRAGMA quick_check (every page and b-tree, the pointer map, free list; not index contents):
    StoreError, one line naming the file and the first problem, when the database is damaged (a file
    SQLite cannot read at all raises its DatabaseError, which Store.open turns into one line too)."""
    rows = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall() if row[0] != "ok"]
    # A row may hold many lines, under a "*** in database main ***" heading.
    problems = [line.strip() for row in rows for line in row.splitlines() if line.strip() and "***" not in line]
    if problems:
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        raise StoreError(f"{path}: the database is damaged (quick_check: {problems[0][:200]}{more}): {RESTORE}")
