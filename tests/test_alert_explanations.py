"""An alert's top posts say why they count as negative: the model's confidence and the weightiest words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.engine.core import Engine
from monitor.loading import load_all
from monitor.mention import Mention
from monitor.sentiment import Scorer
from monitor.store import Store
from tests.helpers.daemon import T0, write_config

BURST = [
    "Acme Cloud is down again, every request times out",
    "Acme Cloud lost our data, support has not answered in two days",
    "Acme Cloud outage, our checkout is dead and we are losing orders",
]


def test_the_opening_alert_explains_its_top_posts(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9/", "http://127.0.0.1:9/", "http://127.0.0.1:9/")
    config, rules = load_all(path)
    store = Store.open(config.database)
    engine = Engine(config, rules, store, Scorer.of(config))
    for hour in range(72, 0, -1):  # three days of ordinary talk
        at = T0 - hour * 3600
        text = "Has anyone tried Acme Cloud for hosting a Postgres replica?"
        engine.ingest("acme", [Mention("reddit", f"h{hour}", text, datetime.fromtimestamp(at, UTC))], at)
    for i in range(15):
        at = T0 + i * 40
        mention = Mention("reddit", f"b{i}", f"{BURST[i % 3]} ({i})", datetime.fromtimestamp(at, UTC), author=f"u{i}")
        engine.ingest("acme", [mention], at)
    (opened,) = [e for e in engine.tick(T0 + 600) if e["event"] == "opened"]
    store.close()
    explained = [m for m in opened["top"] if "why" in m]
    assert 1 <= len(explained) <= 3
    for m in explained:
        assert m["label"] == "negative" and 0.5 < m["confidence"] <= 1 and m["why"]
        assert all(word.lower() in (m["title"] + " " + m["text"]).lower() for word in m["why"])
