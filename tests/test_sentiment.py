"""Sentiment: the learned scorer's labels on clear cases (the complaints of issue 14 among them), its
explanations and version; config adds words and each brand overrides them; language identification;
the old VADER + lexicon scorer (scorer = "vader"); FastVader and the phrase rewrite, exact."""

from __future__ import annotations

import json
import os
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
OLD = Scorer(SentimentConfig(scorer="vader"))
VADER = SentimentIntensityAnalyzer()


CLEAR = {
    "negative": [
        # The six complaints of issue 14, and its mention the old language gate left unscored.
        "Acme Cloud has been unreachable for an hour",
        "Is Acme Cloud down right now or is it just me?",
        "Acme wiped my files without any warning",
        "Acme's helpdesk is a clown show",
        "Great, Acme lost my order again. Thanks for nothing",
        "three emails to Acme support and not one answer",
        "Acme Cloud billing page dead since monday, no word",
        "acme cloud api gone again lol",
        "Acme Cloud is down again. Third time this week.",
        "I was charged twice by Acme and they refuse to refund me",
        "Acme leaked our customer data, this is a disaster",
        "Acme lost my package and support won't answer",
        "The new Acme app is so slow it is unusable",
        "Acme raised prices by 40% overnight, cancelling",
    ],
    "neutral": [
        "Acme Cloud opens a new region in Frankfurt",
        "How do I export my data from Acme Cloud?",
        "Acme announces quarterly results on Thursday",
        "Acme launches a bug bounty program",
        "Acme Cloud release notes for version 4.2",
        "Does Acme support single sign-on?",
        "Acme names a new chief financial officer",
    ],
    "positive": [
        "Acme support fixed my problem in five minutes, great service",
        "I love the new Acme dashboard",
        "Acme prices went down, nice",
        "The killer feature of Acme is the offline mode, love it",
        "Thank you Acme, the refund arrived the next day",
        "Acme Cloud has been rock solid for us all year, highly recommend",
        "Big thanks to the Acme team, the new release is excellent",
        "sick deal on Acme headphones today, grabbed two",
        "Acme never lets me down",
    ],
}


@pytest.mark.parametrize(("text", "label"), [(t, label) for label, texts in CLEAR.items() for t in texts])
def test_clear_cases(text: str, label: str) -> None:
    assert len(CLEAR["negative"]) + len(CLEAR["neutral"]) + len(CLEAR["positive"]) >= 30
    score = SCORER.score(text)
    assert score.label == label, score
    assert score.compound is not None and -1.0 <= score.compound <= 1.0


def test_the_model_loads_from_the_package_with_numpy_alone() -> None:
    from monitor.sentiment import model

    assert model.MODEL_FILE.parent == Path(model.__file__).parent  # package data, installed with it
    assert "sentiment/model.npz" in (ROOT / "pyproject.toml").read_text()
    code = (
        "import sys; from monitor.sentiment import model; m = model.Model(); "
        "print(m.version, len(m.weights.gram_index), *(name in sys.modules for name in ('sklearn', 'scipy', 'torch')))"
    )
    # No network and no home directory: nothing may be fetched or cached.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr
    version, grams, *training_only = run.stdout.split()
    assert version.startswith("learned-1.") and int(grams) > 10_000
    assert training_only == ["False", "False", "False"]


def test_compound_is_probability_of_positive_minus_negative() -> None:
    texts = ["Acme is down again", "Acme opens an office", "love Acme"]
    probabilities = SCORER.probabilities(texts)
    for text, (negative, _, positive) in zip(texts, probabilities, strict=True):
        assert SCORER.score(text).compound == round(float(positive - negative), 4)


def test_explain_names_the_words_that_weighed_and_the_confidence() -> None:
    explanation = SCORER.explain("Great, Acme lost my order again. Thanks for nothing", brand="acme")
    assert explanation.label == "negative" and explanation.compound is not None and explanation.compound < 0
    assert explanation.confidence is not None and 0.5 < explanation.confidence <= 1.0
    assert 1 <= len(explanation.weights) <= 5
    words = " ".join(w for w, _ in explanation.weights).lower()
    assert "lost" in words or "nothing" in words, explanation.weights
    assert explanation.weights[0][1] > 0  # the weightiest word supports the label
    assert explanation.version == SCORER.version
    unscored = SCORER.explain("Le service est en panne depuis ce matin, je suis furieux")
    assert unscored.label is None and unscored.weights == ()


def test_config_adds_words_and_brands_override_them(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[sentiment.lexicon]\nmeh = -3\n\n"
        '[[brands]]\nid = "acme"\nqueries = ["acme"]\n\n'
        '[[brands]]\nid = "crashpad"\nqueries = ["crashpad"]\n[brands.lexicon]\ncrash = 0\ncrashes = 0\ncrashed = 0\n'
    )
    config = load_config(path)
    scorer = Scorer.of(config)
    assert SCORER.score("acme's new release is meh").label != "negative"
    assert scorer.score("acme's new release is meh").label == "negative"
    text = "Crashpad crashed"
    assert scorer.score(text, brand="acme").label == "negative"
    assert scorer.score(text, brand="crashpad").label == "neutral"
    assert scorer.score("Crashpad crashes all the time, unusable", brand="crashpad").label == "negative"


def test_version_changes_with_the_model_lexicon_and_overrides() -> None:
    base = Scorer(SentimentConfig())
    assert base.version.startswith("learned-") and "+lexicon-" in base.version
    assert Scorer(SentimentConfig()).version == base.version  # stable
    assert Scorer(SentimentConfig(lexicon={"meh": -1.5})).version != base.version
    brands = Scorer(SentimentConfig(), {"crashpad": {"crash": 0.0}, "acme": {}})
    assert brands.version == base.version and brands.version_of("acme") == base.version
    assert brands.version_of("crashpad") not in (base.version, None)
    assert brands.version_of("unknown") == base.version
    assert Scorer(SentimentConfig(), {"crashpad": {"crash": -1.0}}).version_of("crashpad") != brands.version_of(
        "crashpad"
    )
    assert Scorer(SentimentConfig(scorer="vader")).version.startswith("vader-")


@pytest.mark.parametrize(
    "text",
    ["Acme Cloud is down", "outage again", "data breach exposed 2M users", "I was charged twice by Acme",
     "Acme Cloud is not working", "can't log in to Acme since this morning", "the new Acme app is so buggy"],
)  # fmt: skip
def test_old_scorer_reads_trouble_plain_vader_misses(text: str) -> None:
    assert VADER.polarity_scores(text)["compound"] > -0.25  # plain VADER: near neutral
    assert OLD.score(text).label == "negative"
    assert SCORER.score(text).label == "negative"


@pytest.mark.parametrize(
    ("text", "label"),
    [("the price went down, nice", "positive"), ("Download the Acme app", "neutral"),
     ("Acme shipped a bug fix for the export", "neutral"), ("love the new Acme dashboard", "positive")],
)  # fmt: skip
def test_old_scorer_ordinary_uses_do_not_turn_negative(text: str, label: str) -> None:
    assert OLD.score(text).label == label


def test_bad_lexicon_entries(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sentiment]\nscorer = "bert"\n[sentiment.lexicon]\nmeh = -7\n"very bad" = -2\nok = "yes"\n\n'
        '[[brands]]\nid = "a"\nqueries = ["a"]\n'
    )
    with pytest.raises(InvalidFiles) as info:
        load_config(path)
    found = [str(p) for p in info.value.problems]
    assert f"{path}:2: sentiment.scorer: expected one of learned, vader, got 'bert'" in found
    assert f"{path}:4: sentiment.lexicon.meh: must be between -4 and 4, got -7" in found
    assert f"{path}:5: sentiment.lexicon.very bad: one word per entry (phrases are not scored as such)" in found
    assert f"{path}:6: sentiment.lexicon.ok: expected a number, got 'yes'" in found


def test_score_command_applies_brand_overrides(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[brands]]\nid = "crashpad"\nqueries = ["crashpad"]\n[brands.lexicon]\ncrashed = 0\n')
    lines = "Crashpad crashed\n" + json.dumps({"text": "Crashpad crashed", "brand": "nobody"}) + "\n"
    run = subprocess.run([sys.executable, "-m", "monitor", "score", "--config", str(path), "--brand", "crashpad"],
                         input=lines, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    plain, other = (json.loads(line) for line in run.stdout.splitlines())
    assert plain["label"] == "neutral" and other["label"] == "negative"


@pytest.mark.parametrize(
    ("text", "language"),
    [("Acme down", "en"), ("Acme Cloud billing page dead since monday, no word", "en"),
     ("acme cloud api gone again lol", "en"), ("Acme's helpdesk is a clown show", "en"),
     ("Der Dienst ist seit heute Morgen nicht erreichbar", "de"), ("Le service est en panne depuis ce matin", "fr"),
     ("El soporte no contesta nunca", "es"), ("Il mio ordine non è ancora arrivato", "it"),
     ("アクメが朝から落ちてる", "ja"), ("Acme не работает с утра", "ru"), ("", None), ("12:30 !!", None)],
)  # fmt: skip
def test_language_identification(text: str, language: str | None) -> None:
    assert guess_language(text) == language


def test_language_gate() -> None:
    assert SCORER.score("Le service est en panne depuis ce matin, je suis furieux").compound is None
    assert SCORER.score("Acme est en panne", lang="fr").label is None
    assert SCORER.score("Acme is down", lang="en-GB").label == "negative"
    assert SCORER.score("Acme Cloud billing page dead since monday, no word").label == "negative"


def test_english_mentions_of_the_labelled_sets_are_scored() -> None:
    """Under 0.5% of English brand mentions may be taken for another language (none are, today)."""
    paths = [
        ROOT / "bench" / "brand_test.jsonl",
        ROOT / "bench" / "labelled.jsonl",
        ROOT / "training" / "brand_written.jsonl",
        ROOT / "training" / "brand_more.jsonl",
        ROOT / "training" / "brand_neutral.jsonl",
        ROOT / "training" / "brand_hard.jsonl",
    ]
    texts = [json.loads(line)["text"] for path in paths for line in path.read_text(encoding="utf-8").splitlines()]
    unscored = [t for t in texts if not SCORER.readable(t, None)]
    assert len(unscored) / len(texts) < 0.005, unscored


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
    from monitor.sentiment.pool import WORKER_NICENESS

    config = SentimentConfig(lexicon={"meh": -1.5})
    scorer = Scorer(config, {"crashpad": {"crash": 0.0}})
    texts = _random_posts(POOL_MIN + 10)
    items = [(t + " meh crash", None, ("crashpad", "acme", None)[i % 3]) for i, t in enumerate(texts)]
    try:
        pooled = scorer.score_many(items)
        assert scorer._pool is not None or scorer.workers < 2
        if scorer._pool is not None:  # the workers yield the cores to the process they score for
            assert scorer._pool.submit(os.nice, 0).result() == min(19, os.nice(0) + WORKER_NICENESS)
    finally:
        scorer.close()
    assert pooled == [scorer.score(*item) for item in items]
    assert {s.label for s in pooled} >= {"negative", "neutral"}


def test_brand_names_are_cut_from_the_model_text_as_the_pattern_cuts_them() -> None:
    """The str.find path for ASCII names gives what the name pattern gives, on texts built to trip it."""
    import random

    from monitor.sentiment import model
    from monitor.sentiment.scorer import _analyzer, _Lexical

    rng = random.Random(14)
    parts = ["acme", "Acme's", "ACME", "cloud", "Cloud's", "acmes", "xacme", "acme_x", "acme'", "'acme", "acme's!",
             "the", ":", "@acme", "acme-cloud", "acme.", " ", "  ", "'s", "\n", "blue", "sun", "CLOUD"]  # fmt: skip
    texts = ["".join(rng.choice(parts) + rng.choice(["", " ", "  "]) for _ in range(rng.randrange(1, 10)))
             for _ in range(5000)]  # fmt: skip
    for name in ("Acme", "Acme Cloud", "Blue  Sun"):
        lexical = _Lexical(_analyzer({}), {}, name)
        assert lexical.hidden is not None
        assert [lexical.model_text(t) for t in texts] == [lexical.hidden.sub("", model.normalise(t)) for t in texts]
