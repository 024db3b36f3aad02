"""How an alert event reads: Slack Block Kit (escaped, within Slack's limits) and plain console text."""

from __future__ import annotations

import re
from typing import Any

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
TEXT_LIMIT = 3000
MAX_BLOCKS = 50
SNIPPET = 280
SEVERITY_EMOJI = {"low": ":large_blue_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:",
                  "critical": ":rotating_light:"}  # fmt: skip
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SAFE_URL = re.compile(r"https?://[^\s<>|\"`]+", re.IGNORECASE)


def escape_mrkdwn(text: str) -> str:
    """Escape text from the internet for mrkdwn: no mention, channel ping or link can come through."""
    text = _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A word joiner after @ keeps "@channel" readable but never a broadcast.
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


def cut(text: str, limit: int) -> str:
    """Shorten escaped text to at most limit characters with "…", never splitting an &entity;."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - 1)]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def safe_text(text: str, limit: int) -> str:
    """Escape and cut in one step."""
    return cut(escape_mrkdwn(text), limit)


def link(url: str, label: str) -> str:
    """A mrkdwn link for an http(s) URL; anything else becomes escaped plain text."""
    label = escape_mrkdwn(label).replace("|", "¦")
    if not url or not _SAFE_URL.fullmatch(url):
        return label
    return f"<{url.replace('&', '&amp;')}|{label}>"


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _reach(followers: Any) -> str:
    if not isinstance(followers, int):
        return ""
    if followers >= 1_000_000:
        return f" ({followers / 1e6:.1f}M followers)"
    if followers >= 1000:
        return f" ({followers / 1e3:.1f}k followers)"
    return f" ({followers} followers)"


def _mention_line(m: dict[str, Any]) -> str:
    author = escape_mrkdwn(str(m.get("author") or "someone")).replace("|", "¦")
    parts = [f"*{escape_mrkdwn(str(m.get('platform', '')))}*", f"{author}{_reach(m.get('author_followers'))}"]
    if m.get("compound") is not None:
        parts.append(f"score {m['compound']:+.2f}")
    if m.get("similar"):
        parts.append(f"+{m['similar']} near-identical")
    parts.append(link(str(m.get("url") or ""), "open"))
    text = " ".join(str(m.get(k) or "") for k in ("title", "text")).strip()
    snippet = safe_text(" ".join(text.split()), SNIPPET)
    return cut(" · ".join(parts) + f"\n> {snippet}", SECTION_LIMIT)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT)}}


def fallback(event: dict[str, Any]) -> str:
    """The notification text (shown where blocks are not)."""
    kind = event["event"]
    if kind == "digest":
        return cut(
            f"{escape_mrkdwn(str(event.get('title', '')))}: {safe_text(str(event.get('summary', '')), 1000)}", 3000
        )
    name = escape_mrkdwn(str(event.get("brand_name") or event["brand"]))
    prefix = {"opened": f"[{event.get('severity', '')}]", "updated": "Update:", "resolved": "Resolved:"}[kind]
    return cut(f"{prefix} {event['rule']} for {name}: {safe_text(str(event.get('summary', '')), 1000)}", 3000)


def render_blocks(event: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for an alert event."""
    kind = event["event"]
    figures = event.get("figures") or {}
    summary = safe_text(str(event.get("summary", "")), 1000)
    blocks: list[dict[str, Any]] = []
    if kind == "digest":
        return fallback(event), _digest_blocks(event, summary)
    if kind == "resolved":
        blocks.append(_section(f":white_check_mark: *Resolved* after {event.get('resolved_after', '?')}, "
                               f"peak {event.get('peak_count', '?')}. {summary}"))  # fmt: skip
        return fallback(event), blocks
    if kind == "opened":
        emoji = SEVERITY_EMOJI.get(str(event.get("severity")), "")
        title = f"{emoji} {str(event.get('severity', '')).upper()} · {event['rule']} · {event.get('brand_name')}"
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": cut(title, HEADER_LIMIT)}})
        blocks.append(_section(f"*{summary}*"))
    else:
        growth = event.get("growth")
        grown = f" (up {growth:.0%} since the last post)" if isinstance(growth, float) else ""
        again = ":warning: *Firing again.* " if event.get("reopened") else ""
        blocks.append(_section(f"{again}*Update:* {summary}{grown}"))
    fields = [
        ("Count", figures.get("count")),
        ("Expected", figures.get("expected", figures.get("threshold"))),
        ("Ratio", figures.get("ratio")),
        ("p-value", f"{figures['p_value']:.2g}" if isinstance(figures.get("p_value"), float) else None),
        ("Sentiment mean", figures.get("sentiment_mean")),
        ("Negative share", f"{figures['negative_share']:.0%}" if figures.get("negative_share") is not None else None),
    ]
    blocks.append({"type": "section", "fields": [
        {"type": "mrkdwn", "text": cut(f"*{name}*\n{_number(value, 2)}", FIELD_LIMIT)}
        for name, value in fields if value is not None
    ]})  # fmt: skip
    platforms = event.get("platforms") or {}
    context = [f"window {event.get('window', '')}"]
    if platforms:
        context.append(" · ".join(f"{escape_mrkdwn(str(p))} {n}" for p, n in platforms.items()))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(" | ".join(context), TEXT_LIMIT)}]})
    if event.get("terms"):
        blocks.append(_section("*What it's about:* " + ", ".join(escape_mrkdwn(str(t)) for t in event["terms"])))
    top = event.get("top") or []
    if top:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Top mentions*" if kind == "opened" else "*Latest top mentions*"))
        blocks.extend(_section(_mention_line(m)) for m in top[: 5 if kind == "opened" else 3])
    first = event.get("first_high_reach")
    if first:
        blocks.append(_section("*Started by:* " + _mention_line(first)))
    drafts = event.get("drafts")
    if drafts:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Holding statement* ({escape_mrkdwn(str(drafts.get('topic', '')))})\n```"
                               f"{safe_text(str(drafts.get('holding', '')), 2500)}```"))  # fmt: skip
        for reply in drafts.get("replies", []):
            blocks.append(_section(f"*Reply on {escape_mrkdwn(str(reply.get('platform', '')))}*\n```"
                                   f"{safe_text(str(reply.get('text', '')), 2500)}```"))  # fmt: skip
    if kind == "opened":
        value = str(event.get("incident", ""))[:2000]
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": "ack", "text": {"type": "plain_text", "text": "Acknowledge"},
             "style": "primary", "value": value},
            {"type": "button", "action_id": "snooze_1h", "text": {"type": "plain_text", "text": "Snooze 1h"},
             "value": value},
            {"type": "button", "action_id": "noise", "text": {"type": "plain_text", "text": "Not relevant"},
             "style": "danger", "value": value},
        ]})  # fmt: skip
    return fallback(event), blocks[:MAX_BLOCKS]


def _digest_blocks(event: dict[str, Any], summary: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(str(event.get("title", "")), HEADER_LIMIT)}},
        _section(summary),
    ]
    platforms = event.get("platforms") or {}
    if platforms:
        text = " · ".join(f"{escape_mrkdwn(str(p))} {n}" for p, n in platforms.items())
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, TEXT_LIMIT)}]})
    incidents = event.get("incidents") or []
    lines = [f"• {escape_mrkdwn(str(i['rule']))} opened {i['opened_at']}, peak {i['peak_count']} ({i['status']})"
             for i in incidents[:20]]  # fmt: skip
    blocks.append(_section("*Incidents:* " + ("none" if not lines else "\n" + "\n".join(lines))))
    top = event.get("top") or []
    if top:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Top posts*"))
        blocks.extend(_section(_mention_line(m)) for m in top[:5])
    return blocks[:MAX_BLOCKS]


def _plain(text: Any) -> str:
    return " ".join(_CONTROL.sub("", str(text)).split())


def render_console(event: dict[str, Any]) -> str:
    """A readable plain-text rendering of an alert event for the terminal."""
    kind = event["event"]
    if kind == "digest":
        return _digest_console(event)
    rule, brand = event["rule"], _plain(event.get("brand_name") or event["brand"])
    lines = []
    if kind == "opened":
        lines.append(f"=== {str(event.get('severity', '')).upper()} · {rule} · {brand} · {event['at']} ===")
    elif kind == "updated":
        lines.append(
            f"--- update · {rule} · {brand} · {event['at']}{' (firing again)' if event.get('reopened') else ''}"
        )
    else:
        lines.append(f"--- resolved · {rule} · {brand} · {event['at']} after {event.get('resolved_after')},"
                     f" peak {event.get('peak_count')}")  # fmt: skip
    lines.append(f"    {_plain(event.get('summary', ''))}")
    if kind == "resolved":
        return "\n".join(lines) + "\n"
    figures = event.get("figures") or {}
    shown = [f"{k}={figures[k]}" for k in ("count", "expected", "ratio", "p_value", "sentiment_mean", "negative_share")
             if figures.get(k) is not None]  # fmt: skip
    lines.append("    " + "  ".join(shown))
    if event.get("platforms"):
        lines.append("    platforms: " + ", ".join(f"{_plain(p)} {n}" for p, n in event["platforms"].items()))
    if event.get("terms"):
        lines.append("    about: " + ", ".join(_plain(t) for t in event["terms"]))
    for m in (event.get("top") or [])[:5]:
        similar = f" (+{m['similar']} near-identical)" if m.get("similar") else ""
        score = f" {m['compound']:+.2f}" if m.get("compound") is not None else ""
        text = _plain(" ".join(str(m.get(k) or "") for k in ("title", "text")))[:140]
        lines.append(f"    - [{_plain(m.get('platform'))}] {_plain(m.get('author'))}{score}{similar}: {text}")
        if m.get("url"):
            lines.append(f"      {_plain(m['url'])}")
    drafts = event.get("drafts")
    if drafts:
        lines.append(f"    holding statement ({drafts.get('topic')}): {_plain(drafts.get('holding', ''))}")
        for reply in drafts.get("replies", [])[:1]:
            lines.append(f"    reply draft ({reply.get('platform')}): {_plain(reply.get('text', ''))}")
    return "\n".join(lines) + "\n"


def _digest_console(event: dict[str, Any]) -> str:
    lines = [f"=== {_plain(event.get('title', ''))} ===", f"    {_plain(event.get('summary', ''))}"]
    if event.get("platforms"):
        lines.append("    platforms: " + ", ".join(f"{_plain(p)} {n}" for p, n in event["platforms"].items()))
    incidents = event.get("incidents") or []
    lines.append(f"    incidents: {len(incidents) or 'none'}")
    lines += [
        f"    - {_plain(i['rule'])} opened {i['opened_at']}, peak {i['peak_count']} ({i['status']})" for i in incidents
    ]
    for m in (event.get("top") or [])[:5]:
        text = _plain(" ".join(str(m.get(k) or "") for k in ("title", "text")))[:140]
        lines.append(f"    * [{_plain(m.get('platform'))}] {_plain(m.get('author'))}: {text}")
    return "\n".join(lines) + "\n"
