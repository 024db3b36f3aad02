"""Every mention is made safe before it is stored (monitor.sanitize): polled ones repaired, ingested ones
refused with the reason; a bad one never costs the rest of its page or batch, and is logged once per cause."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from monitor.engine.core import CursorUpdate, Engine
from monitor.loading import load_config
from monitor.mention import Mention
from monitor.sanitize import CLOCK_SKEW, INT_MAX, INT_MIN, Unsafe, sanitize
from monitor.sentiment import Scorer
from monitor.service.ingest_endpoint import TOKEN_ENV, ingest_app
from monitor.service.wiring import ingest_items, vet_ingest
from monitor.store import Store

NOW = 1_795_600_800.0  # 2026-11-25 10:00 UTC
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
TOKEN = "ingest-token-0123456789abcdef"

# What poisons a mention, as a platform or a sender has sent it: (fields, cause).
POISONS: dict[str, tuple[dict[str, Any], str]] = {
    "likes 2^63": ({"likes": 2**63}, "count out of range"),
    "followers 2^64": ({"author_followers": 2**64}, "count out of range"),
    "reposts below -2^63": ({"reposts": -(2**63) - 1}, "count out of range"),
    "lone surrogate in the text": ({"text": "acme cloud \ud800 is down"}, "lone surrogate or NUL"),
    "lone low surrogate in the author": ({"author": "kim\udc80"}, "lone surrogate or NUL"),
    "NUL in the title": ({"title": "Acme\x00 Cloud outage"}, "lone surrogate or NUL"),
    "year 9999": ({"created_at": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)}, "time in the future"),
    "an hour ahead": ({"created_at": datetime.fromtimestamp(NOW + 3600, UTC)}, "time in the future"),
}


def mention(i: int = 0, **fields: Any) -> Mention:
    base = Mention(platform="x", id=f"p{i}", text=f"acme cloud post {i}", created_at=AT, author="kim")
    return dataclasses.replace(base, **fields)


@pytest.mark.parametrize("name", POISONS)
def test_a_polled_mention_is_repaired_and_an_ingested_one_refused(name: str) -> None:
    fields, cause = POISONS[name]
    poisoned = mention(**fields)
    fixed, fixes = sanitize(poisoned, NOW)
    assert [f.cause for f in fixes] == [cause]
    assert INT_MIN <= fixed.likes <= INT_MAX and INT_MIN <= fixed.reposts <= INT_MAX
    assert fixed.author_followers is None or fixed.author_followers <= INT_MAX
    for text in (fixed.text, fixed.title, fixed.author):
        text.encode("utf-8")  # a lone surrogate would raise here, as it did in the store
        assert "\x00" not in text
    assert fixed.created_at.timestamp() <= NOW + CLOCK_SKEW
    with pytest.raises(Unsafe) as refused:
        sanitize(poisoned, NOW, strict=True)
    assert refused.value.cause == cause and "\n" not in str(refused.value)


def test_repairs_keep_what_can_be_kept() -> None:
    fixed, _ = sanitize(mention(text="a\ud800b\x00c", likes=2**70, reposts=-(2**70)), NOW)
    assert fixed.text == "a\ufffdbc" and fixed.likes == INT_MAX and fixed.reposts == INT_MIN
    # A pair of surrogates that came apart (two code points in a str) is joined back, not replaced.
    assert sanitize(mention(text="ok \ud83d\ude00"), NOW)[0].text == "ok \U0001f600"
    clean = mention(created_at=datetime.fromtimestamp(NOW + CLOCK_SKEW, UTC), likes=INT_MAX, reposts=-5)
    assert sanitize(clean, NOW) == (clean, []) and sanitize(clean, NOW, strict=True) == (clean, [])


@pytest.mark.parametrize(
    "fields", [{"id": "p\ud800"}, {"id": "a\x00b"}, {"platform": ""}, {"created_at": datetime(1969, 7, 20, tzinfo=UTC)}]
)
def test_a_broken_key_or_a_time_before_1970_is_refused_either_way(fields: dict[str, Any]) -> None:
    with pytest.raises(Unsafe):
        sanitize(mention(**fields), NOW)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.toml").write_text(
        '[monitor]\ndatabase = "monitor.db"\n\n[[brands]]\nid = "acme"\nname = "Acme Cloud"\nqueries = ["acme cloud"]\n'
    )
    config = load_config(tmp_path / "config.toml")
    store = Store.open(config.database)
    yield Engine(config, [], store, Scorer.of(config))
    store.close()


def stored(engine: Engine) -> dict[str, tuple[Any, ...]]:
    rows = engine.store.db.execute("SELECT id, text, title, author, likes, author_followers, created_at FROM mentions")
    return {row[0]: tuple(row[1:]) for row in rows}


def test_one_poisoned_mention_in_a_page_costs_nothing_else(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="monitor.engine.filters")
    page = [mention(i) for i in range(3)]
    page += [mention(10 + i, **POISONS[name][0]) for i, name in enumerate(POISONS)]
    page.append(mention(99, id="bad\ud800id"))
    cursor = CursorUpdate("x", "acme cloud", '{"mark": 1}')
    kept = engine.ingest("acme", page, NOW, cursor=cursor)
    rows = stored(engine)
    assert len(kept) == len(rows) == 3 + len(POISONS)  # every poisoned one repaired; the broken id left out
    assert engine.store.cursor("x", "acme", "acme cloud") == '{"mark": 1}'  # the cursor moved with them
    assert rows["p10"][3] == INT_MAX and rows["p13"][0] == "acme cloud \ufffd is down"
    assert rows["p16"][5] == NOW  # year 9999 is stamped with the fetch time, so retention prunes it
    # One line per kind of problem, however many mentions show it.
    again = [mention(20 + i, likes=2**63 + i) for i in range(50)]
    engine.ingest("acme", again, NOW)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines  # count, surrogate or NUL, future time, broken id
    assert engine.guard.seen[("x", "count out of range")] == 53


@pytest.mark.parametrize("name", POISONS)
async def test_through_ingest_the_batch_answers_200_with_the_bad_item_rejected(
    engine: Engine, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    async def accept(items: list[Any]) -> int:
        return len(ingest_items(engine, items, NOW))

    app: web.Application = ingest_app(accept, vet=lambda item: vet_ingest(engine.config, item, NOW))
    client: TestClient[Any, Any] = await aiohttp_client(app)
    fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in POISONS[name][0].items()}
    items = [
        {"platform": "tiktok", "id": f"v{i}", "text": f"acme cloud clip {i}", "created_at": AT.isoformat()}
        for i in range(3)
    ]
    items.insert(1, {**items[0], "id": "bad", **fields})
    body = "\n".join(json.dumps(i) for i in items)  # json escapes a lone surrogate: "\ud800" is valid JSON
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
    response = await client.post("/ingest", data=body, headers=headers)
    answer = await response.json()
    assert response.status == 200, answer
    assert answer["accepted"] == 3 and answer["stored"] == 3
    assert [r["line"] for r in answer["rejected"]] == [2]
    assert next(iter(fields)) in answer["rejected"][0]["error"]
    assert set(stored(engine)) == {"v0", "v1", "v2"}
