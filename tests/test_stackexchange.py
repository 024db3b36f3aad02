"""Stack Exchange against a fake /2.3/search/excerpts: gzip, mapping, sliding windows, restarts, backoff, quota."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sources.base import AuthError, BadResponse, RateLimited
from monitor.sources.stackexchange import StackExchange, site_domain
from tests.fakes import USER_AGENT, drain, make_source
from tests.fakes.stackexchange import FakeStackExchange, recorded
from tests.helpers.clock import Clock

T0 = 1_795_500_000  # 2026-11-24T06:00:00Z
NOW = T0 + 122_400  # 2026-11-25 16:00 UTC: the moment the tests poll, unless they move a clock
SINCE = datetime.fromtimestamp(T0 - 86400, UTC)
Q = "acme cloud"


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STACKEXCHANGE_KEY", raising=False)


def se(
    session: aiohttp.ClientSession, fake: FakeStackExchange, clock: Clock | None = None, **options: object
) -> StackExchange:
    source: StackExchange = make_source(StackExchange, session, fake, clock or Clock(NOW), **options)
    return source


def windows(fake: FakeStackExchange) -> list[tuple[str, str | None, str]]:
    return [(r.query["fromdate"], r.query.get("todate"), r.query["page"]) for r in fake.requests]


async def test_a_poll_maps_recorded_items_from_a_gzip_answer(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    fake_stackexchange.items = recorded()["items"] + recorded("search_excerpts_more.json")["items"]
    page = await se(session, fake_stackexchange, Clock(1795533301)).search(Q, None, SINCE)
    answer, question, sdk = page.mentions
    assert answer.id == "a79200455" and answer.url == "https://stackoverflow.com/a/79200455"
    # An answer's title is its question's: not the answer's own text.
    assert answer.title == "" and answer.text == (
        "Same here since 14:00 UTC. Acme Cloud's status page finally admits it:\n502 Bad Gateway & retries fail"
    )
    assert answer.likes == 4 and answer.replies == 0 and answer.platform == "stackexchange"
    assert answer.created_at == datetime.fromtimestamp(1795533301, UTC)
    assert question.id == "q79200410" and question.url == "https://stackoverflow.com/q/79200410"
    assert question.title == "Acme Cloud load balancer returns 502 since this afternoon"
    assert (
        question.text
        == 'Every request to our Acme Cloud load balancer returns a 502 since about 14:00.\nIs it "just us"?'
    )
    assert question.likes == 3 and question.replies == 1
    assert question.author == "" and question.author_followers is None and question.lang is None
    # Without a body (the default filter may leave it out) the excerpt is the text, highlights removed.
    assert sdk.title == "Timeout & retries in the Acme Cloud <Python> SDK"
    assert sdk.text == "How do I set a timeout in the Acme Cloud SDK & retry? …"
    (request,) = fake_stackexchange.requests
    assert request.path == "/2.3/search/excerpts" and request.headers["User-Agent"] == USER_AGENT
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.query == {"q": Q, "site": "stackoverflow", "sort": "creation", "order": "desc",
                             "fromdate": str(T0 - 86400), "pagesize": "100", "page": "1"}  # fmt: skip
    assert not page.more
    assert json.loads(page.cursor) == {"v": 1, "mark": 1795533301, "seen": {"a79200455": 1795533301}}


@pytest.mark.parametrize(
    ("site", "domain"),
    [("stackoverflow", "stackoverflow.com"), ("unix", "unix.stackexchange.com"), ("superuser", "superuser.com"),
     ("mathoverflow.net", "mathoverflow.net"), ("askubuntu", "askubuntu.com")],
)  # fmt: skip
def test_permalinks_use_the_sites_domain(site: str, domain: str) -> None:
    assert site_domain(site) == domain


async def test_options_reach_the_request_and_the_permalink(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    fake_stackexchange.add_question(7, T0, "Acme Cloud on Unix")
    source = se(session, fake_stackexchange, site="unix", filter="!nNPvSNdWme", page_size=30)
    page = await source.search(Q, None, SINCE)
    assert page.mentions[0].url == "https://unix.stackexchange.com/q/7"
    query = fake_stackexchange.requests[0].query
    assert (query["site"], query["filter"], query["pagesize"]) == ("unix", "!nNPvSNdWme", "30")


async def test_windows_slide_down_then_only_what_is_new(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    for i in range(250):
        fake_stackexchange.add_question(1000 + i, T0 + i * 60, f"Acme Cloud question {i}")
    clock = Clock(T0 + 249 * 60)  # polled when the newest post came: the watermark's own rule
    source = se(session, fake_stackexchange, clock)
    mentions, cursor, pages = await drain(source, Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert pages == 3 and len(ids) == len(set(ids)) == 250
    start = str(T0 - 86400)
    assert windows(fake_stackexchange) == [(start, None, "1"), (start, str(T0 + 150 * 60), "1"),
                                           (start, str(T0 + 51 * 60), "1")]  # fmt: skip
    repeats = [i for i, n in Counter(fake_stackexchange.served_ids()).items() if n > 1]
    assert sorted(repeats) == ["q1051", "q1150"]  # only each window's edge second, dropped by id
    again, cursor, pages = await drain(source, Q, cursor, SINCE)
    assert again == [] and pages == 1 and windows(fake_stackexchange)[-1] == (str(T0 + 249 * 60 - 600), None, "1")
    fake_stackexchange.add_answer(5000, 1249, T0 + 249 * 60 - 100, "<p>Acme Cloud indexed late</p>")
    fake_stackexchange.add_question(5001, T0 + 99999, "Acme Cloud newer")
    clock.now = T0 + 100_000
    fresh, cursor, _ = await drain(source, Q, cursor, SINCE)
    assert sorted(m.id for m in fresh) == ["a5000", "q5001"]
    assert (await drain(source, Q, cursor, SINCE))[0] == []


async def test_more_posts_in_one_second_than_a_page_holds(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    for i in range(5):
        fake_stackexchange.add_question(100 + i, T0, f"Acme Cloud same second {i}")
    fake_stackexchange.add_question(1, T0 - 1, "Acme Cloud older")
    fake_stackexchange.add_question(999, T0 + 1, "Acme Cloud newest")
    mentions, _, _ = await drain(se(session, fake_stackexchange, page_size=2), Q, None, SINCE)
    ids = [m.id for m in mentions]
    assert len(ids) == len(set(ids)) == 7


async def test_backoff_in_the_body_blocks_the_next_request(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    for i in range(150):
        fake_stackexchange.add_question(1000 + i, T0 + i * 60, f"Acme Cloud {i}")
    clock = Clock(T0 + 86400)
    source = se(session, fake_stackexchange, clock)
    fake_stackexchange.backoff_next = 10
    first = await source.search(Q, None, SINCE)
    assert first.more and len(first.mentions) == 100  # the page that carried the backoff is kept
    with pytest.raises(RateLimited) as info:
        await source.search(Q, first.cursor, SINCE)
    assert info.value.retry_after == 10 and len(fake_stackexchange.requests) == 1
    clock.now += 10
    rest, _, _ = await drain(source, Q, first.cursor, SINCE)
    assert len(first.mentions + rest) == 150


async def test_a_spent_quota_blocks_until_the_next_utc_day(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0 + 3600)  # 07:00 UTC
    source = se(session, fake_stackexchange, clock)
    fake_stackexchange.answer_next(recorded("quota_exhausted.json"))
    page = await source.search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["q79200499"]
    with pytest.raises(RateLimited) as info:
        await source.search(Q, page.cursor, SINCE)
    assert info.value.retry_after == 17 * 3600 and len(fake_stackexchange.requests) == 1
    clock.now += 17 * 3600
    await source.search(Q, page.cursor, SINCE)
    assert len(fake_stackexchange.requests) == 2


@pytest.mark.parametrize("status", [400, 502])
async def test_a_throttle_violation_blocks_for_the_time_it_names(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession, status: int
) -> None:
    clock = Clock(T0)
    source = se(session, fake_stackexchange, clock)
    fake_stackexchange.answer_next(recorded("throttle_violation.json"), status=status)
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 7200
    with pytest.raises(RateLimited):
        await source.search(Q, None, SINCE)
    assert len(fake_stackexchange.requests) == 1  # a 502 throttle is not retried
    clock.now += 7200
    await source.search(Q, None, SINCE)
    assert len(fake_stackexchange.requests) == 2


async def test_the_fakes_quota_runs_out_into_a_throttle_violation(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    clock = Clock(T0)
    source = se(session, fake_stackexchange, clock)
    fake_stackexchange.quota = 0
    with pytest.raises(RateLimited) as info:
        await source.search(Q, None, SINCE)
    assert info.value.retry_after == 43200


async def test_a_key_goes_in_the_query_and_a_refused_one_names_the_variable(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_stackexchange.keys = {"g00d-k3y(("}
    monkeypatch.setenv("ACME_SE_KEY", "g00d-k3y((")
    await se(session, fake_stackexchange, key_env="ACME_SE_KEY").search(Q, None, SINCE)
    assert fake_stackexchange.requests[-1].query["key"] == "g00d-k3y(("
    monkeypatch.setenv("ACME_SE_KEY", "wr0ng-s3cret")
    with pytest.raises(AuthError) as info:
        await se(session, fake_stackexchange, key_env="ACME_SE_KEY").search(Q, None, SINCE)
    text = str(info.value)
    assert "ACME_SE_KEY" in text and "wr0ng" not in text and "g00d" not in text
    fake_stackexchange.answer_next(recorded("bad_key.json"), status=400)
    with pytest.raises(AuthError, match="ACME_SE_KEY"):
        await se(session, fake_stackexchange, key_env="ACME_SE_KEY").search(Q, None, SINCE)


async def test_no_key_is_fine_and_access_denied_names_the_variable(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    fake_stackexchange.add_question(1, T0, "Acme Cloud")
    await se(session, fake_stackexchange).search(Q, None, SINCE)
    assert "key" not in fake_stackexchange.requests[0].query
    fake_stackexchange.answer_next({"error_id": 403, "error_message": "denied", "error_name": "access_denied"}, 400)
    with pytest.raises(AuthError, match="STACKEXCHANGE_KEY"):
        await se(session, fake_stackexchange).search(Q, None, SINCE)
    fake_stackexchange.fail_next(403, body="<html>Forbidden</html>", content_type="text/html")
    with pytest.raises(AuthError, match="STACKEXCHANGE_KEY"):
        await se(session, fake_stackexchange).search(Q, None, SINCE)


async def test_malformed_items_are_skipped_and_good_ones_kept(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    fake_stackexchange.answer_next(recorded("malformed.json"))
    page = await se(session, fake_stackexchange).search(Q, None, SINCE)
    assert [m.id for m in page.mentions] == ["q79200601", "a79200605"]
    question, answer = page.mentions
    assert question.title == "Acme Cloud & Terraform" and question.text == "" and question.likes == 0
    assert question.replies == 0 and question.author == "José P."  # owner comes with a custom filter
    assert answer.text == "Use the acme provider …" and answer.likes == 2


@pytest.mark.parametrize("status", [400, 200])
async def test_an_error_object_is_a_bad_response(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession, status: int
) -> None:
    fake_stackexchange.answer_next(recorded("bad_parameter.json"), status=status)  # with HTTP 400, or 200
    with pytest.raises(BadResponse):
        await se(session, fake_stackexchange).search(Q, None, SINCE)


async def test_an_empty_first_poll_keeps_the_start(
    fake_stackexchange: FakeStackExchange, session: aiohttp.ClientSession
) -> None:
    fake_stackexchange.answer_next(recorded("empty.json"))
    source = se(session, fake_stackexchange, Clock(T0))
    mentions, cursor, _ = await drain(source, Q, None, SINCE)
    assert mentions == [] and json.loads(cursor) == {"v": 1, "mark": T0 - 86400, "polled": T0, "seen": {}}
    fake_stackexchange.add_question(1, T0, "Acme Cloud first")
    assert [m.id for m in (await drain(source, Q, cursor, SINCE))[0]] == ["q1"]
