"""`python bench/peak.py OUT ARGS...` runs `monitor ARGS...` in this fresh process, as the console script
would, and at exit writes this process's peak and current RSS in MB (VmHWM, VmRSS) to OUT as JSON.

Only the standard library (and bench/procfs.py, which uses only it) is imported before the command, so
the figure is the command's.
"""

from __future__ import annotations

import atexit
import json
import sys
from pathlib import Path

import procfs  # bench/, where this script runs from


def _note(out: Path) -> None:
    figures = procfs.memory_mb()
    out.write_text(json.dumps({key: figures[key] for key in ("VmHWM", "VmRSS")}))


if __name__ == "__main__":
    target = Path(sys.argv[1])
    atexit.register(_note, target)
    from monitor.commands import main

    raise SystemExit(main(sys.argv[2:]))
