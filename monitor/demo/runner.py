"""`monitor demo`: the whole daemon offline, against a local fake platform serving bundled sample
data on a fast clock, with alerts printed to the console."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
from importlib import resources
from pathlib import Path

from aiohttp import web

from monitor.clock import fast
from monitor.demo.generate import LIVE_HOURS, LIVE_START
from monitor.demo.platform import DemoPlatform
from monitor.loading import load_config
from monitor.mention import Mention, from_replay, to_utc
from monitor.rules import load_rules
from monitor.service.daemon import Daemon
from monitor.slack.delivery import ConsoleDelivery
from monitor.sources import SOURCES

logger = logging.getLogger(__name__)
# Wall seconds the demo may run, whatever the speed: the sample's live part plays out well within it.
DEMO_LIMIT = 55.0


def sample_mentions(shift: float) -> list[Mention]:
    """The bundled sample, moved in time by shift seconds."""
    text = resources.files("monitor.demo").joinpath("sample.jsonl").read_text(encoding="utf-8")
    mentions = []
    for line in text.splitlines():
        obj = json.loads(line)
        obj["created_at"] = to_utc(obj["created_at"]).timestamp() + shift
        mentions.append(from_replay(obj)[0])
    return mentions


async def run_demo(speed: float, start: float) -> int:
    """Serve the sample locally and run the daemon against it until the live part has played out: the
    sample's "now" is moved to `start`, and from there the clock runs `speed` times as fast as real time."""
    clock = fast(speed, start)
    mentions = sample_mentions(start - LIVE_START.timestamp())
    runner = web.AppRunner(DemoPlatform(mentions, clock).app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp:
        folder = Path(tmp)
        config_text = resources.files("monitor.demo").joinpath("config.toml").read_text(encoding="utf-8")
        rules_dir = resources.files("monitor.demo").joinpath("rules")
        config_path = folder / "config.toml"
        config_path.write_text(
            config_text.replace("BASE_URL", f"http://127.0.0.1:{port}/")
            .replace("DATABASE", str(folder / "demo.db"))
            .replace("RULES", str(rules_dir))
        )
        config = load_config(config_path)
        rules = load_rules(Path(str(rules_dir)), [b.id for b in config.brands], SOURCES)
        print(
            f"monitor demo: a fake platform on 127.0.0.1:{port} serves 4 days of sample mentions of"
            f" 'Acme Cloud', then {LIVE_HOURS} live hours at {speed:g}x speed. Alerts print below.",
            flush=True,
        )
        daemon = Daemon(config, rules, config_path, clock=clock, delivery=ConsoleDelivery(sys.stdout))
        live_seconds = LIVE_HOURS * 3600 / speed
        stopper = asyncio.get_running_loop().call_later(min(DEMO_LIMIT, live_seconds + 2), daemon.stop.set)
        try:
            await daemon.run()
        finally:
            stopper.cancel()
            await runner.cleanup()
        print(f"monitor demo: done, {daemon.outbox.sent} alert(s) shown.", flush=True)
    return 0
