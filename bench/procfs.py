"""A process's memory figures from /proc/PID/status, for the benchmarks (standard library only, so that
bench/peak.py can import it before the command it measures).

Peak RSS is VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent through fork
and exec, so a child's figure could show the bench's own size.
"""

from __future__ import annotations

from pathlib import Path


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """Every figure /proc/PID/status gives in kB (VmRSS, VmHWM, RssAnon, RssFile, ...), in MB. Raises
    OSError once the process is gone."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.endswith(" kB"):
            figures[key] = int(value.split()[0]) / 1024
    return figures
