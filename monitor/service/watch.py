"""Noticing edits to config and rule files, so that saving a rule reloads it (debounced)."""

from __future__ import annotations

from pathlib import Path

Snapshot = dict[str, tuple[int, int]]


def snapshot(config_path: Path, rules_dir: Path) -> Snapshot:
    """(mtime, size) of the config file and every *.toml in the rules folder."""
    paths = [config_path, *sorted(rules_dir.glob("*.toml"))] if rules_dir.is_dir() else [config_path]
    found: Snapshot = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


class FileWatch:
    """Says when the files changed and then stayed unchanged for one more look (an editor's save
    often writes a file more than once)."""

    def __init__(self, config_path: Path, rules_dir: Path) -> None:
        self.config_path = config_path
        self.rules_dir = rules_dir
        self.seen = snapshot(config_path, rules_dir)
        self.pending: Snapshot | None = None

    def changed(self) -> bool:
        """Look once; True when a change has settled."""
        now = snapshot(self.config_path, self.rules_dir)
        if self.pending is not None and now == self.pending:
            self.seen, self.pending = now, None
            return True
        self.pending = now if now != self.seen else None
        return False
