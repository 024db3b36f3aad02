"""Backtest: the demo sample replays to one negative-spike incident; the CLI honours the contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import monitor.engine.replay
from monitor.commands import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "monitor" / "demo" / "sample.jsonl"
CONFIG = """\
[monitor]
database = "monitor.db"
rules = "RULES"

[[brands]]
id = "acme"
name = "Acme Cloud"
queries = ['"acme cloud"']
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace("RULES", str(ROOT / "rules")))
    return path


def backtest(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["backtest", *args, "--format", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_sample_gives_one_incident_opened_updated_resolved(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    everything = backtest(capsys, "--config", str(config), "--input", str(SAMPLE))
    # The launch is a mention storm (nobody marked it expected in this rules folder), not a negative spike.
    storm = [e for e in everything if e["rule"] == "mention-storm"]
    assert storm[0]["event"] == "opened" and "2026-11-20T09:20:00Z" <= str(storm[0]["at"]) < "2026-11-20T10:30:00Z"
    events = [e for e in everything if e["rule"] == "negative-spike"]
    assert {e["incident"] for e in events} == {events[0]["incident"]}
    kinds = [e["event"] for e in events]
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    assert set(kinds[1:-1]) == {"updated"}
    opened = events[0]
    assert opened["rule"] == "negative-spike" and opened["brand"] == "acme"
    # The outage starts at 12:00 UTC on the sample's Friday; the launch before it must not fire.
    assert "2026-11-20T12:00:00Z" <= str(opened["at"]) < "2026-11-20T12:30:00Z"
    assert float(opened["ratio"]) >= 3.0 and float(opened["p_value"]) <= 0.001
    assert int(opened["count"]) >= 5 and isinstance(opened["top"], list) and opened["top"]
    for event in events:
        assert set(event) >= {"event", "rule", "brand", "at", "incident"}
        assert str(event["at"]).endswith("Z")


def test_text_format_and_brand_override(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Mentions of a brand config does not know are counted with --brand, made up on the spot.
    lines = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(json.dumps(obj).replace("Acme Cloud", "Globex") for obj in lines))
    assert backtest(capsys, "--config", str(config), "--input", str(export)) == []
    events = backtest(capsys, "--config", str(config), "--input", str(export), "--brand", "globex")
    assert events and {e["brand"] for e in events} == {"globex"}
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "opened" in out and "negative-spike" in out and out.rstrip().endswith(f"from {len(lines)} mention(s)")


def test_bad_replay_lines_name_file_and_line(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"platform": "x", "id": "1", "text": "hi", "created_at": "2026-11-20T10:00:00Z"}\n'
        '{"platform": "x", "id": "2", "text": "hi"}\n'
        "not json\n"
        '{"platform": "x", "id": "3", "text": "hi", "created_at": "yesterday"}\n'
    )
    assert main(["backtest", "--config", str(config), "--input", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{bad}:2: missing required field 'created_at'"
    assert err[1].startswith(f"{bad}:3: ")
    assert err[2] == f"{bad}:4: not an ISO 8601 time or epoch seconds: 'yesterday'"


def test_without_input_replays_the_database(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.engine.core import Engine
    from monitor.engine.replay import read_replay
    from monitor.loading import load_all
    from monitor.sentiment import Scorer
    from monitor.store import Store

    loaded, rules = load_all(str(config))
    store = Store.open(loaded.database)
    engine = Engine(loaded, rules, store, Scorer.of(loaded))
    mentions = [m for m, _ in read_replay(SAMPLE)]
    engine.ingest("acme", mentions, now=mentions[-1].created_at.timestamp())
    store.close()
    from_file = backtest(capsys, "--config", str(config), "--input", str(SAMPLE))
    from_db = backtest(capsys, "--config", str(config))
    assert from_db == from_file and from_db


def test_since_until_and_trace(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.engine.replay import read_replay

    args = ["backtest", "--config", str(config), "--input", str(SAMPLE), "--trace",
            "--since", "2026-11-20T11:00:00Z", "--until", "2026-11-20T12:30:00Z"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    # Only an hour and a half of data: the spike rule says it is still learning, and why it stays quiet.
    assert any(line.startswith("note: negative-spike learns its baseline first: it can fire from 2026-11-21T11:0")
               for line in out)  # fmt: skip
    traces = [line for line in out if line.startswith("  trace ")]
    assert traces and all(line.startswith("  trace 2026-11-20T1") for line in traces)
    assert any("negative-spike acme count=" in line and "quiet: learning" in line for line in traces)
    kept = [m for m, _ in read_replay(SAMPLE) if "2026-11-20T11:00" <= m.created_at.isoformat() < "2026-11-20T12:30"]
    assert out[-1] == f"0 alert event(s) from {len(kept)} mention(s)"
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE), "--since", "yesterday"]) == 2


def test_text_report_groups_a_timeline_per_rule_with_a_summary(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    head = out.index(next(line for line in out if line.startswith("== negative-spike:")))
    # The sample spans 4 days 17 hours: one incident is 1.5 a week; it ran from 12:04 to 14:37.
    assert out[head] == (
        "== negative-spike: 1 incident(s), 1.5 a week; longest 2 h 33 min; busiest hour 12:00 (1 opened)"
    )
    assert out[head + 1].startswith("  2026-11-20T12:04:00Z  opened    acme  count=6")
    assert (
        "6 negative posts in the last 20 minutes (since 11:44 UTC); usually under 1 at this time on a Friday"
        in (out[head + 1])
    )
    assert out[head + 6].startswith("  2026-11-20T14:37:00Z  resolved")
    assert "== crisis-volume: no incidents" in out
    assert any(line.startswith("note: negative-spike learns its baseline first") for line in out)


def test_sweep_prints_incidents_a_week_per_value(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE), "--sweep", "min_count=5,44"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines() if "  " in line}
    assert rows["incidents"] == ["a", "week", "min_count=5", "min_count=44"]
    assert rows["negative-spike"] == ["1.5", "0.0"]  # the outage peaks at 42 negatives an hour: 44 is too many
    assert rows["influencer"] == ["-", "-"]  # no min_count field: not varied
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE), "--sweep", "min_cont=5"]) == 2
    assert "'min_cont' is not a numeric detect field" in capsys.readouterr().err


def test_one_rule_file_can_be_tried_alone(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = backtest(
        capsys, "--config", str(config), "--input", str(SAMPLE), "--rules", str(ROOT / "rules" / "negative-spike.toml")
    )
    assert events and {e["rule"] for e in events} == {"negative-spike"}


def test_events_do_not_depend_on_how_far_ahead_the_replay_is_stored(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay is stored ahead in chunks and counted at stream time: chunks of 7 mentions (most ticks
    see mentions stored ahead of them) give the same events as one chunk."""
    whole = backtest(capsys, "--config", str(config), "--input", str(SAMPLE))
    monkeypatch.setattr(monitor.engine.replay, "REPLAY_CHUNK", 7)
    chunked = backtest(capsys, "--config", str(config), "--input", str(SAMPLE))
    assert chunked == whole and len(whole) >= 3


def test_trace_shows_what_is_worth_reading(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE), "--trace", "all"]) == 0
    everything = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  trace ")]
    assert main(["backtest", "--config", str(config), "--input", str(SAMPLE), "--trace"]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  trace ")]
    # Every evaluation is tens of thousands of lines for 414 mentions; by default a few hundred.
    assert len(everything) > 40_000 and len(shown) < len(everything) / 50, (len(everything), len(shown))
    spike = [line for line in shown if " negative-spike acme " in line]
    assert "quiet: learning" in spike[0] and "quiet: learning" not in spike[1]  # the state changes are there
    assert any("FIRING" in line for line in spike) and "quiet: 1 mentions" not in "\n".join(shown)
    for line in spike[1:]:
        figures = dict(part.split("=", 1) for part in line.split() if "=" in part)
        firing_changed = "FIRING" in line or "count 0" in line or "learning" in line
        assert firing_changed or int(figures["count"]) > float(figures["expected"]), line
