"""Rule files: the shipped rules load; each problem is one line naming file, line and key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import InvalidFiles
from monitor.mention import Mention, ScoredMention
from monitor.rules.load import load_rules
from monitor.rules.match import RuleMatcher
from monitor.rules.model import SpikeDetect, VolumeDetect

ROOT = Path(__file__).resolve().parent.parent
BRANDS = ["acme"]
PLATFORMS = ["hackernews", "reddit"]

SPIKE = """\
name = "neg"
kind = "spike"
brands = ["acme"]

[match]
sentiment = "negative"

[detect]
window = "1h"
baseline = "7d"
min_count = 4
"""


def problems(directory: Path) -> list[str]:
    with pytest.raises(InvalidFiles) as info:
        load_rules(directory, BRANDS, PLATFORMS)
    return [str(p) for p in info.value.problems]


def test_shipped_rules_load() -> None:
    rules = {r.name: r for r in load_rules(ROOT / "rules", BRANDS, PLATFORMS)}
    spike = rules["negative-spike"]
    assert isinstance(spike.detect, SpikeDetect)
    assert spike.detect.window == timedelta(hours=1)
    assert spike.detect.baseline == timedelta(days=14)
    assert spike.match.sentiment == "negative"
    assert spike.alert.cooldown == timedelta(hours=2)
    assert isinstance(rules["crisis-volume"].detect, VolumeDetect)
    storm = rules["mention-storm"]
    assert storm.match.sentiment == "any" and storm.alert.quiet_when_expected and storm.severity == "medium"
    assert isinstance(storm.detect, SpikeDetect) and len(storm.detect.windows) == 3


def test_defaults(tmp_path: Path) -> None:
    (tmp_path / "neg.toml").write_text(SPIKE)
    (rule,) = load_rules(tmp_path, BRANDS, PLATFORMS)
    assert isinstance(rule.detect, SpikeDetect)
    assert rule.detect.min_ratio == 3.0 and rule.detect.min_count == 4
    assert rule.platforms == ("*",) and rule.severity == "medium"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('window = "1h"', 'window = "1 hour"'), ':9: detect.window: expected a duration like "90s"'),
        (
            ('kind = "spike"', 'kind = "spiky"'),
            ":2: kind: expected one of spike, volume, keyword, influencer, share, silence, got 'spiky'",
        ),
        (('brands = ["acme"]', 'brands = ["acme", "globex"]'), ":3: brands: unknown brand 'globex' (known: acme)"),
        (("min_count = 4", "min_cont = 4"), ":11: detect.min_cont: unknown key (did you mean 'min_count'?)"),
        (("min_count = 4", "min_count = 0"), ":11: detect.min_count: must be at least 1, got 0"),
        (("min_count = 4", 'min_count = "4"'), ":11: detect.min_count: expected an integer, got '4'"),
        (('sentiment = "negative"', 'sentiment = "bad"'), ":6: match.sentiment: expected one of negative"),
        (
            ('baseline = "7d"', 'baseline = "30m"'),
            ":10: detect.baseline: must be at least as long as the longest window",
        ),
        (('name = "neg"', 'name = "Neg Spike"'), ":1: name: use lowercase letters"),
        (
            ('window = "1h"', 'window = "1h"\nfast_window = "2h"'),
            ":10: detect.fast_window: must be shorter than window",
        ),
        (
            ('window = "1h"', 'window = "1h"\nlong_window = "30m"'),
            ":10: detect.long_window: must be longer than window",
        ),
        (
            ('window = "1h"', 'window = "1h"\ndispersion = "wild"'),
            ":10: detect.dispersion: expected one of auto, poisson",
        ),
        (
            ('sentiment = "negative"', 'sentiment = "negative"\ncompound = [0.5, -0.5]'),
            ":7: match.compound: expected -1 <= low <= high <= 1, got [0.5, -0.5]",
        ),
        (
            ('sentiment = "negative"', 'sentiment = "negative"\ncompound = -0.5'),
            ":7: match.compound: expected a range [low, high]",
        ),
        (
            ('sentiment = "negative"', 'sentiment = "negative"\nlanguages = ["English"]'),
            ":7: match.languages: expected ISO 639-1 codes like \"en\", got 'English'",
        ),
        (("min_count = 4", 'min_count = 4\n[alert]\nfor = "soon"'), ':13: alert.for: expected a duration like "90s"'),
        (('window = "1h"', 'windows = ["10m", "1 hour"]'), ':9: detect.windows: expected a duration like "90s"'),
        (('window = "1h"', "windows = []"), ":9: detect.windows: must not be empty"),
        (('window = "1h"', 'windows = ["10m", "10m"]'), ":9: detect.windows: each window only once"),
        (
            ('window = "1h"', 'window = "1h"\nwindows = ["10m", "1h"]'),
            ":9: detect.window: give either windows or window (with fast_window and long_window), not both",
        ),
        (
            ("min_count = 4", "min_count = 4\n[alert]\nquiet_when_expected = 1"),
            ":13: alert.quiet_when_expected: expected true or false, got 1",
        ),
        (
            ("min_count = 4", 'min_count = 4\n[alert]\nkeep_firing_for = "1h"\nresolve_after = "1h"'),
            ":14: alert.resolve_after: is the older name of keep_firing_for: give one of them",
        ),
    ],
)
def test_bad_values(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "neg.toml"
    path.write_text(SPIKE.replace(*change))
    (found,) = problems(tmp_path)
    assert found.startswith(f"{path}:"), found
    assert expected in found, found


def test_a_rule_may_list_its_windows(tmp_path: Path) -> None:
    text = SPIKE.replace('window = "1h"', 'windows = ["1h", "10m", "20m"]')
    (tmp_path / "neg.toml").write_text(text + "\n[alert]\nquiet_when_expected = true\n")
    (rule,) = load_rules(tmp_path, BRANDS, PLATFORMS)
    assert isinstance(rule.detect, SpikeDetect)
    # The longest is the main window (the one a quiet alert or a resolution speaks of); all are tested.
    assert rule.detect.window == timedelta(hours=1)
    assert rule.detect.windows == (timedelta(hours=1), timedelta(minutes=10), timedelta(minutes=20))
    assert rule.horizon == timedelta(days=7, hours=1) and rule.alert.quiet_when_expected


def test_unknown_platform_and_placeholder(tmp_path: Path) -> None:
    text = SPIKE.replace('brands = ["acme"]', 'brands = ["acme"]\nplatforms = ["myspace"]')
    text += '\n[drafts]\nholding = "Hi {customer}, we are on it"\n'
    (tmp_path / "neg.toml").write_text(text)
    found = problems(tmp_path)
    assert any(":4: platforms: unknown platform 'myspace'" in p for p in found)
    assert any("drafts.holding: unknown placeholder {customer}" in p for p in found)


def test_duplicate_names_and_missing_detect(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(SPIKE)
    (tmp_path / "b.toml").write_text(SPIKE)
    (tmp_path / "c.toml").write_text('name = "c"\nkind = "volume"\n')
    found = problems(tmp_path)
    assert f"{tmp_path / 'b.toml'}:1: name: 'neg' is already used by {tmp_path / 'a.toml'}" in found
    assert f"{tmp_path / 'c.toml'}: detect: required table is missing" in found


def test_missing_folder(tmp_path: Path) -> None:
    assert problems(tmp_path / "none") == [f"{tmp_path / 'none'}: rules folder (or rule file) not found"]


def test_alert_timing_and_match_options(tmp_path: Path) -> None:
    text = SPIKE.replace('sentiment = "negative"', 'compound = [-1.0, -0.6]\nlanguages = ["en", "de"]')
    text += '\n[alert]\nfor = "10m"\nkeep_firing_for = "30m"\n'
    (tmp_path / "neg.toml").write_text(text.replace('window = "1h"', 'window = "1h"\nfast_window = "15m"'))
    (rule,) = load_rules(tmp_path, BRANDS, PLATFORMS)
    assert rule.alert.pending_for == timedelta(minutes=10) and rule.alert.resolve_after == timedelta(minutes=30)
    assert rule.match.compound == (-1.0, -0.6) and rule.match.languages == ("en", "de")
    assert isinstance(rule.detect, SpikeDetect)
    assert rule.detect.windows == (timedelta(hours=1), timedelta(minutes=15))
    matcher = RuleMatcher(rule)

    def scored(text: str, compound: float | None, lang: str | None = None) -> ScoredMention:
        mention = Mention("x", text, text, datetime(2026, 11, 24, tzinfo=UTC), lang=lang)
        return ScoredMention(mention, "acme", compound, None)

    assert matcher(scored("Acme is down again and nobody answers", -0.7))
    assert not matcher(scored("Acme is down again and nobody answers", -0.5))  # outside the range
    assert not matcher(scored("Acme is down again and nobody answers", None))  # unscored
    assert matcher(scored("Acme ist nicht erreichbar und ich bin sauer", -0.8))  # guessed: German
    assert not matcher(scored("Acme est en panne et je ne suis pas content", -0.8))  # guessed: French
    assert not matcher(scored("Acme is down", -0.8, lang="fr"))  # declared language wins
    assert matcher(scored("Acme est en panne", -0.8, lang="en-GB"))
