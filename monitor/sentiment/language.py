"""Language identification: py3langid (langid.py's model) over the languages posts are mostly in,
leaning to English when unsure.

Measured on short posts (bench/sentiment_eval.py, --languages): restricted to LANGUAGES and reading a
text as another language only when that is at least MIN_CONFIDENCE likely, no English brand mention of
the labelled sets is taken for another language, and 93 of 97 short posts in 27 other languages are
recognised. lingua-language-detector lost 2.9% of the English mentions at full accuracy (and scored
650 posts a second), 15% in its fast mode; py3langid reads about 40,000 a second.
"""

from __future__ import annotations

import re
import threading

import numpy as np
from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The candidates: English, the languages of Europe, and the most spoken others. A candidate set keeps
# a short English post from being read as one of langid.py's rarer languages (Latin, Volapük, ...).
LANGUAGES = (
    "en de fr es it nl pt sv da no fi pl cs sk hu ro tr id ms vi ru uk bg el ar he fa hi bn ja ko zh th ca hr sl et "
    "lv lt".split()
)
# A text is read as another language than English only when the model is at least this sure: texts of
# a few words, product names and slang are often guessed at 30-50%.
MIN_CONFIDENCE = 0.5
_LETTER = re.compile(r"[^\W\d_]")

# A fast path for the many posts that plainly read as English: ASCII, an English function word that no
# other language here has, and none of the other languages' function words. Two thirds of the labelled
# sets' English mentions take it (95% of the demo's); none of the other-language posts do.
_ENGLISH = frozenset(
    "the and was to of it that this for not with you have but my they be at are your our we has had been just why "
    "what how from its anyone everyone again still now their them there when who would could should will can".split()
)
_OTHERS = frozenset(
    " ".join([
        "der die das und ist nicht ich ein eine mit auf für sie es zu den von sich auch wir",  # de
        "le la les et est un une des pas je que qui dans pour sur avec ce il elle nous vous",  # fr
        "el los las y es una de no en por para con se lo pero muy está son",  # es
        "lo gli e è che di non per sono ma mi ho questo anche",  # it
        "het een niet dat met voor op van zijn maar ook wel heb dit",  # nl
        "o os as é um não em com mas muito eu",  # pt
        "och att jag inte på är som det nie się na jest że ve bir bu da tidak dan yang itu ini",  # sv pl tr id
        "og ikke jeg ja ei ole",  # da no fi
    ]).split()
) - _ENGLISH  # fmt: skip
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))
_ENGLISH_BYTES = frozenset(w.encode() for w in _ENGLISH - _OTHERS)
_OTHERS_BYTES = frozenset(w.encode() for w in _OTHERS if w.isascii())


def _plainly_english(text: str) -> bool:
    if not text.isascii():
        return False
    found = set(text.encode("ascii").translate(_ASCII_WORDS).split())
    return not found.isdisjoint(_ENGLISH_BYTES) and found.isdisjoint(_OTHERS_BYTES)


_LOCK = threading.Lock()
_LOADED: list[LanguageIdentifier] = []


def preload() -> None:
    """Loads the model in a background thread (half a second, mostly decompression, which frees the
    GIL), so that a starting daemon's first poll does not wait for it."""
    if not _LOADED:
        threading.Thread(target=_identifier, name="language-model", daemon=True).start()


def _identifier() -> LanguageIdentifier:
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                _LOADED.append(_load())
    return _LOADED[0]


def _load() -> LanguageIdentifier:
    """The model restricted to LANGUAGES (as its set_languages does, without keeping the full table)."""
    full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    columns = [i for i, language in enumerate(full.nb_classes) if language in LANGUAGES]
    return LanguageIdentifier(
        np.ascontiguousarray(full.nb_ptc[:, columns]),
        full.nb_pc[columns],
        [full.nb_classes[i] for i in columns],
        full.tk_nextmove,
        full.tk_output,
        norm_probs=True,
        tk_row=full.tk_row,
    )


def guess_language(text: str) -> str | None:
    """The text's language as an ISO 639-1 code ("en" when unsure), or None for a text without letters."""
    if _plainly_english(text):
        return "en"
    if not _LETTER.search(text):
        return None
    language, confidence = _identifier().classify(text)
    return str(language) if language == "en" or confidence >= MIN_CONFIDENCE else "en"
