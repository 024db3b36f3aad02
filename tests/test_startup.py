"""What the quick commands import: `monitor --help`, `check` and `version` start without the daemon's libraries.

Each runs in a fresh interpreter, which then lists the modules it loaded; no timing is asserted (the
figures are in bench/live.py's cli_start). The libraries below cost 20 to 100 ms each to import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "sqlite_utils",
    "numpy",
    "aiohttp",
    "vaderSentiment",
    "fasttext",
    "apscheduler",
    "slack_sdk",
    "prometheus_client",
    "matplotlib",
    "feedparser",
    "asyncio",
)
MARK = "modules loaded: "
# The command's own output goes where it always does; the module list is the last line of stderr.
RUN = f"""
import json, sys
from monitor.commands import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print({MARK!r} + json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def loaded(*args: str) -> tuple[int, str, set[str]]:
    """(exit code, stdout, modules loaded) of `monitor ARGS` in a fresh interpreter."""
    return parse(subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=ROOT))


def parse(result: subprocess.CompletedProcess[str]) -> tuple[int, str, set[str]]:
    last = result.stderr.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith(MARK), result.stderr
    return result.returncode, result.stdout, set(json.loads(last.removeprefix(MARK)))


def heavy(modules: set[str]) -> list[str]:
    return sorted(h for h in HEAVY if h in modules)


@pytest.mark.parametrize("args", [("--help",), ("check", "--help"), ("version",)])
def test_help_and_version_import_no_heavy_library(args: tuple[str, ...]) -> None:
    code, out, modules = loaded(*args)
    assert code == 0 and out
    assert heavy(modules) == []
    assert not {m for m in modules if m.startswith(("monitor.store", "monitor.sources", "monitor.sentiment"))}


def test_check_reads_every_source_without_http_storage_or_models() -> None:
    code, out, modules = loaded("check", "--config", "config.toml")
    assert code == 0 and out.startswith("ok: ")
    assert "monitor.sources.rss" in modules  # every source's options were checked ...
    assert heavy(modules) == []  # ... without feedparser, aiohttp, asyncio, sqlite-utils or numpy
    assert not {m for m in modules if m.startswith(("monitor.store", "monitor.sentiment", "monitor.engine"))}


def test_the_guard_sees_a_command_that_needs_them() -> None:
    result = subprocess.run(
        [sys.executable, "-c", RUN, "score", "--config", "config.toml"],
        input="the outage is terrible\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    code, out, modules = parse(result)
    assert code == 0 and '"label": "negative"' in out
    assert {"numpy", "vaderSentiment", "fasttext"} <= modules
