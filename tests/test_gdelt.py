"""GDELT against a fake DOC 2.0 API: mapping, sliding windows, folded copies, restarts, the 5 s rule, failures."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import aiohttp
import pytest

from monitor.config import SourceConfig
from monitor.sources import sweep
from monitor.sources.base import BadResponse, RateLimited
from monitor.sources.gdelt import TRIMMED, Gdelt, clean_title
from monitor.sources.http import Http
from tests.fakes import USER_AGENT, drain
from tests.fakes.gdelt import FakeGdelt, recorded, recorded_text
from tests.helpers.clock import Clock

T0 = 1_795_500_000  # 2026-11-24T06:00:00Z
NOW = T0 + 86400
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"


def gdelt(session: aiohttp.ClientSession, fake: FakeGdelt, clock: Clock | None = None, **options: object) -> Gdelt:
    """A source whose Http sleeps by moving the test clock; the fake refuses requests under 5 s apart."""
    clock = clock or Clock(NOW)

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    config = SourceConfig(name="gdelt", enabled=True, interval=timedelta(minutes=15), base_url=fake.url,
                          options=MappingProxyType({**Gdelt.options, **options}))  # fmt: skip
    fake.clock = fake.date = clock
    return Gdelt(config, Http(session, USER_AGENT, timeout=5, sleep=sleep, clock=clock))


def param(epoch: int) -> str:
    """GDELT's startdatetime/enddatetime form."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S")


def windows(fake: FakeGdelt) -> list[tuple[str, str | None]]:
    return [(r.query["startdatetime"], r.query.get("enddatetime")) for r in fake.requests]


async def test_a_poll_maps_recorded_articles_and_folds_copies(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    fake_gdelt.articles = recorded()["articles"] + recorded("artlist_older.json")["articles"]
    newest = int(datetime(2026, 11, 24, 15, 30, tzinfo=UTC).timestamp())
    page = await gdelt(session, fake_gdelt, Clock(newest + 900)).search(Q, None, SINCE)  # GDELT's next update
    by_id = {m.id: m for m in page.mentions}
    # Three sites ran one story: one mention, the copy GDELT saw first, the two others as reposts.
    story = by_id["https://www.reuters.com/technology/acme-cloud-outage-2026-11-24/"]
    assert story.title == "Acme Cloud outage hits thousands of businesses, company says" and story.text == ""
    assert story.reposts == 2 and story.author == "reuters.com" and story.lang == "en"
    assert story.created_at == datetime(2026, 11, 24, 15, 15, tzinfo=UTC) and story.platform == "gdelt"
    assert story.url == story.id and story.likes == 0 and story.replies == 0 and story.author_followers is None
    assert not any("startribune" in i or "usnews" in i for i in by_id)
    heise = by_id["https://www.heise.de/news/Acme-Cloud-Stoerung-9990001.html"]
    assert heise.title == 'Acme Cloud: Störung legt "Tausende" Firmen lahm (Update)' and heise.lang == "de"
    assert heise.reposts == 0
    register = by_id["https://www.theregister.com/2026/11/24/acme_cloud_ceo/"]
    assert register.title == "Acme Cloud's CEO apologises & promises credits – it's 100% on us"
    french = by_id["https://www.lemonde.fr/pixels/article/2026/11/24/acme-cloud-panne_600001.html"]
    assert french.title == "Panne géante chez Acme Cloud: des milliers d'entreprises touchées" and french.lang == "fr"
    assert by_id["https://www.example-news.co.jp/articles/acme-cloud"].lang == "ja"
    assert len(page.mentions) == 5 and not page.more
    (request,) = fake_gdelt.requests
    assert request.path == "/api/v2/doc/doc" and request.headers["User-Agent"] == USER_AGENT
    assert request.query == {"query": Q, "mode": "artlist", "format": "json", "maxrecords": "250",
                             "sort": "datedesc", "startdatetime": "20261123060000"}  # fmt: skip
    state = json.loads(page.cursor)
    assert state["mark"] == newest and state["v"] == 1 and state["polled"] == newest + 900
    # Only what lies within the overlap (an hour) below the sweep's start (later than the watermark) is
    # kept to filter the next poll.
    assert sorted(state["seen"]) == ["https://www.heise.de/news/Acme-Cloud-Stoerung-9990001.html",
                                     "https://www.reuters.com/technology/acme-cloud-outage-2026-11-24/",
                                     "https://www.theregister.com/2026/11/24/acme_cloud_ceo/"]  # fmt: skip
    assert len(state["titles"]) == 3


@pytest.mark.parametrize(
    ("tokenised", "clean"),
    [
        ("Acme Cloud outage , CEO says ; shares fall 5 %", "Acme Cloud outage, CEO says; shares fall 5%"),
        ("Why Acme ' s outage matters ( and what ' s next )", "Why Acme's outage matters (and what's next)"),
        ('Acme : " We are sorry "', 'Acme: "We are sorry"'),
        ("U . S . probes Acme Cloud ? Not yet !", "U.S. probes Acme Cloud? Not yet!"),
        ("Acme &amp; Co buys rival for $ 5 billion", "Acme & Co buys rival for $5 billion"),
        ("  Acme\tCloud  ", "Acme Cloud"),
        (
            "Acme Cloud down in us - east - 2 ; COVID - 19 - era e - mail , self - driving",
            "Acme Cloud down in us-east-2; COVID-19-era e-mail, self-driving",
        ),
        ("Wi - Fi and state - of - the - art gear", "Wi-Fi and state-of-the-art gear"),
        ("Acme Cloud outage - what we know", "Acme Cloud outage - what we know"),  # a dash: kept
        ("Acme Cloud – Reuters", "Acme Cloud – Reuters"),
    ],
)
def test_titles_lose_the_tokeniser_spaces(tokenised: str, clean: str) -> None:
    assert clean_title(tokenised) == clean


async def test_windows_slide_down_past_250_records_then_only_what_is_new(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    for i in range(600):
        fake_gdelt.add_article(f"https://news{i}.example/acme", T0 + i * 30, f"Acme Cloud story {i}")
    clock = Clock(T0 + 18000)  # the first poll, half a minute after the newest article
    source = gdelt(session, fake_gdelt, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert pages == 3 and len(ids) == len(set(ids)) == 600
    # Each window ends just past the oldest second of the answer before: only that article comes twice.
    repeats = [u for u, n in Counter(fake_gdelt.served_urls()).items() if n > 1]
    assert sorted(repeats) == ["https://news101.example/acme", "https://news350.example/acme"]
    start = param(T0 - 86400)
    assert windows(fake_gdelt) == [(start, None), (start, param(T0 + 10501)), (start, param(T0 + 3031))]
    assert fake_gdelt.refused == 0  # the source waited out GDELT's 5 s between its requests
    # Nothing new, 15 minutes on: one request from the first sweep's start (later than the watermark)
    # less the overlap (an hour). That start is the second before T0 + 18000 by GDELT's clock: the last
    # answer came at a fraction of a second, which its Date header's whole seconds leave out.
    clock.now = T0 + 18900
    again, cursor, pages = await drain(source, Q, cursor, SINCE)
    assert again == [] and pages == 1
    assert windows(fake_gdelt)[-1] == (param(T0 + 18000 - 1 - 3600), None)
    # A new article, and one GDELT added late (made before that poll, within the overlap of it).
    fake_gdelt.add_article("https://late.example/acme", T0 + 16000, "Acme Cloud indexed late")
    fake_gdelt.add_article("https://newer.example/acme", T0 + 20000, "Acme Cloud newer")
    clock.now = T0 + 20100
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert windows(fake_gdelt)[-1] == (param(T0 + 18900 - 3600), None)
    assert sorted(m.id for m in fresh) == ["https://late.example/acme", "https://newer.example/acme"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []
    assert fake_gdelt.refused == 0


@pytest.mark.parametrize("exclusive", [False, True])
async def test_batches_split_across_answers_whether_the_end_is_inclusive_or_not(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession, exclusive: bool
) -> None:
    fake_gdelt.end_exclusive = exclusive
    for batch in range(6):  # GDELT's seendates fall on 15-minute marks, three articles each here
        for j in range(3):
            fake_gdelt.add_article(f"https://b{batch}-{j}.example/a", T0 + batch * 900, f"Acme Cloud {batch} {j}")
    mentions, _, pages = await drain(gdelt(session, fake_gdelt, max_records=4), Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids)) == 18 and pages > 1


async def test_a_copy_in_a_later_answer_is_not_counted_again(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    fake_gdelt.add_article("https://wire.example/acme", T0, "Acme Cloud settles lawsuit")
    clock = Clock(T0 + 300)
    source = gdelt(session, fake_gdelt, clock)
    _, cursor, _ = await drain(source, Q, None, SINCE)
    fake_gdelt.add_article("https://copy.example/acme", T0 + 600, "ACME cloud settles lawsuit!")
    fake_gdelt.add_article("https://other.example/acme", T0 + 700, "Acme Cloud settles a different lawsuit")
    clock.now = T0 + 900
    fresh, _, _ = await drain(source, Q, cursor, SINCE)
    assert [m.id for m in fresh] == ["https://other.example/acme"]


async def test_more_articles_in_one_second_than_an_answer_holds(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        fake_gdelt.add_article(f"https://same{i}.example/a", T0, f"Acme Cloud same second {i}")
    fake_gdelt.add_article("https://older.example/a", T0 - 60, "Acme Cloud older")
    fake_gdelt.add_article("https://newest.example/a", T0 + 60, "Acme Cloud newest")
    mentions, _, _ = await drain(gdelt(session, fake_gdelt, max_records=3), Q, None, SINCE)
    ids = {m.id for m in mentions}
    # No paging within a second: what does not fit is skipped (and logged), the window goes on below.
    assert {"https://newest.example/a", "https://older.example/a"} <= ids and len(ids) == 5


async def test_requests_are_five_seconds_apart_even_from_concurrent_polls(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    fake_gdelt.add_article("https://a.example/acme", T0, "Acme Cloud")
    clock = Clock(NOW)
    source = gdelt(session, fake_gdelt, clock)
    await source.search(Q, None, SINCE)
    await asyncio.gather(source.search(Q, None, SINCE), source.search("acme outage", None, SINCE))
    assert len(fake_gdelt.requests) == 3 and fake_gdelt.refused == 0 and clock.now >= NOW + 10


async def test_a_full_answer_is_followed_five_seconds_later_on_a_clock_that_moves(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    for i in range(300):
        fake_gdelt.add_article(f"https://n{i}.example/a", T0 + i * 60, f"Acme Cloud {i}")
    # The clock moves a millisecond with every reading, as a real one does between two readings.
    clock = Clock(NOW, tick=0.001)
    fake_gdelt.behave(clock)
    mentions, _, pages = await drain(gdelt(session, fake_gdelt, clock), Q, None, SINCE)
    # The second request waited out GDELT's 5 s instead of raising RateLimited at our own spacing.
    assert pages == 2 and len(mentions) == 300 and fake_gdelt.refused == 0 and len(fake_gdelt.requests) == 2


@pytest.mark.parametrize("status", [429, 200])
async def test_the_plain_text_refusal_blocks_and_the_sweep_resumes(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession, status: int
) -> None:
    for i in range(300):
        fake_gdelt.add_article(f"https://n{i}.example/a", T0 + i, f"Acme Cloud {i}")
    clock = Clock(NOW)
    source = gdelt(session, fake_gdelt, clock)
    first = await source.search(Q, None, SINCE)
    fake_gdelt.answer_next(recorded_text("rate_limited.txt"), status=status)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, first.cursor, SINCE)
    assert info.value.retry_after == 60
    with pytest.raises(RateLimited):  # during the wait nothing is sent, and the source does not sleep it out
        await source.search(Q, first.cursor, SINCE)
    assert len(fake_gdelt.requests) == 2
    clock.now += 60
    rest, _, _ = await drain(source, Q, first.cursor, SINCE)
    assert sorted(m.id for m in first.mentions + rest) == sorted(f"https://n{i}.example/a" for i in range(300))


async def test_malformed_records_are_skipped_and_control_characters_read(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    fake_gdelt.answer_next(recorded_text("malformed_and_control_characters.json"))
    page = await gdelt(session, fake_gdelt).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["https://www.example.org/acme-tab",
                                             "https://www.example.com/acme-unknown-language"]  # fmt: skip
    tab, klingon = page.mentions
    assert tab.title == "Acme Cloud restores service after outage" and tab.lang == "en"
    assert klingon.lang is None and klingon.author == ""


async def test_no_results_is_an_empty_object(fake_gdelt: FakeGdelt, session: aiohttp.ClientSession) -> None:
    fake_gdelt.answer_next(recorded("empty.json"))
    clock = Clock(T0)
    source = gdelt(session, fake_gdelt, clock)
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 1, "mark": T0 - 86400, "polled": T0, "seen": {},
                                                     "titles": {}}  # fmt: skip
    clock.now = T0 + 900
    fake_gdelt.add_article("https://first.example/a", T0, "Acme Cloud first")  # made as the first poll began
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == ["https://first.example/a"]


async def test_an_error_in_text_with_http_200_is_a_bad_response(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    fake_gdelt.answer_next(recorded_text("error.txt"))
    with pytest.raises(BadResponse, match="The specified phrase is too short"):
        await gdelt(session, fake_gdelt).search(Q, None, SINCE)


async def test_retries_keep_gdelts_five_seconds(fake_gdelt: FakeGdelt, session: aiohttp.ClientSession) -> None:
    fake_gdelt.add_article("https://a.example/acme", T0, "Acme Cloud")
    fake_gdelt.fail_next(500)
    fake_gdelt.fail_next(502, body="<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    page = await gdelt(session, fake_gdelt).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["https://a.example/acme"] and len(fake_gdelt.requests) == 3
    assert fake_gdelt.refused == 0  # retries too keep GDELT's 5 s


async def test_a_start_older_than_three_months_is_moved_up(
    fake_gdelt: FakeGdelt, session: aiohttp.ClientSession
) -> None:
    await gdelt(session, fake_gdelt).search(Q, None, datetime.fromtimestamp(NOW - 400 * 86400, UTC))
    assert windows(fake_gdelt)[0][0] == param(NOW - 89 * 86400)


async def test_a_broken_cursor_is_a_bad_response(fake_gdelt: FakeGdelt, session: aiohttp.ClientSession) -> None:
    for cursor in ("not json", "[]", '{"seen": {}}'):
        with pytest.raises(BadResponse):
            await gdelt(session, fake_gdelt).search(Q, cursor, SINCE)
    assert fake_gdelt.requests == []
    with pytest.raises(BadResponse):  # titles that are not an object
        await gdelt(session, fake_gdelt).search(Q, '{"mark": 1, "seen": {}, "titles": []}', SINCE)


def test_the_cursor_keeps_the_newest_urls_and_titles_up_to_the_cap() -> None:
    many = {f"k{i}": i for i in range(sweep.MAX_SEEN + 10)}
    state = json.loads(sweep.dump({"mark": 1, "seen": many, "titles": many, "other": many}, trimmed=TRIMMED))
    assert state["v"] == 1 and len(state["other"]) == sweep.MAX_SEEN + 10
    for name in TRIMMED:
        assert len(state[name]) == sweep.MAX_SEEN and min(state[name].values()) == 10
    going = sweep.begin({"mark": 100, "seen": {}, "floor": 40, "new": {"a": 50}}, 30, 0.0, ("new", "new_titles"))
    assert going["floor"] == 40 and going["new"] == {"a": 50} and going["new_titles"] == {}
    fresh = sweep.begin({"mark": 100, "seen": {}}, 30, 0.0, ("new", "new_titles"))
    assert fresh["floor"] == 70 and fresh["new"] == fresh["new_titles"] == {}
