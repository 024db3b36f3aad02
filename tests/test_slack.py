"""Slack: escaping, Block Kit rendering within limits, and delivery against a fake Slack Web API."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.render import cut, escape_mrkdwn, link, render_blocks, render_console
from monitor.slack import ConsoleDelivery, DeliveryError, SlackDelivery
from tests.fakes.slack import TOKEN, FakeSlack

LIVE = re.compile(r"<[!@#]|<https?:|<mailto:|@(channel|here|everyone)\b", re.IGNORECASE)


def event(kind: str = "opened", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": kind, "outbox_id": 7, "incident": "negative-spike/acme/20261124T1400Z", "rule": "negative-spike",
        "kind": "spike", "severity": "high", "brand": "acme", "brand_name": "Acme Cloud",
        "at": "2026-11-24T14:05:00Z", "opened_at": "2026-11-24T14:05:00Z", "window": "1h",
        "summary": "37 negative mentions in the last hour, 6.1x the usual 6.1 for a Tuesday at 13:00",
        "figures": {"count": 37, "expected": 6.1, "ratio": 6.07, "p_value": 1.2e-12, "sentiment_mean": -0.52,
                    "negative_share": 0.8},
        "platforms": {"hackernews": 20, "reddit": 17}, "terms": ["outage", "login"],
        "top": [{"platform": "reddit", "id": "t3_a", "author": "jane", "author_followers": 1200,
                 "text": "Acme is down", "title": "", "url": "https://www.reddit.com/r/x/comments/a/",
                 "compound": -0.81, "similar": 3}],
        "drafts": {"topic": "outage", "holding": "We're aware.", "replies": [{"platform": "reddit",
                   "mention": "t3_a", "text": "Hi jane, sorry."}]},
        "peak_count": 37, "resolved_after": "1h20m",
    }  # fmt: skip
    return {**base, **overrides}


def visible(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_escaping_makes_pings_and_links_harmless() -> None:
    text = escape_mrkdwn("<!channel> hi <@U123> <#C1> <https://evil.example|click> @here & @everyone")
    assert text.startswith("&lt;!channel&gt; hi &lt;@U123&gt; &lt;#C1&gt; &lt;https://evil.example|click&gt;")
    assert "@\u2060here" in text and "@\u2060everyone" in text and "&amp;" in text
    assert not LIVE.search(text)


@given(st.text())
def test_no_text_escapes_into_a_live_sequence(raw: str) -> None:
    escaped = escape_mrkdwn(raw)
    assert "<" not in escaped and ">" not in escaped
    assert not LIVE.search(escaped)


@given(st.text(alphabet="ab<>&", max_size=60), st.integers(1, 40))
def test_cut_never_breaks_an_entity(raw: str, limit: int) -> None:
    short = cut(escape_mrkdwn(raw), limit)
    assert len(short) <= limit
    assert not re.search(r"&(a|am|amp|l|lt|g|gt)?…$", short)


def test_links_only_for_safe_http_urls() -> None:
    assert link("https://example.org/a?b=1&c=2", "open") == "<https://example.org/a?b=1&amp;c=2|open>"
    assert link("javascript:alert(1)", "open") == "open"
    assert link("https://evil.example|click", "open") == "open"
    assert link("https://x.example/a>b", "x") == "x"
    assert link("https://ok.example", "a|b") == "<https://ok.example|a¦b>"


def test_opened_alert_blocks_in_order() -> None:
    text, blocks = render_blocks(event())
    types = [b["type"] for b in blocks]
    assert types[0] == "header" and types[-1] == "actions"
    assert "negative-spike" in blocks[0]["text"]["text"] and "Acme Cloud" in blocks[0]["text"]["text"]
    shown = visible(blocks)
    for expected in ("37 negative mentions", "*Count*\\n37", "*Ratio*\\n6.07", "1.2e-12", "80%", "hackernews 20",
                     "outage, login", "+3 near-identical", "1.2k followers", "<https://www.reddit.com/r/x/comments/a/|open>",
                     "We're aware.", "Hi jane, sorry."):  # fmt: skip
        assert expected in shown, expected
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["ack", "snooze_1h", "noise"]
    assert text.startswith("[high] negative-spike for Acme Cloud: 37 negative")


def test_hostile_mention_is_rendered_harmless() -> None:
    hostile = {"platform": "reddit", "id": "x", "author": "<@U999>", "compound": -0.5, "similar": 0,
               "text": "<!channel> look <https://evil|click> @here", "url": "javascript:alert(1)"}  # fmt: skip
    text, blocks = render_blocks(event(top=[hostile], terms=["<!here>"]))
    shown = visible(blocks) + text
    assert not LIVE.search(shown)
    assert "&lt;!channel&gt;" in shown and "&lt;https://evil|click&gt;" in shown


def test_limits_hold_for_huge_mentions() -> None:
    huge = {
        "platform": "x",
        "id": "1",
        "author": "a" * 5000,
        "text": "&<" * 10_000,
        "url": "https://x.example/" + "a" * 5000,
    }
    _, blocks = render_blocks(event(top=[huge] * 5, summary="s" * 5000, brand_name="B" * 400))
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000


def test_update_and_resolved_are_short() -> None:
    _, update = render_blocks(event("updated", growth=0.6))
    assert "Update:" in update[0]["text"]["text"] and "up 60%" in update[0]["text"]["text"]
    assert not any(b["type"] in ("header", "actions") for b in update)
    _, resolved = render_blocks(event("resolved"))
    assert len(resolved) == 1 and "Resolved* after 1h20m, peak 37" in resolved[0]["text"]["text"]


def test_console_rendering_strips_control_characters() -> None:
    hostile = {"platform": "hn", "id": "1", "author": "x\x1b[31m", "text": "red\x1b[0m text\x07", "url": "https://a"}
    out = render_console(event(top=[hostile]))
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("=== HIGH · negative-spike · Acme Cloud")
    assert "holding statement (outage): We're aware." in out


async def test_slack_delivery_posts_and_threads(fake_slack: FakeSlack) -> None:
    delivery = SlackDelivery(TOKEN, "#pr-alerts", fake_slack.url)
    try:
        root = await delivery.send(event(), None)
        reply = await delivery.send(event("updated"), root)
    finally:
        await delivery.aclose()
    first, second = fake_slack.messages
    assert first["channel"] == "#pr-alerts" and "thread_ts" not in first and first["ts"] == root
    assert first["blocks"][0]["type"] == "header"
    assert first["metadata"]["event_payload"] == {"outbox_id": 7, "incident": "negative-spike/acme/20261124T1400Z"}
    assert second["thread_ts"] == root and reply == second["ts"]


async def test_slack_rate_limit_is_retried(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(429, body='{"ok": false, "error": "ratelimited"}', headers={"Retry-After": "0"})
    delivery = SlackDelivery(TOKEN, "#pr-alerts", fake_slack.url)
    try:
        await delivery.send(event(), None)
    finally:
        await delivery.aclose()
    assert len(fake_slack.messages) == 1 and len(fake_slack.requests) == 2


async def test_slack_errors_say_whether_to_retry(fake_slack: FakeSlack) -> None:
    delivery = SlackDelivery("xoxb-wrong-token-value", "#pr-alerts", fake_slack.url)
    with pytest.raises(DeliveryError) as info:
        await delivery.send(event(), None)
    assert not info.value.retryable and "invalid_auth" in str(info.value)
    assert "xoxb-wrong-token-value" not in str(info.value)
    await delivery.aclose()
    delivery = SlackDelivery(TOKEN, "#pr-alerts", fake_slack.url, retries=1)
    fake_slack.fail_next(500)
    with pytest.raises(DeliveryError) as info:
        await delivery.send(event(), None)
    assert info.value.retryable and info.value.maybe_sent  # a 5xx may come after Slack posted
    assert len(fake_slack.requests) == 2  # not retried by the client: the outbox looks first, then retries
    fake_slack.errors.append("not_in_channel")
    with pytest.raises(DeliveryError) as info:
        await delivery.send(event(), None)
    assert not info.value.retryable and not info.value.maybe_sent
    assert "invite it there with /invite" in str(info.value)
    await delivery.aclose()


async def test_console_delivery() -> None:
    stream = io.StringIO()
    delivery = ConsoleDelivery(stream)
    ts = await delivery.send(event(), None)
    assert await delivery.send(event("resolved"), ts) == ts
    assert "=== HIGH" in stream.getvalue() and "--- resolved" in stream.getvalue()
