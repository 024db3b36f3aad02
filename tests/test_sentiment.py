"""Sentiment: the brand lexicon reads trouble plain VADER misses, without souring ordinary words;
config adds words and each brand overrides them; the language gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.config import SentimentConfig
from monitor.errors import InvalidFiles
from monitor.loading import load_config
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


def _random_posts(count: int) -> list[str]:
    """Posts made of the words VADER's special cases read: negations, boosters, idioms, "but", emoji."""
    import random

    rng = random.Random(5)
    words = ("not never so this without doubt no but kind of least at very the shit bomb yeah right to die for"
             " sort isn't good bad GREAT awful love hate outage down is working can't log in charged twice data"
             " breach bug fix !!! ?? :) 😀 ❤️ acme cloud Acme's kinda barely").split()  # fmt: skip
    return [" ".join(rng.choice(words) for _ in range(rng.randrange(0, 30))) for _ in range(count)]


def test_fast_vader_scores_exactly_as_the_library() -> None:
    from monitor.sentiment.vader import FastVader

    fast = FastVader()
    labelled = (ROOT / "bench" / "labelled.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in labelled if line.strip()] + _random_posts(5000)
    assert [fast.polarity_scores(t) for t in texts] == [VADER.polarity_scores(t) for t in texts]
    assert [fast.compound(t) for t in texts] == [VADER.polarity_scores(t)["compound"] for t in texts]


def test_fast_vader_compound_matches_the_library_with_added_words() -> None:
    """With words added to the lexicon (as config and brands add them), including words VADER's rules
    look for around a sentiment word ("no", "least", "kind", "but"), capitals, punctuation and idioms."""
    import random

    from monitor.sentiment import lexicon
    from monitor.sentiment.vader import FastVader

    added = {**lexicon.WORDS, "least": 1.1, "kind": 0.8, "no": -1.3, "but": 0.4, "very": 0.5}
    fast, library = FastVader(), SentimentIntensityAnalyzer()
    for analyzer in (fast, library):
        analyzer.lexicon.update(added)
    rng = random.Random(7)
    words = ("no nor or not never NOT so this without doubt least at very VERY EXTREMELY extremely kind of sort"
             " just enough the shit bomb bad ass yeah right kiss of death to die for beating heart good GOOD bad"
             " (bad) ...nice... 'great' \"awful\" outage OUTAGE! down unusable but BUT !!! ?? ? ! :) :-( x ok OK"
             " café naïve 😀").split()  # fmt: skip
    texts = [" ".join(rng.choice(words) for _ in range(rng.randrange(0, 25))) for _ in range(4000)]
    texts += [t.upper() for t in texts[:500]]
    assert [fast.compound(t) for t in texts] == [library.polarity_scores(t)["compound"] for t in texts]
    assert [fast.polarity_scores(t) for t in texts[:1000]] == [library.polarity_scores(t) for t in texts[:1000]]


def test_phrase_rewrite_skips_only_texts_without_phrases() -> None:
    from monitor.sentiment import lexicon

    def slow(text: str) -> str:
        for pattern, word in lexicon.PHRASES:
            text = pattern.sub(word, text)
        return text

    texts = [
        *_random_posts(3000),
        "It's DOWN AGAIN",
        "CAN'T LOGIN",
        "Double-Charged",
        "the ſtart won't ſtart",
        "bug fıx",
        "İS DOWN AGAIN",
        "it's down for me, is it down for you? still down",
    ]
    assert [lexicon.rewrite(t) for t in texts] == [slow(t) for t in texts]
    # ASCII text is matched lowercased by case-sensitive twins of the patterns: they must be lowercase.
    assert all(pattern.pattern == pattern.pattern.lower() for pattern, _ in lexicon.PHRASES)


def test_large_batches_score_in_worker_processes_with_the_same_results() -> None:
    from monitor.sentiment import POOL_MIN

    config = SentimentConfig(lexicon={"meh": -1.5})
    scorer = Scorer(config, {"crashpad": {"crash": 0.0}})
    texts = _random_posts(POOL_MIN + 10)
    items = [(t + " meh crash", None, ("crashpad", "acme", None)[i % 3]) for i, t in enumerate(texts)]
    try:
        pooled = scorer.score_many(items)
        assert scorer._pool is not None or scorer.workers < 2
    finally:
        scorer.close()
    assert pooled == [scorer.score(*item) for item in items]
    assert {s.label for s in pooled} >= {"negative", "neutral"}


def test_language_guess_reads_ascii_words_as_the_regex_does() -> None:
    import re

    from monitor.sentiment import language

    def by_regex(text: str) -> list[str]:
        return re.findall(r"[^\W\d_]+", text.lower())

    texts = [*_random_posts(2000), "l'outage_est-là", "don't_work 4you", "a1b2c3 the_and", "ÉTÉ est là", "x\ty\nz"]
    for text in texts:
        if text.isascii():
            words = text.encode("ascii").translate(language._ASCII_WORDS).split()
            assert [w.decode("ascii") for w in words] == by_regex(text), text
