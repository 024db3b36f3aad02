"""The tick reads the silences in force from the store only when they may have changed (engine/silences.py
SilencesInForce), and still sees each one from the minute it starts to the minute it ends, however it
was written: through the daemon's own connection (Slack buttons) or another process (`monitor silences`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.engine.core import Engine
from monitor.store import Store
from tests.helpers.engine import rules_engine

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
RULE = 'name = "busy"\nkind = "volume"\n[detect]\nwindow = "10m"\nmin_count = 3\n'


def engine(tmp_path: Path) -> Engine:
    return rules_engine(tmp_path, {"busy.toml": RULE})


def silenced(eng: Engine, at: float) -> int | None:
    eng.tick(at)
    silence = eng.muting.silenced("busy", "acme")
    return None if silence is None else silence.id


def test_silences_are_seen_from_the_minute_they_start_to_the_minute_they_end(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    assert silenced(eng, NOW) is None
    # Written by another process, for later: not in force until its start, not after its end.
    other = Store.open(tmp_path / "m.db")
    later = other.add_silence("busy", "acme", [], "ana", "planned", NOW + 600, NOW + 1200)
    other.close()
    assert silenced(eng, NOW + 60) is None
    assert silenced(eng, NOW + 599) is None
    assert silenced(eng, NOW + 600) == later
    assert silenced(eng, NOW + 1199) == later
    assert silenced(eng, NOW + 1200) is None
    # Through the engine's own connection (a Slack snooze), and ended early the same way.
    snooze = eng.store.add_silence("busy", "acme", [], "bo", "snoozed", NOW + 1260, NOW + 9000)
    assert silenced(eng, NOW + 1260) == snooze
    assert eng.store.end_silence(snooze, NOW + 1320)
    assert silenced(eng, NOW + 1320) is None
    # Ended early by another process.
    again = eng.store.add_silence("busy", "acme", [], "bo", "again", NOW + 1380, NOW + 9000)
    assert silenced(eng, NOW + 1380) == again
    other = Store.open(tmp_path / "m.db")
    assert other.end_silence(again, NOW + 1440)
    other.close()
    assert silenced(eng, NOW + 1440) is None
    eng.store.close()
