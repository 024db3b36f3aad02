"""How an alert event reads: Slack Block Kit (escaped, within Slack's limits) and plain console text."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from monitor.slack.escape import (
    _CONTROL,
    code,
    cut,
    domain,
    inline,
    link,
    mrkdwn,
    safe_text,
)

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FALLBACK_LIMIT = 3000  # Slack truncates text over 4,000 characters; stay well under
MAX_BLOCKS = 50
SNIPPET = 280
SEVERITY_EMOJI = {
    "low": ":large_blue_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":red_circle:",
    "critical": ":rotating_light:",
}


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _reach(followers: Any) -> str:
    if not isinstance(followers, int) or isinstance(followers, bool):
        return ""
    if followers >= 1_000_000:
        return f" ({followers / 1e6:.1f}M followers)"
    if followers >= 1000:
        return f" ({followers / 1e3:.1f}k followers)"
    return f" ({followers} followers)"


def _score(m: dict[str, Any]) -> str:
    """The post's tone in a word (its score is in the event for whoever wants it): its label, "very
    negative" when its compound is low too (events from before labels were in them: by the compound)."""
    compound = m.get("compound")
    if not isinstance(compound, (int, float)) or isinstance(compound, bool):
        return ""
    label = m.get("label") if m.get("label") in ("negative", "neutral", "positive") else None
    if label is None:
        label = "negative" if compound <= -0.05 else "positive" if compound >= 0.05 else "neutral"
    return "very negative" if label == "negative" and compound <= -0.6 else str(label)


def _why(m: dict[str, Any], escape: Callable[[Any, int], str]) -> str:
    """Why the post got its label, when the alert explains it: "(92% sure: down, lost orders)"."""
    why, confidence = m.get("why"), m.get("confidence")
    if not why or not isinstance(why, list) or not isinstance(confidence, (int, float)):
        return ""
    return f"({confidence:.0%} sure: {', '.join(escape(w, 40) for w in why[:3])})"


def _mention_line(m: dict[str, Any]) -> str:
    author = inline(m.get("author") or "someone", 80).replace("|", "¦")
    parts = [f"*{inline(m.get('platform', ''), 40)}*", f"{author}{_reach(m.get('author_followers'))}", _score(m)]
    parts.append(_why(m, inline))
    if isinstance(m.get("similar"), int) and m["similar"] > 0:
        parts.append(f"+{m['similar']} near-identical")
    url = str(m.get("url") or "")
    parts.append(link(url, domain(url)))  # the reader sees where the link goes
    text = " ".join(str(m.get(k) or "") for k in ("title", "text"))
    snippet = inline(text, SNIPPET)
    return cut(" · ".join(p for p in parts if p) + (f"\n> {snippet}" if snippet else ""), SECTION_LIMIT)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text, SECTION_LIMIT)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def _platforms(platforms: dict[str, Any]) -> str:
    return " · ".join(f"{inline(p, 40)} {inline(n, 20)}" for p, n in list(platforms.items())[:20])


def fallback(event: dict[str, Any]) -> str:
    """The notification text (shown where blocks are not)."""
    kind = event["event"]
    summary = safe_text(str(event.get("summary", "")), 1000)
    if kind == "digest":
        return cut(f"{inline(event.get('title', ''), 200)}: {summary}", FALLBACK_LIMIT)
    name = inline(event.get("brand_name") or event["brand"], 200)
    prefix = {"opened": f"[{inline(event.get('severity', ''), 20)}]", "updated": "Update:", "resolved": "Resolved:"}
    return cut(f"{prefix[kind]} {inline(event['rule'], 200)} for {name}: {summary}", FALLBACK_LIMIT)


def details(event: dict[str, Any]) -> str:
    """The raw figures, for whoever wants them: one line, kept out of the sentences a PR reader reads."""
    figures = event.get("figures") or {}
    p_value, share = figures.get("p_value"), figures.get("negative_share")
    fields = [
        ("count", figures.get("count")),
        ("expected", figures.get("expected", figures.get("threshold"))),
        ("ratio", figures.get("ratio")),
        ("p", f"{p_value:.2g}" if isinstance(p_value, float) else p_value),
        ("sentiment mean", figures.get("sentiment_mean")),
        ("negative share", f"{share:.0%}" if isinstance(share, (int, float)) else share),
        ("window", event.get("window")),
        ("dispersion", figures.get("dispersion")),
    ]
    shown = [f"{name} {_plain(_number(value, 3))}" for name, value in fields if value is not None]
    if event.get("platforms"):
        shown.append(", ".join(f"{_plain(p)} {_plain(n)}" for p, n in list(event["platforms"].items())[:20]))
    return " · ".join(shown)


def _details(event: dict[str, Any]) -> list[dict[str, Any]]:
    text = details(event)
    return [_context(f"Details: {inline(text, 2000)}")] if text else []


def _about(event: dict[str, Any]) -> str:
    return str(event.get("about") or ", ".join(str(t) for t in event.get("terms") or []))


# Snooze buttons: action id -> seconds. The incident id rides in every button's value.
SNOOZES = {"snooze_1h": 3600, "snooze_4h": 4 * 3600, "snooze_24h": 24 * 3600}
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


def _button(action_id: str, label: str, value: str, style: str = "") -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}
    return {**button, "style": style} if style else button


def _buttons(incident: str, done: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge, Snooze 1h/4h/24h and Not relevant; those already done are left out."""
    value = incident[:2000]
    elements = [] if "acknowledged" in done else [_button("ack", "Acknowledge", value, "primary")]
    elements += [_button(a, f"Snooze {a.removeprefix('snooze_')}", value) for a in SNOOZES]
    if "noise" not in done:
        elements.append(_button("noise", "Not relevant", value, "danger"))
    return {"type": "actions", "block_id": f"incident:{len(done)}", "elements": elements}


def who(user: dict[str, Any]) -> str:
    """A Slack user as mrkdwn: a <@U…> mention when the id looks like one, else the escaped name."""
    user_id = str(user.get("id") or "")
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else inline(user.get("name") or "someone", 80)


def _done(event: dict[str, Any]) -> list[dict[str, Any]]:
    """What people did from Slack, as context lines above the buttons."""
    lines = []
    for key, what in (("acknowledged", ":eyes: Acknowledged"), ("noise", ":wastebasket: Marked not relevant")):
        done = event.get(key)
        if isinstance(done, dict):
            lines.append(_context(f"{what} by {who(done.get('user') or {})} at {inline(done.get('at', ''), 40)}"))
    return lines


def _mention(event: dict[str, Any], mention: str) -> str:
    """The configured @-mention, for openings and updates nobody has acknowledged yet."""
    if not mention or event["event"] not in ("opened", "updated"):
        return ""
    return "" if event.get("handled") or event.get("acknowledged") or event.get("noise") else mention


def _fit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_BLOCKS blocks; the buttons stay when the middle is dropped."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = blocks[-1:] if blocks[-1]["type"] == "actions" else []
    return blocks[: MAX_BLOCKS - len(tail)] + tail


def render_blocks(event: dict[str, Any], mention: str = "") -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) for an alert event; mention (config's, trusted) pings until handled."""
    text, blocks = _render_blocks(event)
    ping = _mention(event, mention)
    if ping:
        text = cut(f"{ping} {text}", FALLBACK_LIMIT)
        blocks = _fit([_section(ping), *blocks])
    return text, blocks


def _render_blocks(event: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    kind = event["event"]
    summary = safe_text(str(event.get("summary", "")), 1000)
    blocks: list[dict[str, Any]] = []
    if kind == "digest":
        return fallback(event), _digest_blocks(event, summary)
    if kind == "resolved":
        after, peak = inline(event.get("resolved_after", "?"), 50), inline(event.get("peak_count", "?"), 20)
        blocks.append(_section(f":white_check_mark: *Resolved* after {after}, peak {peak}. {summary}"))
        return fallback(event), blocks
    if kind == "opened":
        emoji = SEVERITY_EMOJI.get(str(event.get("severity")), "")
        brand = _plain(event.get("brand_name") or event["brand"])
        title = f"{emoji} {_plain(event.get('severity', '')).upper()} · {_plain(event['rule'])} · {brand}".strip()
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": cut(title, HEADER_LIMIT)}})
        blocks.append(_section(f"*{summary}*"))
    else:
        growth = event.get("growth")
        grown = f" (up {growth:.0%} since the last post)" if isinstance(growth, (int, float)) else ""
        again = ":warning: *Firing again.* " if event.get("reopened") else ""
        blocks.append(_section(f"{again}*Update:* {summary}{grown}"))
    if _about(event):
        blocks.append(_section("*About:* " + inline(_about(event), 1000)))
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
        topic = inline(drafts.get("topic", ""), 60)
        blocks.append(_section(f"*Holding statement* ({topic})\n{code(str(drafts.get('holding', '')), 2500)}"))
        for reply in (drafts.get("replies") or [])[:10]:
            where = inline(reply.get("platform", ""), 40)
            blocks.append(_section(f"*Reply on {where}*\n{code(str(reply.get('text', '')), 2500)}"))
    blocks.extend(_details(event))
    if kind == "opened":
        done = _done(event)
        blocks = _fit([*blocks[: MAX_BLOCKS - len(done) - 1], *done])
        blocks.append(_buttons(str(event.get("incident", "")), {k: 1 for k in ("acknowledged", "noise") if k in event}))
    return fallback(event), _fit(blocks)


def _digest_blocks(event: dict[str, Any], summary: str) -> list[dict[str, Any]]:
    title = _plain(event.get("title", "")) or "Digest"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(title, HEADER_LIMIT)}},
        _section(summary),
    ]
    platforms = event.get("platforms") or {}
    if platforms:
        blocks.append(_context(_platforms(platforms)))
    incidents = event.get("incidents") or []
    lines = [
        f"• {inline(i['rule'], 100)} opened {inline(i['opened_at'], 40)}, peak {inline(i['peak_count'], 20)}"
        f" ({inline(i['status'], 20)})"
        for i in incidents[:20]
    ]
    blocks.append(_section("*Incidents:* " + ("none" if not lines else "\n" + "\n".join(lines))))
    top = event.get("top") or []
    if top:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Top posts*"))
        blocks.extend(_section(_mention_line(m)) for m in top[:5])
    return _fit(blocks)


def _plain(text: Any) -> str:
    return " ".join(_CONTROL.sub("", str(text)).split())


def render_console(event: dict[str, Any]) -> str:
    """A readable plain-text rendering of an alert event for the terminal."""
    kind = event["event"]
    if kind == "digest":
        return _digest_console(event)
    rule, brand = _plain(event["rule"]), _plain(event.get("brand_name") or event["brand"])
    at = _plain(event.get("when") or event["at"])
    lines = []
    if kind == "opened":
        lines.append(f"=== {_plain(event.get('severity', '')).upper()} · {rule} · {brand} · {at} ===")
    elif kind == "updated":
        lines.append(f"--- update · {rule} · {brand} · {at}{' (firing again)' if event.get('reopened') else ''}")
    else:
        lines.append(
            f"--- resolved · {rule} · {brand} · {at} after {_plain(event.get('resolved_after'))},"
            f" peak {_plain(event.get('peak_count'))}"
        )
    lines.append(f"    {_plain(event.get('summary', ''))}")
    if kind == "resolved":
        return "\n".join(lines) + "\n"
    if isinstance(event.get("growth"), (int, float)):
        lines.append(f"    up {event['growth']:.0%} since the last post")
    if _about(event):
        lines.append(f"    about: {_plain(_about(event))}")
    for m in (event.get("top") or [])[: 5 if kind == "opened" else 3]:
        similar = f" (+{m['similar']} near-identical)" if isinstance(m.get("similar"), int) and m["similar"] > 0 else ""
        score = " ".join(p for p in ("", _score(m), _why(m, lambda w, n: _plain(w)[:n])) if p)
        score = f" {score}" if score else ""
        who = f"{_plain(m.get('author') or 'someone')}{_reach(m.get('author_followers'))}"
        text = _plain(" ".join(str(m.get(k) or "") for k in ("title", "text")))[:SNIPPET]
        lines.append(f"    - [{_plain(m.get('platform'))}] {who}{score}{similar}: {text}")
        if m.get("url"):
            lines.append(f"      {_plain(m['url'])}")
    drafts = event.get("drafts")
    if drafts:
        lines.append(f"    holding statement ({_plain(drafts.get('topic'))}): {_plain(drafts.get('holding', ''))}")
        for reply in drafts.get("replies") or []:
            lines.append(f"    reply draft ({_plain(reply.get('platform'))}): {_plain(reply.get('text', ''))}")
    if details(event):
        lines.append(f"    details: {details(event)}")
    return "\n".join(lines) + "\n"


def _digest_console(event: dict[str, Any]) -> str:
    lines = [f"=== {_plain(event.get('title', ''))} ===", f"    {_plain(event.get('summary', ''))}"]
    if event.get("platforms"):
        lines.append("    platforms: " + ", ".join(f"{_plain(p)} {_plain(n)}" for p, n in event["platforms"].items()))
    incidents = event.get("incidents") or []
    lines.append(f"    incidents: {len(incidents) or 'none'}")
    lines += [
        f"    - {_plain(i['rule'])} opened {_plain(i['opened_at'])}, peak {_plain(i['peak_count'])}"
        f" ({_plain(i['status'])})"
        for i in incidents
    ]
    for m in (event.get("top") or [])[:5]:
        text = _plain(" ".join(str(m.get(k) or "") for k in ("title", "text")))[:140]
        lines.append(f"    * [{_plain(m.get('platform'))}] {_plain(m.get('author'))}: {text}")
    return "\n".join(lines) + "\n"
