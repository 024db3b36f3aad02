"""Text from the internet made safe for Slack: escaped for mrkdwn (no ping, no forged link), invisible and
control characters dropped, cut within Slack's limits without breaking an entity or a link, and links
whose label is their domain."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

TEXT_LIMIT = 3000
URL_LIMIT = 2000

_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# Terminal escapes (CSI and OSC), C0/C1 controls but tab and newline, bidi overrides that reorder text,
# and the invisible characters that hide or disguise text: zero-width spaces and joiners, the LRM, RLM
# and ALM marks, word joiners and invisible operators, the byte order mark, soft hyphens, fillers, and
# Unicode tag characters (text no one sees). Emoji joined by a zero-width joiner fall apart into their parts.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2060-\u2064\u206a-\u206f"
    "\u3164\ufeff\uffa0\U000e0000-\U000e007f"
)
_CONTROL = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    rf"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069{_INVISIBLE}]"
)
_HIDDEN = re.compile(rf"[{_INVISIBLE}\u202a-\u202e\u2066-\u2069]")
_URL_UNSAFE = re.compile(r"[\s|<>\"`\\^{}]")
_FENCE = re.compile(r"`{3,}")


def escape_mrkdwn(text: str) -> str:
    """Escape text from the internet for mrkdwn: no mention, channel ping or link can come through."""
    text = _CONTROL.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A word joiner after @ keeps "@channel" readable but never a broadcast.
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


def cut(text: str, limit: int) -> str:
    """Shorten mrkdwn to at most limit characters with "…", never splitting an &entity; or a <link>."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    head = text[: limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    opening = head.rfind("<")  # escaped text has none: this is one of our own links
    if opening != -1 and ">" not in head[opening:]:
        head = head[:opening]
    return head + "…"


def safe_text(text: str, limit: int) -> str:
    """Escape and cut in one step."""
    return cut(escape_mrkdwn(text), limit)


def inline(text: Any, limit: int) -> str:
    """Escape a one-line value (a name, a platform, a term): whitespace runs, newlines included, become one space."""
    return cut(" ".join(escape_mrkdwn(str(text)).split()), limit)


def safe_url(url: str) -> str | None:
    """The URL ready to put inside <…|…>, or None if it is not a plain http(s) URL (or hides characters
    in its host: a link is never made to a look-alike of the domain it shows)."""
    try:
        host = urlsplit(url.strip()).netloc
    except ValueError:
        return None
    if _HIDDEN.search(host):
        return None
    url = _CONTROL.sub("", url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what would end the link or start a label (|, <, >, spaces); & is escaped as everywhere.
    url = _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url).replace("&", "&amp;")
    return url if len(url) <= URL_LIMIT else None


def link(url: str, label: str) -> str:
    """A mrkdwn link for an http(s) URL; any other URL is shown as escaped text, never linked."""
    target = safe_url(url)
    if target is None:
        return inline(url, 200)
    return f"<{target}|{inline(label, 200).replace('|', '¦') or 'link'}>"


def domain(url: str) -> str:
    """The host a link leads to, as a label: non-ASCII names in their punycode form (xn--...), so a
    look-alike of a known domain does not pass for it; "link" when there is none."""
    target = safe_url(url)
    try:
        host = urlsplit(target.replace("&amp;", "&")).hostname if target else None
    except ValueError:
        host = None
    if not host:
        return "link"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def code(text: str, limit: int) -> str:
    """Escaped text in a ``` block that nothing inside can close early."""
    body = _FENCE.sub(lambda m: "\u200b".join(m.group()), safe_text(text, limit)).strip("\n") or " "
    return f"```{body}```"


def mrkdwn(text: str, limit: int = TEXT_LIMIT) -> dict[str, Any]:
    """A mrkdwn text object; verbatim, so Slack auto-links and auto-parses nothing we did not mark up."""
    return {"type": "mrkdwn", "text": cut(text, limit) or " ", "verbatim": True}
