"""A quiet-by-counts verdict the tick keeps (engine/skipping.py) is the verdict worked out afresh, tick
by tick: with mentions counted late, ahead of now (within the clock skew allowed), in bursts, and with
ticks seconds to ten minutes apart."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pytest

from monitor.config import Brand, Config
from monitor.engine.core import Engine
from monitor.rules.counts import BucketCounts
from monitor.rules.load import load_rules
from monitor.sentiment import Scorer
from monitor.store import Store

START = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
RULES = {
    "busy.toml": 'name = "busy"\nkind = "volume"\n[detect]\nwindow = "10m"\nmin_count = 4\n',
    "words.toml": (
        'name = "words"\nkind = "keyword"\n[detect]\nterms = ["recall"]\nwindow = "30m"\nmin_count = 3\n'
        "min_followers = 1000\n"
    ),
    "big.toml": 'name = "big"\nkind = "influencer"\n[detect]\nwindow = "20m"\nmin_followers = 1000\n',
}


@pytest.mark.parametrize("seed", range(6))
def test_a_kept_verdict_is_the_fresh_one(tmp_path: Path, seed: int) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in RULES.items():
        rules.joinpath(name).write_text(text)
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=rules,
                    brands=(Brand("acme", "Acme", ("acme",)),), sources=MappingProxyType({}))  # fmt: skip
    eng = Engine(config, load_rules(rules, ["acme"], ["hackernews"]), Store.open(config.database), Scorer.of(config))
    rng = random.Random(seed)
    keys = [(rule.name, "acme") for rule in eng.rules]
    for key in keys:
        eng.counts[key], eng.reach[key] = BucketCounts(), BucketCounts()
    now, kept = START, 0
    for _ in range(1500):
        now += rng.choice((1.0, 30.0, 59.0, 60.0, 61.0, 600.0))
        for _ in range(rng.choice((0, 0, 0, 1, 2, 5))):  # late, on time, or up to 2 minutes ahead
            key = rng.choice(keys)
            at = now + rng.uniform(-900.0, 120.0)
            eng.counts[key].add(at)
            if rng.random() < 0.2:
                eng.reach[key].add(at)
        if rng.random() < 0.01:
            for key in keys:
                eng.counts[key].prune(now - 7200, now - 3600)
        for rule, key in zip(eng.rules, keys, strict=True):
            had = key in eng.under
            got = eng._cannot_fire(rule, key, now)
            saved, eng.under = eng.under, {}
            assert got == eng._cannot_fire(rule, key, now), (seed, now, key)
            eng.under = saved
            kept += had and got
    assert kept > 500  # the kept verdicts were used, not only made
    eng.store.close()


SILENT = (
    'name = "silent"\nkind = "silence"\n[detect]\nquiet_for = "2h"\nmin_expected = 1\nbaseline = "1d"\n'
    'min_history = "6h"\nfailing_for = "30m"\n'
)


@pytest.mark.parametrize("seed", range(4))
def test_a_silence_rule_is_skipped_only_where_it_cannot_fire(tmp_path: Path, seed: int) -> None:
    # Sparse mentions (hours go quiet), ticks up to an hour apart, sources failing now and then: the kept
    # "heard" verdict is the fresh one, and a skipped evaluation never fires.
    from monitor.rules.detectors import Failure

    rules = tmp_path / "rules"
    rules.mkdir()
    rules.joinpath("silent.toml").write_text(SILENT)
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=rules,
                    brands=(Brand("acme", "Acme", ("acme",)),), sources=MappingProxyType({}))  # fmt: skip
    eng = Engine(config, load_rules(rules, ["acme"], ["hackernews"]), Store.open(config.database), Scorer.of(config))
    rng = random.Random(seed)
    (rule,) = eng.rules
    key = (rule.name, "acme")
    eng.counts[key] = BucketCounts()
    eng.history_start["acme"] = START - 3 * 86400
    for h in range(-72, 0):  # a history with a usual rate of a few an hour
        for _ in range(rng.choice((1, 2, 3))):
            eng.counts[key].add(START + h * 3600 + rng.uniform(0, 3600))
    failing: dict[str, Failure] = {}
    eng.source_failures = lambda: failing
    now, skipped, fired = START, 0, 0
    for _ in range(2000):
        now += rng.choice((1.0, 60.0, 60.0, 61.0, 600.0, 3600.0))
        if rng.random() < 0.15:
            eng.counts[key].add(now + rng.uniform(-1800.0, 60.0))
        if rng.random() < 0.01:
            failing = {} if failing else {"hackernews": Failure(now - rng.choice((60.0, 3600.0)), "HTTP 503")}
        got = eng._cannot_fire(rule, key, now)
        saved, eng.heard = eng.heard, {}
        assert got == eng._cannot_fire(rule, key, now), (seed, now)
        eng.heard = saved
        result = eng.evaluate(rule, "acme", now)
        assert not (got and result.firing), (seed, now, result)
        skipped += got
        fired += result.firing
    assert skipped > 500 and fired > 0  # both cases were met
    eng.store.close()


class _NeverDormant(set[tuple[str, str]]):
    """A dormant set that keeps nothing: every pair is looked at every tick, as before the set existed."""

    def add(self, key: tuple[str, str]) -> None:
        pass


@pytest.mark.parametrize("seed", range(3))
def test_passing_over_dormant_pairs_changes_no_event(tmp_path: Path, seed: int) -> None:
    # Every shipped rule, two brands, two days of bursty mentions with crisis words, big authors and
    # late arrivals, ticked every minute: the same events, at the same minutes, with and without the
    # dormant pairs passed over.
    from monitor.mention import Mention, ScoredMention

    root = Path(__file__).resolve().parent.parent
    brands = (Brand("acme", "Acme", ("acme",)), Brand("globex", "Globex", ("globex",)))
    words = ["acme is down again", "globex billing broke", "love it", "data breach at", "lawsuit filed", "ok"]
    rng = random.Random(seed)
    stream = []
    for minute in range(2 * 1440):
        burst = 8 if (minute // 240) % 3 == 0 and rng.random() < 0.1 else 0
        for k in range(rng.choice((0, 0, 0, 1, 2)) + burst):
            brand = rng.choice(brands)
            at = START + 60 * minute + rng.uniform(-600.0, 60.0)
            text = f"{brand.name} {rng.choice(words)} {rng.randrange(10**6)}"
            label = rng.choice(("negative", "negative", "neutral", "positive"))
            m = Mention("reddit", f"{minute}-{k}", text, datetime.fromtimestamp(at, UTC),
                        author=f"u{rng.randrange(50)}", author_followers=rng.choice((10, 100, 50_000)))  # fmt: skip
            stream.append((minute, ScoredMention(m, brand.id, -0.5 if label == "negative" else 0.3, label)))
    runs = []
    for dormant in (True, False):
        config = Config(path=tmp_path / "config.toml", database=tmp_path / f"{dormant}.db", rules_dir=root / "rules",
                        brands=brands, sources=MappingProxyType({}))  # fmt: skip
        rules = load_rules(root / "rules", ["acme", "globex"], ["reddit"])
        eng = Engine(config, rules, Store.open(config.database), Scorer.of(config))
        if not dormant:
            eng.dormant = _NeverDormant()
        events, i = [], 0
        for minute in range(2 * 1440 + 120):
            now = START + 60 * minute + 30
            batch = []
            while i < len(stream) and stream[i][0] <= minute:
                batch.append(stream[i][1])
                i += 1
            eng.store.add_mentions(batch, fetched_at=now)
            eng.count(batch)
            events += [(minute, e["event"], e["rule"], e["brand"]) for e in eng.tick(now)]
        runs.append(events)
        eng.store.close()
    assert runs[0] == runs[1]
    assert len(runs[0]) > 5, runs[0]  # incidents opened and closed
