"""One daemon per database: an exclusive advisory lock on a file beside it, held while the daemon runs.

`flock` locks belong to the open file: the kernel drops them when the process ends however it ends
(SIGKILL included), so a crash never leaves a stale lock behind, and nothing has to be cleaned up.
One-shot commands (status, backtest, db) do not take it: SQLite's own locking covers their reads.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import StoreError


class DaemonLock:
    """Holds `<database>.lock` exclusively; a second holder is refused at once, never made to wait."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; StoreError when another daemon holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"{self.path.parent / self.path.stem}: another monitor daemon (pid {holder}) is using this"
                " database: stop it first, or give this one its own monitor.database"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it could race a starting daemon)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
