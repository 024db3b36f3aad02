"""Slack faults against the outbox: long outages, rate limits, 5xx, refusals that need a person, and
a message Slack refuses for good (a dead letter, so that it does not hold back every later alert)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.commands.status import status_text
from monitor.loading import load_config
from monitor.slack.delivery import SlackDelivery
from monitor.slack.outbox import BACKOFF_CAP, OutboxWorker
from monitor.store import Store
from tests.fakes.base import ServerFactory, serve
from tests.fakes.slack import TOKEN, FakeSlack
from tests.helpers.clock import Clock
from tests.helpers.events import event

T0 = 1_795_500_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "monitor.db")
    yield opened
    opened.close()


@pytest.fixture
async def delivery(fake_slack: FakeSlack) -> AsyncIterator[SlackDelivery]:
    slack = SlackDelivery(TOKEN, "C0123", fake_slack.url)
    yield slack
    await slack.aclose()


def enqueue(store: Store, n: int, clock: Clock, incident: str = "volume/acme/1") -> list[int]:
    ids = []
    for i in range(n):
        with store.transaction():
            kind = "opened" if i == 0 else "updated"
            ids.append(store.enqueue(incident, event(kind, incident=incident, summary=f"event {i}"), clock.now))
        clock.now += 1
    return ids


def posted_ids(fake: FakeSlack) -> list[int]:
    return [int(m["metadata"]["event_payload"]["outbox_id"]) for m in fake.messages]


async def drain_until_empty(worker: OutboxWorker, clock: Clock, rounds: int = 50) -> None:
    for _ in range(rounds):
        await worker.drain()
        due = worker.next_due()
        if due is None:
            return
        clock.now = max(clock.now, due) + 0.1
    raise AssertionError("the outbox never emptied")


async def test_slack_down_for_long_keeps_everything_and_drains_oldest_first(
    aiohttp_server: ServerFactory, store: Store, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    clock = Clock(T0)
    dead = SlackDelivery(TOKEN, "C0123", "http://127.0.0.1:9/api/")  # nothing listens there: refused
    worker = OutboxWorker(store, dead, clock)
    written: list[int] = []
    for hour in range(12):  # twelve hours of alerts written while Slack is unreachable
        written += enqueue(store, 3, clock, incident=f"volume/acme/{hour}")
        await worker.drain()
        clock.now += 3600
    await dead.aclose()
    assert store.outbox_size() == len(written) == 36
    assert [i.id for i in store.pending(limit=100)] == written  # kept, in order
    failing = [r for r in caplog.records if "alert delivery failing" in r.getMessage()]
    assert len(failing) == 1  # logged once, not once per attempt
    fake = FakeSlack()
    await serve(fake, fake.app, aiohttp_server, "/api/")
    fake.fail_next(429, times=2)  # it comes back throttling: slack-sdk waits Retry-After, then goes on
    back = SlackDelivery(TOKEN, "C0123", fake.url)
    worker.delivery = back
    await drain_until_empty(worker, clock)
    await back.aclose()
    assert posted_ids(fake) == written  # every one, once, oldest first
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_a_429_storm_backs_off_and_delivers_each_once(
    fake_slack: FakeSlack, delivery: SlackDelivery, store: Store
) -> None:
    clock = Clock(T0)
    written = enqueue(store, 4, clock)
    fake_slack.fail_next(429, times=7)  # more than slack-sdk retries (2): the outbox backs off
    worker = OutboxWorker(store, delivery, clock)
    assert await worker.drain() < 4
    due = worker.next_due()
    assert due is not None and due > clock.now  # backing off
    await drain_until_empty(worker, clock)
    assert posted_ids(fake_slack) == written


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_retried_after_looking_for_the_post(
    fake_slack: FakeSlack, delivery: SlackDelivery, store: Store, status: int
) -> None:
    clock = Clock(T0)
    written = enqueue(store, 3, clock)
    fake_slack.fail_next(status, body="<html>upstream error</html>", content_type="text/html")
    fake_slack.lose_answers = 1  # and one post whose answer is lost after Slack posted it
    worker = OutboxWorker(store, delivery, clock)
    await drain_until_empty(worker, clock)
    assert posted_ids(fake_slack) == written  # nothing twice, nothing lost, in order
    history = [r for r in fake_slack.requests if r.path.endswith("conversations.history")]
    assert history  # it looked before sending again


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel", "token_revoked"])
async def test_a_refusal_that_needs_a_person_keeps_every_alert_until_fixed(
    fake_slack: FakeSlack, delivery: SlackDelivery, store: Store, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(T0)
    written = enqueue(store, 3, clock)
    fake_slack.fail_next(error, times=5)
    worker = OutboxWorker(store, delivery, clock)
    for _ in range(5):
        await worker.drain()
        due = worker.next_due()
        assert due is not None and due - clock.now >= BACKOFF_CAP * 0.99  # waits the full 15 minutes
        clock.now = due + 1
    assert store.outbox_size() == 3 and store.count_dead_letters() == 0  # nothing thrown away
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and error in errors[0] and TOKEN not in errors[0]
    await drain_until_empty(worker, clock)  # fixed: everything goes, in order
    assert posted_ids(fake_slack) == written


@pytest.mark.parametrize("error", ["msg_too_long", "invalid_blocks"])
async def test_a_message_refused_for_good_becomes_a_dead_letter_and_the_rest_go_on(
    fake_slack: FakeSlack, delivery: SlackDelivery, store: Store, error: str, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(T0)
    written = enqueue(store, 4, clock)
    fake_slack.errors = [error]  # the first (oldest) one is refused
    worker = OutboxWorker(store, delivery, clock)
    assert await worker.drain() == 3  # the others went in the same drain: not held back
    assert posted_ids(fake_slack) == written[1:]
    assert store.outbox_size() == 0 and store.count_dead_letters() == 1
    ((item_id, incident, kind, _, why),) = store.dead_letters()
    assert (item_id, incident, kind) == (written[0], "volume/acme/1", "opened") and error in why
    assert len([r for r in caplog.records if "dead letter" in r.getMessage()]) == 1
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "config.toml").write_text('[monitor]\ndatabase = "monitor.db"\n[[brands]]\nid = "acme"\n'
                                          'name = "Acme"\nqueries = ["acme"]\n')  # fmt: skip
    text = status_text(load_config(tmp_path / "config.toml"), store, None, now=clock.now)
    assert "dead letters: 1" in text and error in text and "volume/acme/1" in text


async def test_outbox_ids_are_never_reused(store: Store) -> None:
    clock = Clock(T0)
    (first,) = enqueue(store, 1, clock)
    store.delivered(first)  # the outbox is empty again
    (second,) = enqueue(store, 1, clock)
    assert second > first  # a post's metadata names its outbox id: a reused one would match an old post


async def test_fixing_the_channel_and_reloading_sends_what_waits_at_once(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.loading import load_all
    from monitor.service.daemon import Daemon
    from tests.faults.conftest import daemon_config

    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    config_path = daemon_config(tmp_path, "http://127.0.0.1:9/api/v1/", fake_slack.url)
    config, rules = load_all(str(config_path))
    clock = Clock(T0)
    daemon = Daemon(config, rules, config_path, clock=clock)
    try:
        written = enqueue(daemon.store, 2, clock)
        fake_slack.fail_next("channel_not_found")
        assert await daemon.outbox.drain() == 0
        due = daemon.outbox.next_due()
        assert due is not None and due - clock.now >= BACKOFF_CAP * 0.99
        config_path.write_text(config_path.read_text().replace('channel = "C0123"', 'channel = "#pr-alerts"'))
        daemon.scheduler.start(paused=True)  # reload pauses and resumes it, as in a running daemon
        assert await daemon.reload()
        daemon.scheduler.pause()
        assert daemon.outbox.next_due() == clock.now  # due now, not in 15 minutes
        assert await daemon.outbox.drain() == 2
        assert posted_ids(fake_slack) == written
    finally:
        if daemon.scheduler.running:
            daemon.scheduler.shutdown(wait=False)
        await daemon.close()
