"""Slack: escaping, Block Kit rendering within limits, and delivery against a fake Slack Web API."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from monitor.slack.delivery import ConsoleDelivery, DeliveryError, SlackDelivery
from monitor.slack.escape import _HIDDEN, cut, escape_mrkdwn, link
from monitor.slack.render import render_blocks, render_console
from tests.fakes.base import ServerFactory
from tests.fakes.slack import TOKEN, FakeSlack
from tests.helpers.events import event

LIVE = re.compile(r"<[!@#]|<https?:|<mailto:|@(channel|here|everyone)\b", re.IGNORECASE)


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


def unescape(text: str) -> str:
    return text.replace("@\u2060", "@").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf"))))
def test_escaping_round_trips(raw: str) -> None:
    # Everything comes back but the invisible characters, which are dropped on purpose.
    assert unescape(escape_mrkdwn(raw)) == _HIDDEN.sub("", raw)


def test_ampersands_and_entities_survive() -> None:
    assert escape_mrkdwn("AT&T &lt;not a tag&gt;") == "AT&amp;T &amp;lt;not a tag&amp;gt;"


@given(st.text(alphabet="ab<>&", max_size=60), st.integers(1, 40))
def test_cut_never_breaks_an_entity(raw: str, limit: int) -> None:
    short = cut(escape_mrkdwn(raw), limit)
    assert len(short) <= limit
    assert not re.search(r"&(a|am|amp|l|lt|g|gt)?…$", short)


@given(st.lists(st.one_of(st.text(alphabet="ab <>&|", max_size=20), st.text(alphabet="ab&", max_size=20).map(
    lambda path: link(f"https://x.example/{path}", "open"))), max_size=6), st.integers(1, 120))  # fmt: skip
def test_cut_never_leaves_half_a_link(parts: list[str | Any], limit: int) -> None:
    text = " ".join(p if p.startswith("<https://") else escape_mrkdwn(p) for p in parts)
    short = cut(text, limit)
    assert len(short) <= limit
    assert short.count("<") == short.count(">")
    assert not re.search(r"&(a|am|amp|l|lt|g|gt)?…$", short)


def test_links_only_for_safe_http_urls() -> None:
    assert link("https://example.org/a?b=1&c=2", "open") == "<https://example.org/a?b=1&amp;c=2|open>"
    assert link("HTTP://example.org/", "open") == "<HTTP://example.org/|open>"
    assert link("javascript:alert(1)", "open") == "javascript:alert(1)"  # shown, never linked
    assert link("mailto:<!channel>", "open") == "mailto:&lt;!channel&gt;"
    assert link("https:///no-host", "open") == "https:///no-host"
    assert link("", "open") == ""
    assert link("https://ok.example", "a|b") == "<https://ok.example|a¦b>"


def test_urls_are_sanitized_inside_links() -> None:
    assert link("https://evil.example|click", "open") == "<https://evil.example%7Cclick|open>"
    assert link("https://x.example/a>b<c", "x") == "<https://x.example/a%3Eb%3Cc|x>"
    assert link("https://x.example/a b\tc", "x") == "<https://x.example/a%20b%09c|x>"
    assert link("https://x.example/" + "a" * 3000, "x").startswith("https://x.example/aaa")  # too long to link


def mrkdwn_objects(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                found.append(obj)
    return found


def test_opened_alert_blocks_in_order() -> None:
    text, blocks = render_blocks(event())
    types = [b["type"] for b in blocks]
    # The sentence, what it is about, the posts, the drafts; the raw figures last, in a small details line.
    assert types == ["header", "section", "section", "divider", "section", "section", "divider", "section",
                     "section", "context", "actions"]  # fmt: skip
    assert blocks[1]["text"]["text"].startswith("*37 negative posts in the last hour (since 13:05 UTC); usually")
    assert blocks[2]["text"]["text"] == "*About:* outage, login · mostly on Hacker News (54%)"
    assert blocks[7]["text"]["text"].startswith("*Holding statement* (outage)\n```We're aware.```")
    details = blocks[9]["elements"][0]["text"]
    assert details.startswith("Details: count 37 · expected 6.100 · ratio 6.070 · p 1.2e-12")
    assert "hackernews 20, reddit 17" in details and "Count" not in visible(blocks[:9])
    assert all(obj["verbatim"] is True for obj in mrkdwn_objects(blocks))  # Slack parses nothing on its own
    assert [e["value"] for e in blocks[-1]["elements"]] == ["negative-spike/acme/20261124T1400Z"] * 5
    assert "negative-spike" in blocks[0]["text"]["text"] and "Acme Cloud" in blocks[0]["text"]["text"]
    shown = visible(blocks)
    for expected in ("37 negative posts", "1.2e-12", "negative share 80%", "hackernews 20",
                     "outage, login", "+3 near-identical", "very negative", "1.2k followers", "<https://www.reddit.com/r/x/comments/a/|www.reddit.com>",
                     "We're aware.", "Hi jane, sorry."):  # fmt: skip
        assert expected in shown, expected
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["ack", "snooze_1h", "snooze_4h", "snooze_24h", "noise"]
    assert text.startswith("[high] negative-spike for Acme Cloud: 37 negative")


def test_hostile_mention_is_rendered_harmless() -> None:
    hostile = {"platform": "reddit", "id": "x", "author": "<@U999>", "compound": -0.5, "similar": 0,
               "text": "<!channel> look <https://evil|click> @here", "url": "javascript:alert(1)"}  # fmt: skip
    text, blocks = render_blocks(event(top=[hostile], terms=["<!here>"]))
    shown = visible(blocks) + text
    assert not LIVE.search(shown)
    assert "&lt;!channel&gt;" in shown and "&lt;https://evil|click&gt;" in shown


def test_multiline_and_fenced_text_cannot_forge_lines() -> None:
    forged = {"platform": "reddit\n*Resolved*", "id": "x", "author": "jane\n> *Acknowledged by @pr-lead*",
              "text": "line one\n\n*Resolved* after 1m", "url": "https://a.example"}  # fmt: skip
    drafts = {"topic": "outage", "holding": "Hi ```\n<!channel> *fake*", "replies": []}
    _, blocks = render_blocks(event(top=[forged], drafts=drafts))
    mention = next(b["text"]["text"] for b in blocks if "jane" in b.get("text", {}).get("text", ""))
    assert mention.count("\n") == 1 and "jane > *Acknowledged" not in mention.split("\n")[1]
    holding = next(b["text"]["text"] for b in blocks if "Holding statement" in b.get("text", {}).get("text", ""))
    body = holding.split("\n", 1)[1]
    assert body.startswith("```") and body.endswith("```") and "```" not in body[3:-3]
    assert "&lt;!channel&gt;" in body


def test_empty_figures_and_many_drafts_stay_valid() -> None:
    replies = [{"platform": "reddit", "mention": str(i), "text": f"reply {i}"} for i in range(80)]
    top = [dict(event()["top"][0], id=str(i)) for i in range(40)]
    _, blocks = render_blocks(event(figures={}, top=top, drafts={"topic": "x", "holding": "", "replies": replies}))
    assert len(blocks) <= 50 and blocks[-1]["type"] == "actions"
    assert all(b.get("fields", True) for b in blocks)  # no empty fields list: Slack rejects it
    assert all(obj["text"] for obj in mrkdwn_objects(blocks))


def test_limits_hold_for_huge_mentions() -> None:
    huge = {
        "platform": "x",
        "id": "1",
        "author": "a" * 5000,
        "text": "&<" * 10_000,
        "url": "https://x.example/" + "a" * 1500,
    }
    drafts = {"topic": "t" * 5000, "holding": "h" * 10_000, "replies": [{"platform": "x", "text": "r" * 10_000}]}
    text, blocks = render_blocks(
        event(top=[huge] * 5, summary="s" * 5000, brand_name="B" * 400, terms=["t" * 5000] * 50, drafts=drafts)
    )
    assert len(text) <= 4000
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(json.dumps(blocks)) < 50_000
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
    mention = next(b["text"]["text"] for b in blocks if "x.example" in json.dumps(b))
    assert f"<{huge['url']}|x.example>" in mention  # the link is whole, never cut in half


def test_update_and_resolved_are_short() -> None:
    _, update = render_blocks(event("updated", growth=0.6))
    assert "Update:" in update[0]["text"]["text"] and "up 60%" in update[0]["text"]["text"]
    assert not any(b["type"] in ("header", "actions") for b in update)
    assert "*Latest top mentions*" in visible(update)
    _, resolved = render_blocks(event("resolved"))
    assert len(resolved) == 1 and "Resolved* after 1h20m, peak 37" in resolved[0]["text"]["text"]


def test_console_rendering_strips_control_characters() -> None:
    hostile = {"platform": "hn", "id": "1", "author": "x\x1b[31m", "author_followers": 2_500_000, "compound": -0.5,
               "text": "red\x1b[0m text\x07 \x1b]8;;https://evil\x07link\x1b]8;;\x07 \u202eevil\rover",
               "url": "https://a"}  # fmt: skip
    out = render_console(event(top=[hostile]))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", out)
    assert "- [hn] x (2.5M followers) negative: red text link evilover" in out
    assert out.startswith("=== HIGH · negative-spike · Acme Cloud")
    assert "holding statement (outage): We're aware." in out
    assert "reply draft (reddit): Hi jane, sorry." in out
    assert "    about: outage, login · mostly on Hacker News (54%)" in out
    assert out.rstrip().endswith(
        "details: count 37 · expected 6.100 · ratio 6.070 · p 1.2e-12 · sentiment mean -0.520"
        " · negative share 80% · window 1h · hackernews 20, reddit 17"
    )


async def test_slack_delivery_posts_and_threads(fake_slack: FakeSlack) -> None:
    delivery = SlackDelivery(TOKEN, "#pr-alerts", fake_slack.url)
    try:
        root = await delivery.send(event(), None)
        reply = await delivery.send(event("updated"), root)
        done = await delivery.send({k: v for k, v in event("resolved").items() if k != "outbox_id"}, root)
    finally:
        await delivery.aclose()
    first, second, third = await fake_slack.wait_for_messages(3)
    assert first["channel"] == "#pr-alerts" and "thread_ts" not in first and first["ts"] == root
    assert first["blocks"] == render_blocks(event())[1] and first["text"].startswith("[high] negative-spike")
    assert first["metadata"] == {
        "event_type": "monitor_alert",
        "event_payload": {"outbox_id": 7, "incident": "negative-spike/acme/20261124T1400Z"},
    }
    assert second["thread_ts"] == root and reply == second["ts"] and second["reply_broadcast"] is False
    assert third["thread_ts"] == root and done == third["ts"] and "metadata" not in third
    assert root < reply < done
    assert delivery.channel_id == "C0123"


async def test_slack_rate_limit_is_retried(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(429)  # Retry-After: 0
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


async def test_slack_errors_that_need_a_person(fake_slack: FakeSlack) -> None:
    delivery = SlackDelivery(TOKEN, "#nope", fake_slack.url)
    try:
        for error in ("channel_not_found", "msg_too_long", "missing_scope"):
            fake_slack.fail_next(error)
            with pytest.raises(DeliveryError) as info:
                await delivery.send(event(), None)
            assert not info.value.retryable and error in str(info.value), error
        fake_slack.fail_next(429, times=3)  # more than the client's retries
        with pytest.raises(DeliveryError) as info:
            await delivery.send(event(), None)
        assert info.value.retryable and not info.value.maybe_sent and "ratelimited" in str(info.value)
    finally:
        await delivery.aclose()
    assert fake_slack.messages == [] and TOKEN not in str(info.value)


async def test_slack_unreachable_is_retryable_and_surely_not_sent(aiohttp_server: ServerFactory) -> None:
    server = await aiohttp_server(web.Application())
    url = str(server.make_url("/api/"))
    await server.close()  # nothing listens there any more
    delivery = SlackDelivery(TOKEN, "#pr-alerts", url)
    try:
        with pytest.raises(DeliveryError) as info:
            await delivery.send(event(), None)
    finally:
        await delivery.aclose()
    assert info.value.retryable and not info.value.maybe_sent and "cannot connect" in str(info.value)


async def test_console_delivery() -> None:
    stream = io.StringIO()
    delivery = ConsoleDelivery(stream)
    ts = await delivery.send(event(), None)
    assert await delivery.send(event("resolved"), ts) == ts
    assert "=== HIGH" in stream.getvalue() and "--- resolved" in stream.getvalue()


HIDDEN = "\u200b\u200c\u200d\u200e\u200f\u061c\u2060\u2063\ufeff\u00ad\U000e0041"


def test_invisible_characters_are_stripped_and_links_show_where_they_go() -> None:
    top = [
        {"platform": "reddit", "id": "a", "author": f"ja{HIDDEN}ne", "text": f"Ac{HIDDEN}me is d{HIDDEN}own",
         "url": f"https://www.reddit.com/r/x/{HIDDEN}a/", "compound": -0.8},
        {"platform": "x", "id": "b", "author": "mallory", "text": "see this", "url": "https://www.rеddit.com/r/x/"},
        {"platform": "x", "id": "c", "author": "eve", "text": "and this", "url": f"https://www.red{HIDDEN}dit.com/"},
    ]  # fmt: skip
    text, blocks = render_blocks(event(top=top, terms=[f"out{HIDDEN}age"]))
    shown = text + json.dumps(blocks, ensure_ascii=False)
    assert not any(ch in shown for ch in HIDDEN if ch != "\u2060")  # U+2060 is ours, after an @ only
    assert "\u2060" not in shown.replace("@\u2060", "")
    assert "Acme is down" in shown and "jane" in shown and "outage" in shown
    # Each link is labelled with its domain ("open" told the reader nothing); a look-alike domain shows
    # its punycode form, and a host that hides characters is not linked at all.
    assert "<https://www.reddit.com/r/x/a/|www.reddit.com>" in shown
    assert "<https://www.rеddit.com/r/x/|www.xn--rddit-zwe.com>" in shown
    assert "<https://www.reddit.com/|" not in shown and "https://www.reddit.com/" in shown


def test_a_top_post_says_why_it_is_negative_escaped() -> None:
    top = {**event()["top"][0], "label": "negative", "compound": -0.9, "confidence": 0.92,
           "why": ["down again", "<!channel> lost", "refund"]}  # fmt: skip
    text = render_console(event(top=[top]))
    assert "jane (1.2k followers) very negative (92% sure: down again, <!channel> lost, refund)" in text
    blocks = visible(render_blocks(event(top=[top])))
    assert "(92% sure: down again, &lt;!channel&gt; lost, refund)" in blocks and "<!channel>" not in blocks
