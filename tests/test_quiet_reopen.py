"""A reopening that must stay quiet (silenced, inhibited, expected) is not made at all, so that its
thread never hears a second "resolved" for an incident it was never told had come back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.engine.core import Engine
from monitor.mention import Mention
from tests.helpers.engine import rules_engine

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
RULE = """\
name = "busy"
kind = "volume"
[detect]
window = "10m"
min_count = 3
[alert]
keep_firing_for = "10m"
cooldown = "2h"
"""


def engine(tmp_path: Path) -> Engine:
    return rules_engine(tmp_path, {"busy.toml": RULE})


def burst(eng: Engine, at: float, tag: str) -> None:
    posts = [
        Mention("hackernews", f"{tag}{k}", f"acme post {tag}{k}", datetime.fromtimestamp(at - k, UTC)) for k in range(4)
    ]
    eng.ingest("acme", posts, at)


def events(eng: Engine, start: float, minutes: int) -> list[tuple[str, bool]]:
    out = []
    for m in range(minutes):
        out += [(e["event"], bool(e.get("reopened"))) for e in eng.tick(start + 60 * m)]
    return out


def test_a_silenced_reopening_says_nothing_then_or_when_it_ends(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    burst(eng, NOW, "a")
    assert events(eng, NOW, 30) == [("opened", False), ("resolved", False)]
    eng.store.add_silence("busy", "acme", [], "ana", "known", NOW + 1800, NOW + 7200)
    burst(eng, NOW + 1860, "b")  # inside the cooldown: would reopen, but silenced
    assert events(eng, NOW + 1860, 30) == []
    (latest,) = [i for i in eng.store.incidents() if i.rule == "busy"]
    assert latest.status == "resolved"
    eng.store.close()


def test_a_reopening_that_may_speak_still_reopens_the_same_thread(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    burst(eng, NOW, "a")
    assert events(eng, NOW, 30) == [("opened", False), ("resolved", False)]
    burst(eng, NOW + 1860, "b")
    assert events(eng, NOW + 1860, 30) == [("updated", True), ("resolved", False)]
    assert len(eng.store.incidents()) == 1
    eng.store.close()
