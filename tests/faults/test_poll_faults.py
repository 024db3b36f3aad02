"""Faults that only show over whole polls (poll_once into a real store): looping cursors, future clocks,
and a feed with a broken entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.config import Brand
from monitor.engine.core import Engine
from monitor.engine.poll import MAX_PAGES_PER_POLL, poll_once
from monitor.loading import load_config
from monitor.sentiment import Scorer
from monitor.store import Store
from tests.fakes import drain
from tests.faults.proxy import FaultProxy
from tests.helpers.clock import Clock
from tests.helpers.sources import BY_NAME, QUERY, SINCE, T0, Spec, make, texts

CONFIG = f"""
[monitor]
database = "monitor.db"
rules = "rules"
backfill = "3d"

[[brands]]
id = "acme"
name = "Acme Cloud"
queries = ['{QUERY}']
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.toml").write_text(CONFIG)
    config = load_config(tmp_path / "config.toml")
    store = Store.open(config.database)
    yield Engine(config, [], store, Scorer.of(config))
    store.close()


def brand(engine: Engine) -> Brand:
    found = engine.config.brand("acme")
    assert found is not None
    return found


def stored(engine: Engine) -> list[tuple[str, int]]:
    return [(str(r[0]), int(r[1])) for r in engine.store.db.execute(
        "SELECT id, COUNT(*) FROM mentions GROUP BY platform, id").fetchall()]  # fmt: skip


async def test_a_cursor_that_loops_ends_the_poll_and_stores_each_item_once(
    spec: Spec, fake: Any, fault_proxy: FaultProxy, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
) -> None:  # fmt: skip
    clock = Clock(T0)
    for i in range(3):
        spec.add(fake, i, T0 - 3600 + i * 60)
    source = make(spec, fake, fault_proxy.at(fake.url), session, clock, monkeypatch)
    fault_proxy.looping = True  # every path answers its first answer forever, whatever the cursor asks
    result = await poll_once(source, brand(engine), QUERY, engine, clock.now)
    assert result.pages <= MAX_PAGES_PER_POLL
    assert len(stored(engine)) == 3 and all(n == 1 for _, n in stored(engine))


async def test_an_item_from_the_future_does_not_hide_later_ones(
    spec: Spec, fake: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    clock = Clock(T0)
    spec.add(fake, 0, T0 - 600)
    spec.add(fake, 1, T0 + 365 * 86400)  # a platform (or an author's device) with its clock a year ahead
    source = make(spec, fake, fake.url, session, clock, monkeypatch)
    await poll_once(source, brand(engine), QUERY, engine, clock.now)
    clock.now += 600
    spec.add(fake, 2, clock.now - 60)
    await poll_once(source, brand(engine), QUERY, engine, clock.now)
    ids = {i for i, _ in stored(engine)}
    found = engine.store.db.execute("SELECT text, title, created_at FROM mentions").fetchall()
    assert any("item2" in f"{t} {title}" for t, title, _ in found), (spec.name, found)
    assert len(ids) >= 2
    # A future time is never stored as is: it would sit in every rule's current window until then.
    assert all(created <= clock.now + 3600 for _, _, created in found), found


async def test_a_feed_with_a_broken_entry_keeps_the_others(
    fake_rss: Any, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BY_NAME["rss"]
    for i in range(4):
        spec.add(fake_rss, i, T0 - 3600 + i * 60)
    body, _ = fake_rss.render(QUERY)
    broken = body.decode()
    start = broken.index("<pubDate>")
    broken = broken[:start] + "<pubDate>yesterday, maybe" + broken[broken.index("</pubDate>") :]
    broken = broken.replace("<title>Acme Cloud item1", "<title>Acme Cloud &bogus; item1", 1)
    broken = broken.replace("<link>", "<link>javascript:alert(1)", 1)
    fake_rss.document = broken.encode()
    source = make(spec, fake_rss, fake_rss.url, session, Clock(T0), monkeypatch)
    mentions, _, _ = await drain(source, QUERY, None, SINCE)
    assert len(texts(mentions)) >= 3, [m.title for m in mentions]
    assert not any(m.url.startswith("javascript") for m in mentions if m.url)
