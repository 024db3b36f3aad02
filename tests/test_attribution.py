"""Explanations (monitor/sentiment/attribution.py): each word's and phrase's share of the label's margin
adds up to the model's margin less the bias; phrases the lexicon rewrites, re-weighed words and the
words of the text are what is named; a brand's name, handles and links never are."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.config import SentimentConfig
from monitor.sentiment import Scorer
from monitor.sentiment.attribution import margin
from monitor.sentiment.model import LABELS

SCORER = Scorer(SentimentConfig(lexicon={"meh": -3.0}), {"crashpad": {"crash": -2.5}}, {"acme": "Acme Cloud"})

# No "!" and at most one "?": VADER's punctuation emphasis (shared by no word) is then nought.
TEXTS = [
    ("Great, Acme lost my order again. Thanks for nothing", "acme"),
    ("Acme Cloud is down again, not working for anyone since 9am", "acme"),
    ("three emails to Acme support and not one answer", None),
    ("Love the new Acme dashboard, so much faster", "acme"),
    ("Acme Cloud opens a new region in Frankfurt", "acme"),
    ("the release is meh and the docs are worse", None),
    ("Crashpad crash reports are flooding in, crash after crash", "crashpad"),
    ("Is Acme Cloud down right now or is it just me?", "acme"),
]


@pytest.mark.parametrize(("text", "brand"), TEXTS)
def test_shares_add_up_to_the_margin_less_the_bias(text: str, brand: str | None) -> None:
    assert SCORER.model is not None
    probabilities = SCORER.probabilities([text], brand)[0].astype(np.float64)
    for column in range(3):
        # log p_c - mean(log p_other) = z_c - mean(z_other): softmax's normaliser cancels.
        expected = float(margin(np.log(probabilities), column))
        bias = float(margin(SCORER.model.weights.bias.astype(np.float64), column))
        found = SCORER.shares(text, brand, column).found
        assert sum(found.values()) + bias == pytest.approx(expected, abs=2e-3), (text, LABELS[column], found)


def test_a_rewritten_phrase_is_named_as_written_and_names_are_not() -> None:
    why = SCORER.explain("Acme Cloud is down again @acmecloud https://status.acme.example/x", brand="acme")
    assert why.label == "negative"
    named = [word for word, _ in why.weights]
    assert "is down" in named, why.weights
    assert not {"acme", "cloud", "acme cloud", "@user", "http", "https"} & set(named), why.weights
    written = "Acme Cloud is down again @acmecloud https://status.acme.example/x".lower()
    assert all(word in written for word in named), named


def test_a_reweighed_word_is_named_with_its_weight() -> None:
    config_word = SCORER.explain("the new Acme release is meh")
    assert config_word.label == "negative"
    assert config_word.weights[0][0] == "meh" and config_word.weights[0][1] > 0, config_word.weights
    brand_word = SCORER.explain("Crashpad crash on startup", brand="crashpad")
    assert dict(brand_word.weights).get("crash", 0) > 0, brand_word.weights
    # The same word for a brand that does not re-weigh it is the model's reading of it, not the override.
    assert SCORER.shares("Crashpad crash on startup", "crashpad", 0).found["crash"] > SCORER.shares(
        "Crashpad crash on startup", None, 0
    ).found.get("crash", 0)


def test_the_weightiest_words_support_the_label_of_a_long_post() -> None:
    post = " ".join(["We moved our staging cluster over last spring and it ran fine for months."] * 6)
    post += " Since Tuesday every deploy fails, support closed my ticket twice, this is a disgrace."
    why = SCORER.explain(post, brand="acme")
    assert why.label == "negative"
    assert why.weights[0][1] > 0 and {"disgrace", "fails"} & {w for w, _ in why.weights[:3]}, why.weights


def test_the_phrases_the_lexicon_rewrites_are_listed_as_written() -> None:
    from monitor.sentiment import lexicon

    text = "Acme IS DOWN again, and I was charged twice. The data leak is not the bugfix"
    assert lexicon.rewritten(text) == [
        ("bugfix", "fix"),
        ("IS DOWN", "outage"),
        ("charged twice", "overcharged"),
        ("data leak", "breach"),
    ]
    assert lexicon.rewrite(text) == "Acme outage again, and I was overcharged. The breach is not the fix"
    assert lexicon.rewritten("Acme went down the road of price cuts") == []


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        *TEXTS,
        ("Acme is down AGAIN!!! worst week ever 🙄", "acme"),
        ("Crashpad crash? crash?? still loving it 😀", "crashpad"),
        ("meh. Acme support, thanks for nothing!", None),
    ],
)
def test_an_explanation_gives_the_score_and_shares_the_scorer_gives_alone(text: str, brand: str | None) -> None:
    # explain reads each VADER pass once for both the model's features and the shares (emoji and "!" too).
    explanation = SCORER.explain(text, None, brand, top=50)
    score = SCORER.score(text, None, brand)
    probabilities = SCORER.probabilities([text], brand)[0]
    column = LABELS.index(str(score.label))
    assert (explanation.compound, explanation.label) == (score.compound, score.label)
    assert explanation.confidence == round(float(probabilities[column]), 3)
    hidden = SCORER.brand_names.get(brand, "").split() if brand else []
    assert explanation.weights == SCORER.shares(text, brand, column).top(text, hidden, 50)


def test_explaining_together_is_explaining_each() -> None:
    from monitor.alerts.events import Explanations

    # Posts the model reads and one it cannot (another language), an empty one, a repeat.
    down = "Acme Cloud is down again, third time this week"
    texts = [
        down,
        "Das ist wirklich sehr schlecht und teuer",
        "love the new Acme dashboard",
        "",
        "great, Acme lost my order again",
        down,
    ]
    for brand in ("acme", None):
        assert SCORER.explain_many(texts, None, brand, top=5) == [SCORER.explain(t, None, brand, top=5) for t in texts]
    kept = Explanations(SCORER, size=4)  # fewer than the texts: some are explained again the second time
    for order in (texts, texts[::-1]):
        assert kept.many(order, "acme") == [SCORER.explain(t, None, "acme", top=3) for t in order]


def test_what_weighed_for_the_label_comes_first_then_what_weighed_against_each_by_size() -> None:
    texts = ["Acme support is great but the outage today was terrible", "love the app, hate the new pricing",
             "Acme Cloud is fast and cheap, but the dashboard is broken again", "not bad at all, thanks Acme",
             "great, Acme lost my order again. Thanks for nothing", "the refund was quick, the outage was not",
             "I love how Acme crashes every day"]  # fmt: skip
    mixed = 0
    for text in texts:
        weights = [weight for _, weight in SCORER.explain(text, brand="acme", top=5).weights]
        assert weights == sorted(weights, key=lambda w: (w < 0, -abs(w)))
        mixed += weights != sorted(weights, key=lambda w: -abs(w))
    assert mixed  # seen where something against the label outweighs something for it
