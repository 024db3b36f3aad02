"""Copies of one story across sites and sources: the keys that group them.

Grouping copies. A mention is a copy of an earlier stored one of the same brand, created within
GROUP_WINDOW of it, when either key matches: its canonical URL (scheme, "www."/"m."/"amp." host
prefixes, default ports, trailing slashes, an /amp ending, the fragment and tracking parameters
removed; the other parameters sorted), or its normalised title (lowercase, accents and punctuation
removed, a trailing " - Publisher" or " | Publisher" dropped) when that has at least
MIN_TITLE_WORDS words and one of the two is news or they are on different platforms (the same
headline on a news site and on Reddit, or on Reddit and Hacker News, is one story shared; two
Reddit posts titled "Is Acme Cloud down right now for anyone else" are two people asking).
Body text is not a key: people who write the same words are each a voice.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit

from monitor.mention import Mention

GROUP_WINDOW = 3 * 86400.0
MIN_TITLE_WORDS = 5
NEWS_PLATFORMS = frozenset({"newsapi", "gdelt", "rss"})
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "igsh",
        "si",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "source",
        "src",
        "cmpid",
        "cmp",
        "s_cid",
        "ocid",
        "ncid",
        "sr_share",
        "share",
        "smid",
        "taid",
        "ito",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "at_medium",
        "at_campaign",
        "spm",
        "feature",
        "fromrss",
        "rss",
        "output",
        "cid",
        "campaign",
        "intcmp",
        "xtor",
        "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "ga_", "__")
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_WORD = re.compile(r"[^\W_]+")
_PUBLISHER = re.compile(r"\s+[-|\u2013\u2014]\s+(?P<name>[^-|\u2013\u2014]+)$")


def canonical_url(url: str) -> str:
    """The URL without what varies between shares of one page ("" for anything not http(s))."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    host = parts.hostname.lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    path = re.sub(r"/+", "/", parts.path or "/")
    path = re.sub(r"(/amp|\.amp|/index\.html?)$", "", path, flags=re.IGNORECASE).rstrip("/")
    kept = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(_TRACKING_PREFIXES)
    )
    return host + path + (f"?{urlencode(kept)}" if kept else "")


def normalised_title(title: str) -> str:
    """The title as syndicated copies share it ("" when too short to tell stories apart)."""
    text = unicodedata.normalize("NFKD", title.strip())
    text = "".join(c for c in text if not unicodedata.combining(c))
    match = _PUBLISHER.search(text)
    if match and len(match.group("name").split()) <= 5:
        text = text[: match.start()]
    words = _WORD.findall(text.lower())
    return " ".join(words) if len(words) >= MIN_TITLE_WORDS else ""


def same_story_by_title(platform: str, other: str) -> bool:
    """Whether equal titles on these two platforms make their mentions one story (see above)."""
    return platform != other or platform in NEWS_PLATFORMS


def group_keys(mention: Mention) -> tuple[str, str]:
    """(canonical URL, normalised title) of a mention; either may be ""."""
    return _group_keys(mention.url, mention.title)


@functools.lru_cache(maxsize=4096)
def _group_keys(url: str, title: str) -> tuple[str, str]:
    # Cached: an ingest reads a mention's keys twice (linking copies, then the row), close together.
    return (canonical_url(url) if url else ""), (normalised_title(title) if title else "")
