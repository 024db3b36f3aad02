"""A quiet-by-counts verdict the tick keeps (engine/skipping.py) is the verdict worked out afresh, tick
by tick: with mentions counted late, ahead of now (within the clock skew allowed), in bursts, and with
ticks seconds to ten minutes apart."""

from __future__ import annotations

import math
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
from tests.helpers.engine import NeverDormant, rules_engine

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
    eng = rules_engine(tmp_path, RULES)
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

    eng = rules_engine(tmp_path, {"silent.toml": SILENT})
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


@pytest.mark.parametrize(("seed", "watching"), [(0, False), (1, False), (2, True), (3, True)])
def test_passing_over_dormant_pairs_changes_no_event(tmp_path: Path, seed: int, watching: bool) -> None:
    # Every shipped rule, two brands, four days of mentions at a rate that keeps the spike rules' gates
    # busy, with bursts, crisis words, big authors, late arrivals and, now and then, a mention older
    # than any (the history starts earlier); as the daemon (watched hours marked as polls succeed,
    # with gaps) or as a replay: the same events at the same minutes with and without dormant pairs, and
    # with the ticks before the engine's quiet_until passed over (as a replay does) though mentions
    # arrive late, out of order and into baseline hours.
    from monitor.mention import Mention, ScoredMention

    root = Path(__file__).resolve().parent.parent
    brands = (Brand("acme", "Acme", ("acme",)), Brand("globex", "Globex", ("globex",)))
    words = ["is down again", "billing broke", "love it", "new pricing", "ok"] * 30 + ["data breach at", "lawsuit"]
    rng = random.Random(seed)
    days = 4
    stream = []
    crises = [(rng.randrange(1440, days * 1440 - 60), rng.choice(brands)) for _ in range(5)]
    for minute in range(days * 1440):
        crisis = next((b for start, b in crises if start <= minute < start + rng.choice((20, 40))), None)
        for k in range(rng.choice((0, 0, 1, 1, 2, 3)) + (rng.choice((2, 4, 6)) if crisis else 0)):
            brand = crisis if crisis and k >= 3 else rng.choice(brands)
            back = 3 * 86400 if rng.random() < 0.0005 else rng.uniform(-600.0, 60.0)
            at = START + 60 * minute + back if back < 0 or back <= 60 else START + 60 * minute - back
            text = f"{brand.name} {rng.choice(words)} {rng.randrange(10**6)}"
            label = "negative" if crisis and k >= 3 else rng.choice(("negative", "neutral", "neutral", "positive"))
            m = Mention("reddit", f"{minute}-{k}", text, datetime.fromtimestamp(at, UTC),
                        author=f"u{rng.randrange(500)}", author_followers=rng.choice((10, 100, 50_000)))  # fmt: skip
            stream.append((minute, ScoredMention(m, brand.id, -0.5 if label == "negative" else 0.3, label)))
    gaps = {rng.randrange(days * 24) for _ in range(days * 3)}  # hours when polls failed
    runs, passed_over = [], 0
    for dormant, skipping in ((True, True), (True, False), (False, False)):
        config = Config(path=tmp_path / "config.toml", database=tmp_path / f"{dormant}{skipping}.db",
                        rules_dir=root / "rules", brands=brands, sources=MappingProxyType({}))  # fmt: skip
        rules = load_rules(root / "rules", ["acme", "globex"], ["reddit"])
        eng = Engine(config, rules, Store.open(config.database), Scorer.of(config))
        eng.watching = watching
        if not dormant:
            eng.dormant = NeverDormant()
        events, i = [], 0
        for minute in range(days * 1440 + 120):
            now = START + 60 * minute + 30
            batch = []
            while i < len(stream) and stream[i][0] <= minute:
                batch.append(stream[i][1])
                i += 1
            eng.store.add_mentions(batch, fetched_at=now)
            eng.count(batch)
            if watching and minute % 7 == 0 and (minute // 60) not in gaps:
                for brand in brands:
                    eng.mark_watched(brand.id, now - 420, now)
            if skipping and now < eng.quiet_until:
                passed_over += 1
                continue
            events += [(minute, e["event"], e["rule"], e["brand"]) for e in eng.tick(now)]
        runs.append(events)
        eng.store.close()
    assert runs[0] == runs[1] == runs[2]
    assert "negative-spike" in {rule for _, _, rule, _ in runs[0]}, runs[0]
    assert passed_over > 50, passed_over


@pytest.mark.parametrize("windows", [("10m", "20m", "1h"), ("15m",), ("2h", "30m")])
def test_a_spike_pair_sleeps_until_its_gate_s_bounds_may_change(tmp_path: Path, windows: tuple[str, ...]) -> None:
    # A pair kept dormant on a gate's bounds (sums under them, which can only fall with nothing counted)
    # wakes when the bounds may change: the gate's hour ends, or its baseline is learned again because the
    # hour before the longest window moved on. Checked against the gate itself, minute by minute.
    from monitor.engine.skipping import _bounds_end
    from monitor.rules.detectors import spike_baseline

    rules = tmp_path / "rules"
    rules.mkdir()
    listed = ", ".join(f'"{w}"' for w in windows)
    rules.joinpath("spike.toml").write_text(
        f'name = "spike"\nkind = "spike"\n[detect]\nwindows = [{listed}]\nbaseline = "2d"\nmin_count = 3\n'
    )
    config = Config(path=tmp_path / "config.toml", database=tmp_path / "m.db", rules_dir=rules,
                    brands=(Brand("acme", "Acme", ("acme",)),), sources=MappingProxyType({}))  # fmt: skip
    eng = Engine(config, load_rules(rules, ["acme"], ["reddit"]), Store.open(config.database), Scorer.of(config))
    (rule,) = eng.rules
    counts = eng.counts[(rule.name, "acme")] = BucketCounts()
    rng = random.Random(len(windows))
    for _ in range(600):
        counts.add(START + rng.uniform(0, 3 * 86400))
    eng.history_start["acme"] = START
    for _ in range(40):
        now = START + 2 * 86400 + rng.randrange(86400 // 60) * 60 + rng.choice((0.0, 30.0))
        base = spike_baseline(rule.detect, counts, now, START, config.zone, None)
        t = now
        while (
            math.floor(t / 3600) == math.floor(now / 3600)
            and spike_baseline(rule.detect, counts, t, START, config.zone, None) is base
        ):
            t += 1.0
        assert _bounds_end(rule.detect, now) == math.floor(t), (windows, now)
    eng.store.close()


MARGIN_RULES = {
    "busy.toml": 'name = "busy"\nkind = "volume"\n[detect]\nwindow = "10m"\nmin_count = 4\n',
    "words.toml": 'name = "words"\nkind = "keyword"\n[detect]\nterms = ["recall"]\nwindow = "30m"\nmin_count = 3\n',
    "loud.toml": (
        'name = "loud"\nkind = "keyword"\n[detect]\nterms = ["recall"]\nwindow = "30m"\nmin_count = 3\n'
        "min_followers = 1000\n"
    ),
    "spiky.toml": (
        'name = "spiky"\nkind = "spike"\n[detect]\nwindows = ["10m", "1h"]\nbaseline = "2d"\nmin_count = 3\n'
        'min_ratio = 2\nmax_p_value = 0.05\nmin_history = "1d"\n'
    ),
}


@pytest.mark.parametrize("seed", range(12))
def test_a_pair_asleep_until_more_mentions_cannot_fire_before_they_come(tmp_path: Path, seed: int) -> None:
    # A pair put to sleep until its counts reach a number of adds (engine/skipping.py) must not fire at
    # any moment before that many mentions are counted, nor before its time is up: checked against the
    # detector itself, with mentions counted one or two at a time so that counts sit right under what
    # firing asks for (a margin one too large shows as a firing while asleep).
    eng = rules_engine(tmp_path, MARGIN_RULES)
    rng = random.Random(seed)
    keys = [(rule.name, "acme") for rule in eng.rules]
    for key in keys:
        eng.counts[key], eng.reach[key] = BucketCounts(), BucketCounts()
    for _ in range(300):  # two days of history for the spike rule's baseline
        at = START + rng.uniform(0, 2 * 86400)
        for key in keys:
            eng.counts[key].add(at)
    eng.history_start["acme"] = START
    now, asleep_checks = START + 2 * 86400, 0
    for _ in range(3000):
        now += rng.choice((20.0, 60.0, 60.0, 90.0, 300.0))
        busy = math.sin(now / 5000) > 0.6  # stretches when counts climb to and past what fires
        for _ in range(rng.choice((0, 1, 1, 2) if busy else (0, 0, 0, 1))):
            at = now - rng.uniform(0.0, 50.0)
            for key in keys:
                if rng.random() < 0.7:
                    eng.counts[key].add(at)
                    if key[0] == "loud" and rng.random() < 0.05:
                        eng.reach[key].add(at)
        for rule, key in zip(eng.rules, keys, strict=True):
            asleep = eng.dormant.get(key)
            if asleep is not None and asleep[0] <= now < asleep[1] and eng.counts[key].adds < asleep[2]:
                assert not eng.evaluate(rule, "acme", now, False).firing, (seed, now, key, asleep)
                asleep_checks += 1
                continue
            eng.dormant.pop(key, None)
            eng._cannot_fire(rule, key, now)
    assert asleep_checks > 2000
    eng.store.close()


SHARE_RULE = (
    'name = "share"\nkind = "share"\n[match]\nsentiment = "negative"\n[detect]\nwindow = "30m"\nbaseline = "6h"\n'
    'max_share = 0.9\nmin_ratio = 2\nmin_count = 3\nmin_history = "3h"\n'
)


@pytest.mark.parametrize("seed", range(10))
def test_a_share_pair_asleep_cannot_fire_while_other_posts_leave_its_window(tmp_path: Path, seed: int) -> None:
    # A share rule's pair put to sleep (engine/skipping.py, share_quiet_until) must not fire before a
    # negative mention is counted, before its time is up, or after posts land in its baseline hours (late
    # or backfilled): checked against the detector at every step. Some hours bring a burst of other posts
    # that then leave the window (the share climbs with no negative counted) and, over a short baseline,
    # move the usual share as they enter and leave it; batches of late posts move it too.
    from monitor.mention import Mention, ScoredMention

    eng = rules_engine(tmp_path, {"share.toml": SHARE_RULE}, platforms=("reddit",))
    (rule,) = eng.rules
    key = (rule.name, "acme")
    rng = random.Random(seed)
    serial = iter(range(10**9))

    def mention(at: float, label: str, backfill: bool = False) -> ScoredMention:
        n = next(serial)
        m = Mention("reddit", str(n), f"Acme post {n}", datetime.fromtimestamp(at, UTC), author=f"u{n}")
        return ScoredMention(m, "acme", -0.5 if label == "negative" else 0.2, label, backfill=backfill)

    busy = {h for h in range(-12, 48) if rng.random() < 0.3}  # hours (from now) with a burst of other posts

    def arrivals(at: float, step: float) -> list[ScoredMention]:
        hour = math.floor((at - START) / 3600) - 12
        rate = (1.5 if hour in busy else 0.15) * step / 60  # other posts a step
        batch = [mention(at - rng.uniform(0, step), "neutral") for _ in range(int(rate + rng.random()))]
        if rng.random() < 0.08 * step / 60:
            batch.append(mention(at - rng.uniform(0, step), "negative"))
        return batch

    history = [m for minute in range(12 * 60) for m in arrivals(START + 60 * minute + 60, 60.0)]
    eng.count(sorted(history, key=lambda s: s.mention.created_at))
    now, asleep_checks, fired = START + 12 * 3600, 0, 0
    for step in range(2500):
        gap = rng.choice((30.0, 60.0, 60.0, 120.0))
        now += gap
        batch = arrivals(now, gap)
        if rng.random() < 0.02:  # late, into a baseline hour, or backfilled
            at = now - rng.uniform(3600.0, 5 * 3600.0)
            backfill = rng.random() < 0.5
            batch += [mention(at, "neutral", backfill) for _ in range(rng.randrange(5, 40))]
        eng.count(batch)
        eng.settle_shares(now)
        asleep = eng.dormant.get(key)
        if asleep is not None and asleep[0] <= now < asleep[1]:
            assert not eng.evaluate(rule, "acme", now, False).firing, (seed, step, now, asleep)
            asleep_checks += 1
            continue
        eng.dormant.pop(key, None)
        eng._cannot_fire(rule, key, now)
        fired += eng.evaluate(rule, "acme", now, False).firing
    assert asleep_checks > 800 and fired > 20, (asleep_checks, fired)
    eng.store.close()
