"""The real daemon in a child process (`python -m monitor run`), its stderr read line by line as it comes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class Daemon:
    """A running `monitor run`; .lines holds its stderr so far."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    @property
    def text(self) -> str:
        """Everything it said so far."""
        return "\n".join(self.lines)

    async def said(self, pattern: str, within: float = 30.0) -> re.Match[str]:
        """Wait until a line matches the regex; its match."""

        def found() -> re.Match[str] | None:
            return next((m for line in self.lines if (m := re.search(pattern, line))), None)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None or self._reader.done()), within)
        match = found()
        assert match is not None, f"never said {pattern!r}:\n{self.text}"
        return match

    async def port(self, listener: str) -> int:
        """The port a listener ("health and metrics" or "ingest endpoint") took."""
        return int((await self.said(rf"{listener} on http://[^:]+:(\d+)/"))[1])

    async def stop(self, within: float = 30.0) -> int:
        """SIGTERM, then its exit code (killed if it does not stop in time)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        await self._reader
        return code


def drop_root_overrides() -> None:
    """In a child of root: give up reading and writing past file permissions (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH, from the bounding set, so the exec'd program never has them), so that a
    read-only folder is read-only to it as to any user. Non-root children need nothing."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without Slack or Reddit credentials, plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "REDDIT_CLIENT_ID")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@contextlib.asynccontextmanager
async def running(
    config: Path, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
) -> AsyncIterator[Daemon]:
    """`monitor run --config config` for the duration; stopped (SIGTERM, else SIGKILL) after."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env=env or environment(), cwd=config.parent, preexec_fn=preexec,
    )  # fmt: skip
    daemon = Daemon(process)
    try:
        yield daemon
    finally:
        await daemon.stop()


def monitor(
    *args: str, cwd: Path, env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """A one-shot `monitor` command, run to its end."""
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=env or environment(), preexec_fn=preexec)  # fmt: skip
