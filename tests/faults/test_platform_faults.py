"""Every fault, on every source, through one fault proxy in front of the source's fake.

Each fault must come out of `search` as one SourceError of the right kind (never another exception),
with a message that names no secret; the source must back off where it was told to and recover
once the fault is gone, with every item the platform holds.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest

from monitor.engine.poll import SourceHealth
from monitor.sources.base import AuthError, BadResponse, RateLimited, SourceError, TransientError
from tests.fakes import drain
from tests.faults.proxy import FAULTS, FaultProxy
from tests.helpers.clock import Clock
from tests.helpers.sources import BY_NAME, QUERY, SINCE, SPECS, T0, Spec, make, texts

EXPECTED: dict[str, type[SourceError]] = {
    "500": TransientError, "502-html": TransientError, "timeout": TransientError, "reset": TransientError,
    "truncated": BadResponse, "wrong-shape": BadResponse, "huge": BadResponse, "401": AuthError, "403": AuthError,
    "429": RateLimited,
}  # fmt: skip


def secrets_of(spec: Spec, fake: Any) -> list[str]:
    return [value(fake) for value in spec.env.values()]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_is_one_clear_error_then_the_source_recovers(
    spec: Spec, fake: Any, fault: str, fault_proxy: FaultProxy, session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    clock = Clock(T0)
    for i in range(3):
        spec.add(fake, i, T0 - 3600 + i * 60)
    # A timeout is waited out on every try: tens of milliseconds here, not the 30 s of config.
    timeout = 0.03 if fault == "timeout" else 5.0
    source = make(spec, fake, fault_proxy.at(fake.url), session, clock, monkeypatch, timeout=timeout)
    fault_proxy.inject(fault, times=3)  # every retry of one request
    error: SourceError | None = None
    try:
        mentions, _, _ = await drain(source, QUERY, None, SINCE)
    except SourceError as exc:
        error = exc
    else:  # only a damaged body may still be read, and then only the items the platform holds
        assert fault in ("truncated", "wrong-shape"), f"{fault} was not noticed"
        assert texts(mentions) <= {"item0", "item1", "item2"}
    expected = EXPECTED[fault]
    if error is not None:
        assert isinstance(error, expected), (fault, type(error), error)
        message = str(error)
        assert "\n" not in message and len(message) < 400
        assert not any(secret in message for secret in secrets_of(spec, fake))
    if fault in ("401", "403") and spec.auth_names:
        assert any(name in str(error) for name in spec.auth_names), error
    if fault == "429":
        assert error is not None and error.retry_after is not None and error.retry_after >= 60
        sent = fault_proxy.requests
        with pytest.raises(RateLimited):  # it backs off: no request until the wait is over
            await source.search(QUERY, None, SINCE)
        assert fault_proxy.requests == sent
    fault_proxy.queued.clear()
    clock.now += 3600  # past any wait the fault asked for
    source.http.timeout = aiohttp.ClientTimeout(total=5.0)  # the recovery must not race a short timeout
    mentions, _, _ = await drain(source, QUERY, None, SINCE)
    assert texts(mentions) == {"item0", "item1", "item2"}


async def test_a_failure_storm_is_logged_once_backs_off_and_the_recovery_once(
    spec: Spec, fake: Any, fault_proxy: FaultProxy, session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(T0)
    spec.add(fake, 0, T0 - 600)
    source = make(spec, fake, fault_proxy.at(fake.url), session, clock, monkeypatch)
    health = SourceHealth(spec.name)
    waits = []
    caplog.set_level(logging.INFO, logger="monitor.engine.poll")
    for storm in ("500", "429", "502-html", "429", "500"):
        fault_proxy.inject(storm, times=3)
        clock.now = max(clock.now, health.not_before) + 1
        assert health.ready(clock.now)
        with pytest.raises(SourceError) as caught:
            await drain(source, QUERY, None, SINCE)
        health.failed(caught.value, clock.now)
        waits.append(health.not_before - clock.now)
        assert not health.ready(clock.now)  # backing off
        fault_proxy.queued.clear()
    assert all(w > 0 for w in waits)
    clock.now = health.not_before + 3600
    mentions, _, _ = await drain(source, QUERY, None, SINCE)
    health.succeeded(clock.now)
    assert texts(mentions) == {"item0"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([w for w in warnings if "polls failing" in w]) == 1, warnings
    assert len([w for w in warnings if "recovered" in w]) == 1, warnings
    assert not health.paused


async def test_credentials_refused_pause_only_that_source(
    spec: Spec, fake: Any, fault_proxy: FaultProxy, session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch, fake_hn: Any, fake_reddit: Any, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    clock = Clock(T0)
    source = make(spec, fake, fault_proxy.at(fake.url), session, clock, monkeypatch)
    fault_proxy.inject("401", times=3)
    health = SourceHealth(spec.name)
    with pytest.raises(AuthError) as caught:
        await drain(source, QUERY, None, SINCE)
    health.failed(caught.value, clock.now)
    assert health.paused and not health.ready(clock.now + 86400)
    paused = [r.getMessage() for r in caplog.records if "paused" in r.getMessage()]
    assert len(paused) == 1 and spec.name in paused[0]
    # Another source, on its own fake, is untouched by it.
    other = BY_NAME["hackernews" if spec.name != "hackernews" else "reddit"]
    other_fake = fake_hn if other.name == "hackernews" else fake_reddit
    other.add(other_fake, 7, T0 - 600)
    mentions, _, _ = await drain(make(other, other_fake, other_fake.url, session, clock, monkeypatch),
                                 QUERY, None, SINCE)  # fmt: skip
    assert texts(mentions) == {"item7"}


@pytest.mark.parametrize("spec", [s.name for s in SPECS if s.name != "rss"], indirect=True)
async def test_a_partly_bad_page_keeps_every_good_item(
    spec: Spec, fake: Any, fault_proxy: FaultProxy, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(T0)
    for i in range(4):
        spec.add(fake, i, T0 - 3600 + i * 60)
    source = make(spec, fake, fault_proxy.at(fake.url), session, clock, monkeypatch)
    fault_proxy.inject("damaged-item")  # the first object of the answer's list has nulls and lists for values
    mentions, _, _ = await drain(source, QUERY, None, SINCE)
    assert len(texts(mentions)) >= 3, texts(mentions)
