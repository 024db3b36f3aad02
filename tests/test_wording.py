"""Alert text as a PR reader reads it: durations, the tested window's times in the configured zone,
counts against the usual and the odds, in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alerts.events import resolution, summary
from monitor.mention import Mention, ScoredMention
from monitor.rules.detectors import Evaluation
from monitor.rules.model import MatchSpec, Rule, SpikeDetect
from monitor.wording import about_words, duration_words, odds_words, since_words, usual_words, window_words

BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 6 December 2026, 19:57 in Berlin (CET, UTC+1): the alert stamped 19:57.
NOW = datetime(2026, 12, 6, 19, 57, tzinfo=BERLIN).timestamp()
RULE = Rule("negative-spike", "spike", Path("rules/negative-spike.toml"), SpikeDetect(),
            match=MatchSpec(sentiment="negative"))  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (3 * 3600 + 5 * 60, "3 h 5 min"),
        (3 * 3600 + 5, "3 h"),  # the "after 3h5s"
        (3 * 3600 - 1, "3 h"),  # a fast clock's 2h59m59s
        (45 * 60, "45 min"),
        (20, "under a minute"),
        (2 * 86400 + 3 * 3600 + 10 * 60, "2 days 3 h"),
        (86400, "1 day"),
    ],
)
def test_durations_read_in_hours_and_minutes(seconds: float, words: str) -> None:
    assert duration_words(seconds) == words


def test_windows_read_as_spans() -> None:
    assert [window_words(s) for s in (3600, 1200, 600, 3 * 3600, 90 * 60, 86400)] == [
        "the last hour", "the last 20 minutes", "the last 10 minutes", "the last 3 hours", "the last 90 minutes",
        "the last day",
    ]  # fmt: skip


def test_times_are_the_tested_window_in_the_configured_zone() -> None:
    # The alert at 19:57 over the last hour names the window's start, not the hour bucket (not "18:00").
    assert since_words(NOW - 3600, NOW, BERLIN) == "since 18:57 CET"
    assert since_words(NOW - 1200, NOW, BERLIN) == "since 19:37 CET"
    # A window that began the day before says which day.
    just_after_midnight = datetime(2026, 12, 7, 0, 10, tzinfo=BERLIN).timestamp()
    assert since_words(just_after_midnight - 3600, just_after_midnight, BERLIN) == "since Sunday 23:10 CET"
    summer = datetime(2026, 7, 5, 12, 0, tzinfo=BERLIN).timestamp()
    assert since_words(summer - 600, summer, BERLIN) == "since 11:50 CEST"


def test_numbers_read_as_a_sentence() -> None:
    result = Evaluation(True, 16, {"count": 16, "expected": 0.663, "ratio": 24.117, "p_value": 3.6e-17}, "", 3600)
    assert summary(RULE, result, NOW, BERLIN) == (
        "16 negative posts in the last hour (since 18:57 CET); usually under 1 at this time on a Sunday;"
        " about 1 in 10¹⁶ by chance"
    )
    fast = Evaluation(True, 9, {"count": 9, "expected": 6.2, "ratio": 1.5, "p_value": 2.5e-5}, "", 1200)
    assert summary(RULE, fast, NOW, BERLIN) == (
        "9 negative posts in the last 20 minutes (since 19:37 CET); usually about 6 at this time on a Sunday;"
        " about 1 in 40,000 by chance"
    )
    quiet = Evaluation(False, 1, {"count": 1, "expected": 0.4}, "")
    assert resolution(RULE, quiet) == "Back to normal: 1 negative post in the last hour, usually under 1."


@pytest.mark.parametrize(
    ("p_value", "words"),
    [
        (3.6e-17, "about 1 in 10¹⁶ by chance"),
        (2.5e-5, "about 1 in 40,000 by chance"),
        (4.4e-7, "about 1 in 2 million by chance"),
        (0.0012, "about 1 in 830 by chance"),
        (0.3, "well within what chance brings"),
        (None, ""),
    ],
)
def test_odds_in_words(p_value: float | None, words: str) -> None:
    assert odds_words(p_value) == words


def test_usual_counts_in_words() -> None:
    assert [usual_words(e) for e in (0.0, 0.66, 1.4, 6.1, 1234.0)] == [
        "usually none", "usually under 1", "usually about 1", "usually about 6", "usually about 1,234",
    ]  # fmt: skip


def _post(platform: str, author: str, text: str = "down") -> ScoredMention:
    created = datetime(2026, 12, 6, 19, 0, tzinfo=BERLIN)
    mention = Mention(platform, f"{platform}-{author}-{text}", text, created, author=author)
    return ScoredMention(mention, "acme", -0.6, "negative", False)


def test_about_names_the_platform_and_author_when_they_dominate() -> None:
    many = [_post("hackernews", f"user{i}", str(i)) for i in range(12)] + [_post("reddit", f"r{i}") for i in range(4)]
    assert about_words(["down", "outage"], many) == "down, outage · mostly on Hacker News (75%)"
    spread = [_post(p, f"u{i}{p}") for i in range(4) for p in ("reddit", "hackernews", "mastodon")]
    assert about_words(["down"], spread) == "down"
    one_voice = [_post("reddit", "sam_r", str(i)) for i in range(5)] + [_post("mastodon", f"u{i}") for i in range(5)]
    assert about_words([], one_voice) == "5 posts from sam_r"


def test_a_duration_in_an_alert_is_never_in_seconds() -> None:
    assert "s" not in duration_words(timedelta(hours=2, minutes=59, seconds=59).total_seconds()).replace("days", "")
