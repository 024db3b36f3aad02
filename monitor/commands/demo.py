"""`monitor demo`: the whole daemon offline against bundled sample data (see monitor/demo/)."""

from __future__ import annotations

import argparse
import asyncio

from monitor.demo.runner import run_demo


def run(args: argparse.Namespace) -> int:
    """Play the sample's live hours at --speed, alerts to the console."""
    return asyncio.run(run_demo(speed=args.speed, start=args.clock()))
