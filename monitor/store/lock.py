"""One daemon per database file: exclusive advisory locks held while the daemon runs.

Two locks, both `flock`, which the kernel drops when the process ends however it ends (SIGKILL
included), so a crash never leaves a stale lock behind:

- on `<database>.lock`, by name, holding the pid for the message a second daemon prints;
- on the database file itself, by identity (its device and inode). A symlink or a hard link to the
  file is another name for the same inode: a second daemon through it is refused too. (By name alone
  it ran, posting every alert twice, and through a hard link its own -wal file corrupted the database.)

flock and the POSIX locks SQLite takes on the same file do not interfere on Linux. The file lock is
taken before SQLite opens the file and let go only after it closed it: closing another descriptor of
the file while SQLite has it open would drop SQLite's own locks. One-shot commands (status, backtest,
db) do not take them: SQLite's own locking covers their reads.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from monitor.errors import StoreError
from monitor.store.files import folder_problem, prepare

__all__ = ["DaemonLock", "StoreError"]


class DaemonLock:
    """Holds `<database>.lock` and the database file exclusively; a second holder is refused at once."""

    def __init__(self, database: Path) -> None:
        self.database = Path(database)
        self.path = Path(f"{database}.lock")
        self.fd: int | None = None
        self.file_fd: int | None = None

    def acquire(self) -> None:
        """Take both locks (creating the database whole when there is none); StoreError when another
        daemon holds either, or the folder cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise folder_problem(self.database, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise self._taken(holder, "") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        try:
            self._lock_file()
        except BaseException:
            self.release()
            raise

    def _lock_file(self) -> None:
        prepare(self.database)
        try:
            fd = os.open(self.database, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(f"{self.database}: cannot open the database ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            stat = os.fstat(fd)
            os.close(fd)
            holder = holder_of(stat.st_dev, stat.st_ino) or "unknown"
            raise self._taken(holder, " (under another name: a symlink or a hard link to the same file)") from None
        self.file_fd = fd

    def _taken(self, holder: str, how: str) -> StoreError:
        return StoreError(
            f"{self.database}: another monitor daemon (pid {holder}) is using this database{how}: stop it first,"
            " or give this one its own monitor.database"
        )

    def release(self) -> None:
        """Let go of both locks (the files stay: removing the lock file could race a starting daemon)."""
        for name in ("file_fd", "fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)


def holder_of(device: int, inode: int) -> str | None:
    """The pid holding a flock on this file, from /proc/locks (Linux; None when it cannot be told)."""
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == wanted:
                    return fields[4]
    except OSError:
        return None
    return None
