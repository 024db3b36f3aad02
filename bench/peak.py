"""`python bench/peak.py OUT ARGS...` runs `monitor ARGS...` in this fresh process, as the console script
would, and at exit writes this process's peak and current RSS in MB (VmHWM, VmRSS) to OUT as JSON.

VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through fork and exec,
so a child's figure could show the bench's own size. Only the standard library is imported before the
command, so the figure is the command's.
"""

from __future__ import annotations

import atexit
import json
import sys
from pathlib import Path


def _status() -> dict[str, float]:
    figures = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            figures[key] = int(value.split()[0]) / 1024
    return figures


def _note(out: Path) -> None:
    out.write_text(json.dumps(_status()))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    atexit.register(_note, target)
    from monitor.commands import main

    raise SystemExit(main(sys.argv[2:]))
