"""A replay passes over the ticks that could change nothing (Engine.quiet_until, engine/replay.py): every
(rule, brand) pair asleep, nothing open or pending, the silences in force the same. Its events and its
counts are those of a replay that looks at every pair at every minute."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Brand
from monitor.engine import stream
from monitor.engine.replay import _replay
from monitor.mention import Mention
from monitor.store import Store
from tests.helpers.engine import NeverDormant, shipped_engine

START = datetime(2026, 10, 5, tzinfo=UTC).timestamp()
DAYS = 12
REFUNDS = 9.5 * 86400 + 1800  # a burst of posts a term silence covers, from 25 minutes into the hour
BRANDS = (Brand("acme", "Acme", ("acme",)), Brand("globex", "Globex", ("globex",)))
CALM = ["Acme docs are fine", "tried Acme today", "Acme released a new version", "Acme support answered, thanks"]
ANGRY = ["Acme is down again, awful", "Acme billing is broken and nobody answers", "Acme lost my data, terrible"]


def _stream(seed: int) -> list[tuple[Mention, str | None]]:
    """Twelve days of two brands, sparse enough that most minutes pass with nothing, with negative bursts,
    a burst whose posts a term silence covers, and hours when one brand or the other goes quiet."""
    rng = random.Random(seed)
    items = []
    bursts = [(rng.uniform(3, DAYS - 1) * 86400, rng.choice(BRANDS)) for _ in range(4)]
    bursts.append((REFUNDS, BRANDS[0]))  # inside the term silence below: its posts say "refund"
    for _ in range(int(DAYS * 24 * 60 / 9)):
        at = rng.uniform(0, DAYS * 86400)
        brand = rng.choice(BRANDS)
        if brand is BRANDS[1] and 10 * 86400 <= at < 10 * 86400 + 9 * 3600:
            continue  # globex goes quiet for nine hours where it never is
        if brand is BRANDS[0] and 11 * 86400 + 13.3 * 3600 <= at < 11 * 86400 + 22 * 3600:
            continue  # and acme from twenty past one in the afternoon
        items.append((at, brand, rng.choice(CALM if rng.random() < 0.85 else ANGRY)))
    for begin, brand in bursts:
        for _ in range(rng.randrange(15, 30)):
            text = "Acme refund denied, awful" if begin == REFUNDS else rng.choice(ANGRY)
            items.append((begin + rng.uniform(0, 1800), brand, text.replace("Acme", brand.name)))
    mentions = []
    for n, (at, brand, text) in enumerate(sorted(items, key=lambda item: item[0])):
        text = text.replace("Acme", brand.name)
        mentions.append(
            (Mention("reddit", f"p{n}", f"{text} #{n}", datetime.fromtimestamp(START + at, UTC), author=f"u{n}"), None)
        )
    return mentions


def _run(tmp_path: Path, seed: int, skipping: bool) -> tuple[list[dict[str, Any]], dict[Any, Any], int]:
    store = Store.scratch(tmp_path / f"replay-{skipping}.db")
    # A term silence that starts within an hour, when every pair sleeps, minutes before a burst of its term.
    store.add_silence("*", "acme", ["refund"], "ana", "known issue", START + REFUNDS - 300, START + 10 * 86400)
    store.add_silence("mention-storm", "*", [], "ana", "launch", START + 6 * 86400 + 1000, START + 6.5 * 86400)
    engine = shipped_engine(tmp_path, BRANDS, ["reddit"], store)
    if not skipping:
        engine.dormant = NeverDormant()  # every pair looked at every minute: nothing is ever asleep
    ticks = 0
    tick = engine.tick

    def counted(now: float) -> list[dict[str, Any]]:
        nonlocal ticks
        ticks += 1
        return tick(now)

    engine.tick = counted  # type: ignore[method-assign]
    try:
        replayed = _replay(engine, engine.rules, stream.of_items(_stream(seed)), None, 60.0)
        events = [{k: v for k, v in e.items() if k != "outbox_id"} for e in replayed]
        counts = {key: (dict(c.hours), dict(c.minutes)) for key, c in engine.counts.items()}
    finally:
        store.close()
    return events, counts, ticks


@pytest.mark.parametrize("seed", range(3))
def test_a_replay_passes_over_ticks_that_change_nothing_and_keeps_every_event(tmp_path: Path, seed: int) -> None:
    events, counts, ticks = _run(tmp_path, seed, skipping=True)
    every_events, every_counts, every_ticks = _run(tmp_path, seed, skipping=False)
    assert events == every_events
    assert counts == every_counts  # the term silence kept the same posts out of the counts
    assert ticks < every_ticks / 2, (ticks, every_ticks)
    rules = {(e["event"], e["rule"]) for e in events}
    assert {("opened", "negative-spike"), ("opened", "collector-silent")} <= rules, rules


def test_whatever_wakes_a_pair_forgets_until_when_the_engine_is_quiet(tmp_path: Path) -> None:
    # quiet_until promises that no tick before it can change anything; a mention that wakes a pair breaks
    # that promise and must forget it: one landing in a share rule's baseline hours (late), one older than
    # the brand's history, new watched hours, or a mention that brings a pair to what may fire.
    from monitor.mention import ScoredMention

    eng = shipped_engine(tmp_path, BRANDS[:1], ["reddit"])
    rng = random.Random(5)
    serial = iter(range(10**9))

    def mention(at: float, label: str = "neutral") -> ScoredMention:
        n = next(serial)
        m = Mention("reddit", str(n), f"Acme post {n}", datetime.fromtimestamp(at, UTC), author=f"u{n}")
        return ScoredMention(m, "acme", -0.5 if label == "negative" else 0.2, label)

    eng.count(
        sorted((mention(START + rng.uniform(0, 3 * 86400)) for _ in range(400)), key=lambda s: s.mention.created_at)
    )
    now = START + 3 * 86400

    def quiet() -> float:
        nonlocal now
        for _ in range(240):
            now += 60
            eng.tick(now)
            if eng.quiet_until > now + 60:
                return now
        raise AssertionError("never quiet")

    quiet()
    eng.count([mention(now - 5 * 3600)])  # late, into the share rule's baseline hours
    assert eng.quiet_until == float("-inf") and ("negative-share", "acme") not in eng.dormant
    quiet()
    eng.count([mention(START - 3600)])  # older than any: the history starts earlier
    assert eng.quiet_until == float("-inf")
    quiet()
    eng.watching = True
    eng.mark_watched("acme", now - 600, now)
    assert eng.quiet_until == float("-inf")
    eng.watching = False
    quiet()
    eng.count([mention(now - 30, "negative") for _ in range(12)])  # enough to wake the negative rules
    assert eng.quiet_until == float("-inf")
    eng.store.close()
