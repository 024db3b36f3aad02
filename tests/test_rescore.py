"""Scores carry their scorer's version; `monitor rescore` brings history over to a new scorer, losing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.commands import main
from monitor.engine.core import Engine
from monitor.loading import load_all
from monitor.mention import Mention
from monitor.rules.counts import BucketCounts
from monitor.sentiment import Scorer
from monitor.store import Store
from tests.helpers.clock import Clock
from tests.helpers.daemon import T0, write_config

# The old scorer (VADER and the lexicon) reads these as neutral or positive; the learned one as negative.
COMPLAINTS = [
    "Acme Cloud has been unreachable for an hour",
    "Is Acme Cloud down right now or is it just me?",
    "Great, Acme Cloud lost my order again. Thanks for nothing",
    "three emails to Acme Cloud support and not one answer",
]
NEUTRAL = "Has anyone tried Acme Cloud for hosting a Postgres replica?"


@pytest.fixture
def setup(tmp_path: Path) -> Path:
    return write_config(tmp_path, "http://127.0.0.1:9/", "http://127.0.0.1:9/", "http://127.0.0.1:9/")


def use_scorer(config_path: Path, name: str) -> None:
    text = config_path.read_text().split("\n[sentiment]\nscorer")[0]
    config_path.write_text(text + f'\n[sentiment]\nscorer = "{name}"\n')


def store_history(config_path: Path, days: int = 3) -> list[str]:
    """Mentions over the last days, scored by the configured scorer: a complaint every hour, some talk."""
    config, rules = load_all(config_path)
    store = Store.open(config.database)
    engine = Engine(config, rules, store, Scorer.of(config))
    ids = []
    for hour in range(days * 24, 0, -1):
        at = T0 - hour * 3600
        text = COMPLAINTS[hour % len(COMPLAINTS)] if hour % 2 else NEUTRAL
        mention = Mention("reddit", f"t3_{hour}", text, datetime.fromtimestamp(at, UTC))
        engine.ingest("acme", [mention], at)
        ids.append(mention.id)
    store.close()
    return ids


def negatives_counted(config_path: Path) -> int:
    """The negative mentions the spike rule's counts hold after a (re)start on the stored history."""
    config, rules = load_all(config_path)
    store = Store.open(config.database)
    engine = Engine(config, rules, store, Scorer.of(config))
    engine.load_history(T0)
    store.close()
    counts = engine.counts.get(("negative-spike", "acme"), BucketCounts())
    return sum(counts.hour(h) for h in range(int(T0 // 3600) - 24 * 4, int(T0 // 3600) + 1))


def labels(config_path: Path) -> dict[str, tuple[str | None, str | None]]:
    config, _ = load_all(config_path)
    store = Store.open(config.database)
    rows = {str(i): (label, scorer) for i, label, scorer in store.db.execute("SELECT id, label, scorer FROM mentions")}
    store.close()
    return rows


def test_each_score_is_stored_with_its_scorers_version(setup: Path) -> None:
    use_scorer(setup, "vader")
    store_history(setup, days=1)
    config, _ = load_all(setup)
    version = Scorer.of(config).version_of("acme")
    assert version.startswith("vader-1+lexicon-")
    assert {scorer for _, scorer in labels(setup).values()} == {version}


def test_rescore_brings_history_to_the_new_scorer_and_its_baselines_losing_nothing(
    setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use_scorer(setup, "vader")
    ids = store_history(setup)
    old = labels(setup)
    old_negatives = negatives_counted(setup)
    use_scorer(setup, "learned")
    config, _ = load_all(setup)
    learned = Scorer.of(config).version_of("acme")

    # status says that history was scored by another version, and what to run.
    main(["status", "--config", str(setup)], clock=Clock(T0))
    out = capsys.readouterr().out
    assert "scores: acme: mentions of the last 15d were scored by another scorer" in out
    assert f"current {learned} (72 by vader-1+lexicon-" in out and "run `monitor rescore --since 15d`" in out

    assert main(["rescore", "--config", str(setup), "--since", "30d"], clock=Clock(T0)) == 0
    out = capsys.readouterr().out
    new = labels(setup)
    assert sorted(new) == sorted(old) == sorted(ids)  # nothing lost, nothing added
    assert {scorer for _, scorer in new.values()} == {learned}
    changed = [i for i in ids if new[i][0] != old[i][0]]
    assert changed and all(new[i][0] == "negative" for i in changed)
    assert f"acme: 72 mention(s) rescored by {learned}, {len(changed)} with another label" in out
    assert negatives_counted(setup) > old_negatives  # the baseline is learned from the new labels

    # Once over, nothing is left to rescore and nothing is said any more.
    assert main(["rescore", "--config", str(setup)], clock=Clock(T0)) == 0
    assert "acme: 0 mention(s) rescored" in capsys.readouterr().out
    main(["status", "--config", str(setup)], clock=Clock(T0))
    assert "scored by another scorer" not in capsys.readouterr().out


async def test_rescore_runs_beside_a_running_daemon_in_batches(setup: Path) -> None:
    from monitor.engine.rescoring import rescore
    from monitor.service.daemon import Daemon

    use_scorer(setup, "vader")
    store_history(setup, days=2)
    use_scorer(setup, "learned")
    config, rules = load_all(setup)
    daemon = Daemon(config, rules, setup, clock=Clock(T0))  # holds the lock and its own connection
    try:
        other = Store.open(config.database)
        seen: list[int] = []
        done = rescore(other, Scorer.of(config), ["acme"], T0 - 30 * 86400, batch=7,
                       progress=lambda d: seen.append(d["acme"].rescored))  # fmt: skip
        other.close()
        assert seen[:3] == [7, 14, 21] and done["acme"].rescored == 48  # seven a transaction
        assert daemon.store.count_mentions() == 48
    finally:
        await daemon.close()


def test_score_explain_says_why(
    setup: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Acme Cloud has been unreachable for an hour\n"))
    assert main(["score", "--config", str(setup), "--explain"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    found = json.loads(line)
    assert found["label"] == "negative" and 0.5 < found["confidence"] <= 1
    assert any("unreachable" in word for word in found["why"]) and found["scorer"].startswith("learned-")
