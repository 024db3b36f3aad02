"""The brand-reputation lexicon: what VADER misses in talk about a product or service.

VADER scores "Acme Cloud is down" and "outage again" as 0.0. Words it does not know get a valence
on its own scale (-4 to +4), kept moderate so that one word does not outweigh the rest of a post;
phrases it cannot see (it reads single words) are rewritten to a word that carries their meaning
before scoring. Ambiguous ones are left alone: "went down" (prices do), "down the road".
"""

from __future__ import annotations

import re

WORDS: dict[str, float] = {
    "outage": -2.4, "outages": -2.4, "downtime": -2.0, "breach": -2.3, "breached": -2.3,
    "refund": -0.8, "refunds": -0.8, "recall": -1.4, "recalled": -1.4, "bug": -1.1, "bugs": -1.1,
    "buggy": -1.8, "crashes": -1.7, "crashing": -1.9, "crashed": -1.9, "overcharged": -2.2,
    "unusable": -2.6, "laggy": -1.6, "glitch": -1.2, "glitches": -1.2, "glitchy": -1.7,
    "unavailable": -1.2, "timeout": -1.2, "timeouts": -1.4, "unresponsive": -1.8, "ripoff": -2.5,
    "scammed": -2.8, "unreliable": -2.0, "throttled": -1.2, "phishing": -1.6, "enshittification": -2.5,
}  # fmt: skip

_TROUBLE = "outage"
_BROKEN = "broken"
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bbug\s*-?fix(?:es|ed|ing)?\b", re.IGNORECASE), "fix"),  # good news, not a bug report
    (re.compile(r"\b(?:is|are|was|were|been|being|still|it'?s|its)\s+(?:completely\s+|totally\s+|all\s+)?down\b",
                re.IGNORECASE), _TROUBLE),
    (re.compile(r"\bdown\s+(?:again|for\s+(?:me|us|everyone|anyone|hours|days))\b", re.IGNORECASE), _TROUBLE),
    (re.compile(r"\b(?:not|stopped|isn'?t|aren'?t)\s+working\b|\b(?:doesn'?t|don'?t|won'?t)\s+(?:work|load|start)\b",
                re.IGNORECASE), _BROKEN),
    (re.compile(r"\b(?:can'?t|cannot|unable\s+to)\s+log\s*in\b", re.IGNORECASE), _BROKEN),
    (re.compile(r"\bcharged\s+(?:me\s+)?twice\b|\bdouble[- ]charged\b", re.IGNORECASE), "overcharged"),
    (re.compile(r"\bdata\s+(?:breach|leak)\b", re.IGNORECASE), "breach"),
]  # fmt: skip


# Each phrase holds one of its clue words (in any case), so a phrase is only looked for in a text that
# holds one of its clues: most posts hold none and are left as they are without seven regex scans. No
# replacement word brings in another phrase's clue ("overcharged" holds only its own phrase's).
_CLUES: list[tuple[str, ...]] = [("fix",), ("down",), ("down",), ("work", "load", "start"), ("log",), ("charged",),
                                 ("data",)]  # fmt: skip
_ANY_CLUE = tuple(dict.fromkeys(clue for clues in _CLUES for clue in clues))
# On ASCII text IGNORECASE is plain lowercasing, one character for one: the phrases are found in the
# lowercased text by case-sensitive twins of their patterns (IGNORECASE costs some patterns 3x) and
# replaced at the same places in the text. On other text IGNORECASE also matches "ſ" to "s", "ı" and
# "İ" to "i", "K" (Kelvin) to "k", which neither lowercasing nor a clue test sees: every phrase is run.
# (The patterns are written in lowercase for that: tested.)
_LOWERCASE_TWINS = [re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE) for pattern, _ in PHRASES]


def rewrite(text: str) -> str:
    """The text with trouble phrases turned into words the lexicon scores."""
    if not text.isascii():
        for pattern, word in PHRASES:
            text = pattern.sub(word, text)
        return text
    lowered = text.lower()
    for clue in _ANY_CLUE:
        if clue in lowered:
            break
    else:
        return text
    for (_, word), clues, twin in zip(PHRASES, _CLUES, _LOWERCASE_TWINS, strict=True):
        for clue in clues:
            if clue in lowered:
                pieces: list[str] = []
                end = 0
                for match in twin.finditer(lowered):
                    pieces += (text[end : match.start()], word)
                    end = match.end()
                if pieces:
                    text = "".join([*pieces, text[end:]])
                    lowered = text.lower()
                break
    return text


def rewritten(text: str) -> list[tuple[str, str]]:
    """The phrases rewrite(text) turns into words, as (the phrase as written, its word), in the order it
    does (each pattern in turn over the text the previous ones left: rewrite's own way for any text)."""
    found: list[tuple[str, str]] = []
    if rewrite(text) == text:  # most posts: no phrase (rewrite looks for their clues first)
        return found
    for pattern, word in PHRASES:
        found += [(match.group(0), word) for match in pattern.finditer(text)]
        text = pattern.sub(word, text)
    return found
