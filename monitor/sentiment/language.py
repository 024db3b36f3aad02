"""The language gate: a cheap guess at a text's language from its function words."""

from __future__ import annotations

import re

# Function words that say which language a Latin-script text is in. VADER reads English only: a
# text that reads as another language is stored unscored rather than scored as neutral.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are was to of in it that this for not with you have but on my they be at".split()),
    "de": frozenset("der die das und ist nicht ich ein eine mit auf für sie es zu den von sich auch wir".split()),
    "fr": frozenset("le la les et est un une des pas je que qui dans pour sur avec ce il elle nous vous".split()),
    "es": frozenset("el la los las y es un una que de no en por para con se lo pero muy está son".split()),
    "it": frozenset("il lo la gli le e è un una che di non per con sono ma mi ho questo anche".split()),
    "nl": frozenset("de het een en is niet ik dat met voor op van zijn maar ook wel heb dit".split()),
    "pt": frozenset("o a os as e é um uma que de não em para com se mas muito está são eu".split()),
}
_WORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _word in _words:
        _WORD_LANGS[_word] = (*_WORD_LANGS.get(_word, ()), _lang)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# ASCII text: letters to lowercase and everything else to spaces in one bytes.translate, so that a split
# finds the words the regex would (tested), several times faster; words are looked up as bytes.
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32 for c in range(256))
_ASCII_WORD_LANGS = {w.encode("ascii"): langs for w, langs in _WORD_LANGS.items() if w.isascii()}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_NON_LATIN_LETTER = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]", re.UNICODE)


def guess_language(text: str) -> str | None:
    """A cheap guess: "en", another ISO 639-1 code, "other" (not Latin script), or None (no clue)."""
    # The languages of each function word in the text, in order (most words are none).
    if text.isascii():
        ascii_words = text.encode("ascii").translate(_ASCII_WORDS).split()
        hits = [_ASCII_WORD_LANGS[word] for word in ascii_words if word in _ASCII_WORD_LANGS]
    else:
        letters = len(_LETTER.findall(text))
        if not letters:
            return None
        if len(_NON_LATIN_LETTER.findall(text)) > letters / 2:
            return "other"
        hits = [_WORD_LANGS[word] for word in _WORD.findall(text.lower()) if word in _WORD_LANGS]
    if not hits:
        return None
    scores: dict[str, int] = {}
    for langs in hits:
        for lang in langs:
            scores[lang] = scores.get(lang, 0) + 1
    best = max(scores, key=lambda lang: scores[lang])
    return "en" if scores.get("en", 0) >= scores[best] else best
