"""The silence rule through the engine: a source failing, a brand gone quiet, and the alert they make."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from monitor.config import Brand, Config
from monitor.engine.core import Engine
from monitor.mention import Mention
from monitor.rules.detectors import Failure
from monitor.rules.load import load_rules
from monitor.sentiment import Scorer
from monitor.slack.render import render_blocks
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def engine(tmp_path: Path) -> Engine:
    rules = tmp_path / "rules"
    rules.mkdir()
    rules.joinpath("collector-silent.toml").write_text((ROOT / "rules" / "collector-silent.toml").read_text())
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=rules,
                    brands=(Brand("acme", "Acme", ("acme",)),), sources=MappingProxyType({}))  # fmt: skip
    store = Store.open(config.database)
    eng = Engine(config, load_rules(rules, ["acme"], ["hackernews", "reddit"]), store, Scorer.of(config))
    # Two weeks of a brand talked about every hour: four mentions an hour, the last one 7 hours ago.
    mentions = [
        Mention("hackernews", str(i), f"acme works fine for us, note {i}", datetime.fromtimestamp(t, UTC))
        for i, t in enumerate(NOW - 7 * HOUR - k * 900 for k in range(14 * 24 * 4))
    ]
    eng.ingest("acme", mentions, NOW - 7 * HOUR)
    return eng


def test_a_failing_source_opens_one_incident_naming_it(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    eng.ingest("acme", [Mention("hackernews", "new", "acme again", datetime.fromtimestamp(NOW - 60, UTC))], NOW)
    failures = {"reddit": Failure(NOW - 600, "HTTP 503 from https://oauth.reddit.com/search")}
    eng.source_failures = lambda: failures
    assert eng.tick(NOW) == []  # failing for 10 minutes: not yet
    failures["reddit"] = Failure(NOW - 45 * 60, "HTTP 503 from https://oauth.reddit.com/search")
    (event,) = eng.tick(NOW + 60)
    assert event["event"] == "opened" and event["rule"] == "collector-silent"
    assert event["summary"] == (
        "The collector is broken: reddit failing for 46 min (HTTP 503 from https://oauth.reddit.com/search)"
    )
    assert "drafts" not in event and "top" not in event
    text = str(render_blocks(event))
    assert "reddit failing for 46 min" in text
    failures.clear()  # recovered: the incident resolves after keep_firing_for (30m)
    assert eng.tick(NOW + 120) == []
    (resolved,) = eng.tick(NOW + 120 + 30 * 60)
    assert resolved["event"] == "resolved"
    eng.store.close()


def test_a_brand_still_heard_is_asked_every_tick_whether_a_source_fails(tmp_path: Path) -> None:
    # Heard within the hour, with every source well: quiet until the hour ends as far as the mentions go,
    # but a source may fail any minute, so the rule is not put to sleep (engine/skipping.py).
    eng = engine(tmp_path)
    eng.ingest("acme", [Mention("hackernews", "new", "acme again", datetime.fromtimestamp(NOW - 60, UTC))], NOW)
    failures: dict[str, Failure] = {}
    eng.source_failures = lambda: failures
    assert eng.tick(NOW) == [] and eng.tick(NOW + 60) == []
    failures["reddit"] = Failure(NOW - 45 * 60, "HTTP 503 from https://oauth.reddit.com/search")
    (event,) = eng.tick(NOW + 120)
    assert event["event"] == "opened" and event["summary"].startswith("The collector is broken: reddit failing")
    eng.store.close()


def test_a_brand_that_went_quiet_opens_an_incident(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    (event,) = eng.tick(NOW)
    assert event["summary"].startswith("No posts in the last 6 hours, where about 2")
    assert event["figures"]["count"] == 0 and event["figures"]["expected"] >= 10
    eng.ingest("acme", [Mention("hackernews", "back", "acme is here", datetime.fromtimestamp(NOW + 30, UTC))], NOW)
    assert eng.tick(NOW + 60) == []  # talked about again: quiet no longer, resolves later
    eng.store.close()


def test_the_engine_keeps_incidents_in_memory_without_losing_their_thread_or_a_restart(tmp_path: Path) -> None:
    """The tick reads the newest incidents from memory after the first tick; saving one of them again
    keeps the Slack thread set meanwhile, and an engine started again on the store carries on with it."""
    eng = engine(tmp_path)
    eng.ingest("acme", [Mention("hackernews", "new", "acme again", datetime.fromtimestamp(NOW - 60, UTC))], NOW)
    failures = {"reddit": Failure(NOW - 45 * 60, "HTTP 503")}
    eng.source_failures = lambda: failures
    (opened,) = eng.tick(NOW)
    eng.store.set_thread(opened["incident"], "1700000000.000100", "C42")
    failures.clear()
    assert eng.tick(NOW + 60) == []  # below threshold: the incident is saved again (below_since)
    (row,) = eng.store.incidents("open")
    assert (row.thread_ts, row.channel, row.below_since) == ("1700000000.000100", "C42", NOW + 60)
    restarted = Engine(eng.config, eng.rules, eng.store, eng.scorer)
    (resolved,) = restarted.tick(NOW + 60 + 30 * 60)
    assert resolved["event"] == "resolved" and resolved["incident"] == opened["incident"]
    assert eng.store.incidents("open") == []
    eng.store.close()
