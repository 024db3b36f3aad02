"""One clock: product code reads wall time only through monitor/clock.py (see its docstring)."""

from __future__ import annotations

import ast
from pathlib import Path

from monitor import clock

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
# (module or class name, attribute) pairs whose call reads the wall clock.
WALL_READS = {("time", "time"), ("time", "time_ns"), ("datetime", "now"), ("datetime", "utcnow"),
              ("datetime", "today"), ("date", "today")}  # fmt: skip
WALL_NAMES = {("time", "time"), ("time", "time_ns")}  # `from time import time`


def wall_reads(source: str) -> list[tuple[int, str]]:
    """(line, call) for every read of the wall clock in a module's source."""
    found = []
    imported = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {a.asname or a.name for a in node.names if (node.module, a.name) in WALL_NAMES}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.attr if isinstance(func.value, ast.Attribute) else getattr(func.value, "id", None)
            if (owner, func.attr) in WALL_READS:
                found.append((node.lineno, f"{owner}.{func.attr}()"))
        elif isinstance(func, ast.Name) and func.id in imported:
            found.append((node.lineno, f"{func.id}()"))
    return found


def test_no_module_but_the_clock_reads_the_wall_clock() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {call}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "clock.py" or path.parent != PACKAGE
        for line, call in wall_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "read the time through monitor.clock instead:\n" + "\n".join(offenders)


def test_the_guard_sees_every_spelling() -> None:
    source = """
import time, datetime as dt
from datetime import date, datetime
from time import time as now
time.time(); datetime.now(); datetime.utcnow(); date.today(); dt.datetime.now(); now()
time.monotonic(); time.perf_counter(); datetime.fromtimestamp(0)
"""
    calls = [call for _, call in wall_reads(source)]
    assert calls == ["time.time()", "datetime.now()", "datetime.utcnow()", "date.today()", "datetime.now()", "now()"]


def test_the_clock_module_reads_the_system_clock() -> None:
    assert {call for _, call in wall_reads((PACKAGE / "clock.py").read_text())} == {"time.time()", "datetime.now()"}


def test_a_fast_clock_starts_where_it_is_told_and_runs_ahead() -> None:
    fast = clock.fast(1000.0, start=1_000.0)
    first = fast()
    assert 1_000.0 <= first < 1_000.0 + 60
    assert fast() >= first
    assert clock.utc(lambda: 86400.0).isoformat() == "1970-01-02T00:00:00+00:00"
