"""Sentiment: the brand lexicon reads trouble plain VADER misses, without souring ordinary words;
config adds words and each brand overrides them; the language gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import SentimentConfig, load_config
from monitor.errors import InvalidFiles
from monitor.sentiment import Scorer, guess_language

ROOT = Path(__file__).resolve().parent.parent
SCORER = Scorer(SentimentConfig())
VADER = SentimentIntensityAnalyzer()


@pytest.mark.parametrize(
    "text",
    ["Acme Cloud is down", "outage again", "data breach exposed 2M users", "I was charged twice by Acme",
     "Acme Cloud is not working", "can't log in to Acme since this morning", "the new Acme app is so buggy"],
)  # fmt: skip
def test_trouble_plain_vader_misses_reads_negative(text: str) -> None:
    assert VADER.polarity_scores(text)["compound"] > -0.25  # plain VADER: near neutral
    assert SCORER.score(text).label == "negative"


@pytest.mark.parametrize(
    ("text", "label"),
    [("the price went down, nice", "positive"), ("down the road we plan to expand", "positive"),
     ("Download the Acme app", "neutral"), ("Acme shipped a bug fix for the export", "neutral"),
     ("Acme Cloud is up and running again", "neutral"), ("love the new Acme dashboard", "positive")],
)  # fmt: skip
def test_ordinary_uses_do_not_turn_negative(text: str, label: str) -> None:
    assert SCORER.score(text).label == label


def test_config_adds_words_and_brands_override_them(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[sentiment.lexicon]\nmeh = -1.5\n\n"
        '[[brands]]\nid = "acme"\nqueries = ["acme"]\n\n'
        '[[brands]]\nid = "crashpad"\nqueries = ["crashpad"]\n[brands.lexicon]\ncrash = 0\ncrashes = 0\n'
    )
    config = load_config(path)
    scorer = Scorer.of(config)
    assert scorer.score("acme's new release is meh").label == "negative"
    text = "Crashpad crash course: how to land a kickflip"
    assert scorer.score(text, brand="acme").label == "negative"
    assert scorer.score(text, brand="crashpad").label == "neutral"


def test_bad_lexicon_entries(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sentiment.lexicon]\nmeh = -7\n"very bad" = -2\nok = "yes"\n\n[[brands]]\nid = "a"\nqueries = ["a"]\n'
    )
    with pytest.raises(InvalidFiles) as info:
        load_config(path)
    found = [str(p) for p in info.value.problems]
    assert f"{path}:2: sentiment.lexicon.meh: must be between -4 and 4, got -7" in found
    assert f"{path}:3: sentiment.lexicon.very bad: one word per entry (phrases are not scored as such)" in found
    assert f"{path}:4: sentiment.lexicon.ok: expected a number, got 'yes'" in found


def test_score_command_applies_brand_overrides(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[brands]]\nid = "crashpad"\nqueries = ["crashpad"]\n[brands.lexicon]\ncrash = 0\n')
    lines = "Crashpad crash course\n" + json.dumps({"text": "Crashpad crash course", "brand": "nobody"}) + "\n"
    run = subprocess.run([sys.executable, "-m", "monitor", "score", "--config", str(path), "--brand", "crashpad"],
                         input=lines, capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    plain, other = (json.loads(line) for line in run.stdout.splitlines())
    assert plain["label"] == "neutral" and other["label"] == "negative"


def test_language_gate() -> None:
    assert [guess_language(t) for t in ("Acme down", "Der Dienst ist nicht erreichbar", "アクメが落ちた", "")] == [
        None, "de", "other", None,
    ]  # fmt: skip
    assert SCORER.score("Le service est en panne, je suis furieux").compound is None
    assert SCORER.score("Acme est en panne", lang="fr").label is None
    assert SCORER.score("Acme is down", lang="en-GB").label == "negative"
