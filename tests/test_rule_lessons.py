"""Lessons from ElastAlert's tracker that must not repeat here, one test each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from monitor.config import Brand, Config
from monitor.engine.core import Engine
from monitor.errors import InvalidFiles
from monitor.mention import Mention
from monitor.rules.counts import BucketCounts
from monitor.rules.detectors import evaluate_spike
from monitor.rules.load import load_rules
from monitor.rules.model import SpikeDetect
from monitor.sentiment import Scorer
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
DAY = 86400.0


def test_no_spike_on_zero_against_zero_or_a_few_against_zero() -> None:
    counts = BucketCounts()  # two weeks watched, nothing said
    quiet = evaluate_spike(SpikeDetect(), counts, NOW, NOW - 14 * DAY, UTC)
    assert not quiet.firing and quiet.count == 0 and quiet.figures["p_value"] == 1.0
    for i in range(3):
        counts.add(NOW - 600 + i)
    few = evaluate_spike(SpikeDetect(), counts, NOW, NOW - 14 * DAY, UTC)
    assert not few.firing and "min_count" in few.reason


def test_no_spike_against_an_empty_reference() -> None:
    counts = BucketCounts()
    for i in range(50):
        counts.add(NOW - 3000 + i)
    result = evaluate_spike(SpikeDetect(), counts, NOW, NOW - 2 * 3600, UTC)  # two hours of history
    assert not result.firing and result.reason.startswith("learning")


def engine(store: Store, rules_dir: Path = ROOT / "rules") -> Engine:
    config = Config(path=Path("config.toml"), database=Path(":memory:"), rules_dir=rules_dir,
                    brands=(Brand("acme", "Acme", ("acme",)),), sources=MappingProxyType({}))  # fmt: skip
    return Engine(config, load_rules(rules_dir, ["acme"], ["hackernews"]), store, Scorer.of(config))


def history(store: Store) -> Engine:
    eng = engine(store)
    mentions = [Mention("hackernews", str(i), "acme is down, awful", datetime.fromtimestamp(NOW - i * 5400, UTC))
                for i in range(1, 200)]  # fmt: skip
    eng.ingest("acme", mentions, NOW)
    return eng


def burst(eng: Engine) -> None:
    """Twenty outage complaints in ten minutes after NOW."""
    mentions = [Mention("hackernews", f"b{i}", "acme outage, everything is down and broken",
                        datetime.fromtimestamp(NOW + 60 + i * 30, UTC)) for i in range(20)]  # fmt: skip
    eng.ingest("acme", mentions, NOW + 660)


def test_baseline_survives_a_restart_and_a_rule_edit() -> None:
    store = Store.open(":memory:")
    first = history(store)
    rule = next(r for r in first.rules if r.name == "negative-spike")
    before = first.evaluate(rule, "acme", NOW).figures["expected"]
    restarted = engine(store)
    restarted.load_history(NOW)
    assert restarted.evaluate(rule, "acme", NOW).figures["expected"] == before
    edited = replace(rule, detect=replace(rule.detect, min_ratio=5.0))
    restarted.set_rules([edited])
    restarted.load_history(NOW)
    assert restarted.evaluate(edited, "acme", NOW).figures["expected"] == before


def test_incident_is_stamped_with_the_time_it_was_detected() -> None:
    store = Store.open(":memory:")
    eng = history(store)
    burst(eng)
    detected = NOW + 720
    opened = next(e for e in eng.tick(detected) if e["event"] == "opened")
    assert opened["at"] == datetime.fromtimestamp(detected, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert opened["opened_at"] == opened["at"]


def test_a_misspelled_key_is_an_error_not_silence(tmp_path: Path) -> None:
    text = (ROOT / "rules" / "negative-spike.toml").read_text().replace("min_ratio", "min_raito")
    (tmp_path / "spike.toml").write_text(text)
    with pytest.raises(InvalidFiles) as info:
        load_rules(tmp_path, ["acme"], ["hackernews"])
    (problem,) = info.value.problems
    assert problem.key == "detect.min_raito" and "did you mean 'min_ratio'" in problem.message


def test_incidents_of_a_removed_rule_are_resolved_with_a_note() -> None:
    store = Store.open(":memory:")
    eng = history(store)
    burst(eng)
    # The crisis rule opens (and inhibits the lesser negative spike); then its file is deleted.
    assert [(e["event"], e["rule"]) for e in eng.tick(NOW + 720)] == [("opened", "crisis-volume")]
    eng.set_rules([r for r in eng.rules if r.name != "crisis-volume"])
    (closed,) = eng.close_orphans(NOW + 800)
    assert closed["event"] == "resolved" and closed["summary"] == "Closed: the rule 'crisis-volume' was removed."
    assert not store.incidents("open")
    assert store.pending()[-1].event["summary"] == closed["summary"]


def test_file_watch_waits_for_a_change_to_settle(tmp_path: Path) -> None:
    from monitor.service.watch import FileWatch

    config = tmp_path / "config.toml"
    config.write_text("x = 1\n")
    rules = tmp_path / "rules"
    rules.mkdir()
    watch = FileWatch(config, rules)
    assert not watch.changed()
    (rules / "new.toml").write_text('name = "new"\n')
    assert not watch.changed()  # seen once: an editor may still be writing
    assert watch.changed()  # unchanged on the next look: reload
    assert not watch.changed()
