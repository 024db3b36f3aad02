"""`monitor backtest --trace`: which rule evaluations to show, and how each reads.

By default only the ones worth reading: every change of a rule's state for a brand (learning, quiet,
firing), and an evaluation with a count above what was expected, when its count differs from the
last one shown (a count that stays put for an hour is one line, not sixty). `--trace all` shows every
evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from monitor.alerts import iso
from monitor.rules.detectors import Evaluation
from monitor.rules.model import Rule

MODES = ("changes", "all")


def state(result: Evaluation) -> str:
    """learning | quiet | firing."""
    if result.firing:
        return "firing"
    return "learning" if result.reason.startswith("learning") else "quiet"


def above_usual(result: Evaluation) -> bool:
    """Whether the count is above the expected value (above the expected share for share rules; for
    kinds with no expectation, whether it fires)."""
    figures = result.figures
    if isinstance(figures.get("expected_share"), int | float):
        return float(figures.get("share", 0.0)) > float(figures["expected_share"])
    if isinstance(figures.get("expected"), int | float):
        return result.count > float(figures["expected"])
    return result.firing


class TraceFilter:
    """Decides, evaluation by evaluation, whether --trace shows it."""

    def __init__(self, mode: str = "changes") -> None:
        self.everything = mode == "all"
        self.states: dict[tuple[str, str], str] = {}
        self.shown: dict[tuple[str, str], int] = {}  # the count of the last line shown

    def __call__(self, rule: Rule, brand: str, result: Evaluation) -> bool:
        """Whether to show this evaluation (it also notes the rule's new state)."""
        key, now = (rule.name, brand), state(result)
        changed = self.states.get(key) != now
        self.states[key] = now
        show = self.everything or changed
        show = show or (now != "learning" and above_usual(result) and self.shown.get(key) != result.count)
        if show:
            self.shown[key] = result.count
        return show


def trace_line(rule: Rule, brand: str, now: float, result: Evaluation) -> str:
    """One evaluation as a trace line."""
    figures = " ".join(f"{k}={v}" for k, v in result.figures.items())
    verdict = "FIRING" if result.firing else f"quiet: {result.reason}"
    return f"  trace {iso(now)} {rule.name} {brand} {figures} {verdict}"


def tracer(mode: str, out: TextIO) -> Callable[[Rule, str, float, Evaluation], None]:
    """The engine's trace hook for a --trace mode, printing the lines it keeps to out."""
    keep = TraceFilter(mode)

    def trace(rule: Rule, brand: str, now: float, result: Evaluation) -> None:
        if keep(rule, brand, result):
            print(trace_line(rule, brand, now, result), file=out)

    return trace
