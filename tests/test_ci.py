"""CI runs the README's test command as it is, and the suite again on a clock moved years ahead."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, flags=re.S)
    return next(c for c in commands if "pytest" in c)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_test_command() in lines


def test_ci_runs_the_suite_again_at_least_two_years_ahead() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    shifted = re.search(r"faketime -f '\+(\d+)d' \.venv/bin/pytest", script)
    assert shifted is not None and int(shifted.group(1)) >= 730
