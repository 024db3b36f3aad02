"""Numbers and times as a PR reader reads them: "3 h 5 min", "usually under 1 at this time on a Sunday",
"about 1 in 10¹⁶ by chance". The raw figures stay in the alert's details for whoever wants them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, tzinfo

from monitor.mention import ScoredMention

PLATFORM_NAMES = {
    "hackernews": "Hacker News",
    "reddit": "Reddit",
    "x": "X",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "youtube": "YouTube",
    "stackexchange": "Stack Exchange",
    "newsapi": "news sites",
    "gdelt": "news sites",
    "rss": "news feeds",
}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def duration_words(seconds: float) -> str:
    """ "3 h 5 min", "45 min", "2 days 3 h", "under a minute" (to the nearest minute)."""
    minutes = round(max(0.0, seconds) / 60)
    if minutes < 1:
        return "under a minute"
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:  # minutes do not matter once it is days
        hours += round(minutes / 60)
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return " ".join(parts)


def window_words(seconds: float) -> str:
    """ "the last hour", "the last 20 minutes", "the last 3 hours", "the last 1 h 30 min"."""
    minutes = round(seconds / 60)
    if minutes % 1440 == 0:
        n, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        n, unit = minutes // 60, "hour"
    elif minutes < 120:
        n, unit = minutes, "minute"
    else:
        return f"the last {duration_words(seconds)}"
    return f"the last {unit}" if n == 1 else f"the last {n} {unit}s"


def clock_time(ts: float, zone: tzinfo) -> str:
    """ "18:57" in the zone."""
    return f"{datetime.fromtimestamp(ts, zone):%H:%M}"


def zone_name(ts: float, zone: tzinfo) -> str:
    """The zone's abbreviation at ts ("CET", "UTC"), or its UTC offset where it has none."""
    name = datetime.fromtimestamp(ts, zone).tzname() or ""
    return name if name and name[0] not in "+-" else f"UTC{name}"


def since_words(start: float, now: float, zone: tzinfo) -> str:
    """ "since 18:57 CET" for the window that was tested (with the weekday when it began on another day)."""
    begin, end = datetime.fromtimestamp(start, zone), datetime.fromtimestamp(now, zone)
    day = "" if begin.date() == end.date() else f"{begin:%A} "
    return f"since {day}{begin:%H:%M} {zone_name(start, zone)}"


def usual_words(expected: float) -> str:
    """ "usually none", "usually under 1", "usually about 6"."""
    if expected < 0.05:
        return "usually none"
    if expected < 1:
        return "usually under 1"
    return f"usually about {round(expected):,}"


def when_words(start: float, zone: tzinfo, seasonal: bool) -> str:
    """ "at this time on a Sunday" for the window's start, or "on average" without seasonality."""
    if not seasonal:
        return "on average"
    local = datetime.fromtimestamp(start, zone)
    part = (
        "night" if local.hour < 6 else "morning" if local.hour < 12 else "afternoon" if local.hour < 18 else "evening"
    )
    return f"at this time on a {local:%A} {part}" if part == "night" else f"at this time on a {local:%A}"


def odds_words(p_value: float | None) -> str:
    """ "about 1 in 40,000 by chance", "about 1 in 10¹⁶ by chance" ("" when unknown)."""
    if p_value is None or math.isnan(p_value):
        return ""
    if p_value >= 0.05:
        return "well within what chance brings"
    if p_value <= 0:
        return "not something chance brings"
    odds = 1 / p_value
    if odds < 1e6:
        digits = max(0, math.floor(math.log10(odds)) - 1)  # two significant figures
        return f"about 1 in {int(round(odds, -digits)):,} by chance"
    if odds < 1e9:
        return f"about 1 in {round(odds / 1e6):,} million by chance"
    return f"about 1 in 10{str(math.floor(math.log10(odds))).translate(_SUPERSCRIPT)} by chance"


def count_words(count: int, what: str) -> str:
    """ "16 negative posts", "1 negative post"."""
    return f"{count:,} {what}" if count != 1 else f"1 {what.removesuffix('s')}"


def platform_name(platform: str) -> str:
    """How people call a platform ("Hacker News" for hackernews)."""
    return PLATFORM_NAMES.get(platform, platform)


# A platform or an author dominates when it has this share of the incident's posts (and at least MIN_POSTS).
PLATFORM_SHARE = 0.6
AUTHOR_SHARE = 0.25
MIN_POSTS = 3


def about_words(terms: Sequence[str], mentions: Sequence[ScoredMention]) -> str:
    """The "about" line: the distinctive terms, then the platform and the author when one dominates.

    "down, outage · mostly on Hacker News (75%) · 5 posts from sam_r". (A share, not "12 of 16": the
    headline's count leaves out an author's repeats, these posts do not.)
    """
    parts = [", ".join(terms)] if terms else []
    total = len(mentions)
    platforms = Counter(m.mention.platform for m in mentions).most_common(2)
    if platforms and len(platforms) > 1 and platforms[0][1] >= max(MIN_POSTS, PLATFORM_SHARE * total):
        parts.append(f"mostly on {platform_name(platforms[0][0])} ({platforms[0][1] / total:.0%})")
    elif platforms and len(platforms) == 1 and total >= MIN_POSTS:
        parts.append(f"all on {platform_name(platforms[0][0])}")
    authors = Counter(m.mention.author for m in mentions if m.mention.author).most_common(1)
    if authors and authors[0][1] >= max(MIN_POSTS, AUTHOR_SHARE * total):
        parts.append(f"{authors[0][1]} posts from {authors[0][0]}")
    return " · ".join(parts)
