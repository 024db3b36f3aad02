"""Whole-word, case-insensitive term matching, a brand's handles and hashtags as whole tokens, and the
local check of a brand's search query."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable


def terms_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of the terms as whole words or phrases (None for no terms)."""
    parts = []
    for term in terms:
        words = term.strip().strip("\"'").split()
        if words:
            parts.append(r"\s+".join(re.escape(w) for w in words))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def _needles(terms: Iterable[str]) -> tuple[str, ...] | None:
    """The longest word of each term, lowercased, when every term is ASCII (else None).

    On ASCII text IGNORECASE is plain lowercasing, so a term can only occur where the lowercased text
    holds each of its words: search skips the regex (its look-arounds are tried at every position) when
    no term's needle is in the lowercased text, as in most posts. Non-ASCII terms or texts always take
    the regex: IGNORECASE matches "ſ" to "s" and "K" (Kelvin) to "k", which lowercasing does not.
    """
    needles = []
    for term in terms:
        words = term.strip().strip("\"'").split()
        if not words:
            continue
        if not all(w.isascii() for w in words):
            return None
        needles.append(max(words, key=len).lower())
    return tuple(dict.fromkeys(needles))


class TermSet:
    """Matches text containing any of a set of words or phrases (whole words, any case)."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(terms)
        self._pattern = terms_pattern(self.terms)
        self._needles = _needles(self.terms)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def search(self, text: str) -> bool:
        """Whether any term occurs in text."""
        if self._pattern is None:
            return False
        if self._needles is not None and text.isascii():
            lowered = text.lower()
            for needle in self._needles:
                if needle in lowered:
                    break
            else:
                return False
        return self._pattern.search(text) is not None

    def found(self, text: str) -> list[str]:
        """The distinct terms found in text, lowercased, in order of appearance."""
        if self._pattern is None:
            return []
        seen: dict[str, None] = {}
        for match in self._pattern.finditer(text):
            seen[" ".join(match.group(0).lower().split())] = None
        return list(seen)


# A handle: @ then letters, digits and _, parts joined by . or - (Bluesky's are domains), optionally
# @server (a fediverse address). A hashtag: # then letters, digits and _ (not digits alone).
HANDLE = re.compile(r"@\w+(?:[.\-]\w+)*(?:@\w+(?:[.\-]\w+)+)?")
HASHTAG = re.compile(r"#(?!\d+$)\w+")


class TagSet:
    """Matches text that tags one of a brand's handles (@AcmeCloud) or hashtags (#AcmeCloud): whole
    tokens, any case. A token is the whole handle: @AcmeCloudHelp does not match @AcmeCloudHelpers,
    @AcmeCloudHelp.bsky.social, @AcmeCloudHelp@mastodon.social or an address like help@AcmeCloudHelp;
    #AcmeCloud does not match #AcmeCloud2026 (it does match #AcmeCloud's and the end of a sentence).
    """

    def __init__(self, handles: Iterable[str] = (), hashtags: Iterable[str] = ()) -> None:
        self.tags = tuple(dict.fromkeys(t.strip() for t in (*handles, *hashtags) if t.strip()))
        # As TermSet's needles: only when every tag is ASCII (IGNORECASE reads "ſ" as "s", lowercasing does not).
        self._needles = tuple({t.lower() for t in self.tags}) if all(t.isascii() for t in self.tags) else None
        parts = []
        for tag in self.tags:
            # After a handle, a . or - followed by more of a name continues it; after a hashtag nothing does.
            end = r"(?![\w@]|[.\-]\w)" if tag.startswith("@") else r"(?!\w)"
            parts.append(re.escape(tag) + end)
        self._pattern = re.compile(r"(?<![\w@#])(?:" + "|".join(parts) + ")", re.IGNORECASE) if parts else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def search(self, text: str) -> bool:
        """Whether the text tags one of the handles or hashtags."""
        if self._pattern is None:
            return False
        if self._needles is not None and text.isascii():  # skip the regex where no tag can be (most posts)
            lowered = text.lower()
            if not any(needle in lowered for needle in self._needles):
                return False
        return self._pattern.search(text) is not None


class Query:
    """The local reading of a platform search query, so fuzzy platform search can be checked.

    Words and "quoted phrases" must all appear; `OR` between groups means either; `-word` excludes.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.groups: list[tuple[list[TermSet], TermSet]] = []
        try:
            tokens = shlex.split(text, posix=True)
        except ValueError:  # unbalanced quote: read it word by word
            tokens = text.replace('"', " ").split()
        group: list[str] = []
        for token in [*tokens, "OR"]:
            if token == "OR":
                if group:
                    required = [TermSet([t]) for t in group if not t.startswith("-") or len(t) == 1]
                    excluded = TermSet(t[1:] for t in group if t.startswith("-") and len(t) > 1)
                    self.groups.append((required, excluded))
                group = []
            else:
                group.append(token)

    def matches(self, text: str) -> bool:
        """Whether the text satisfies the query."""
        for required, excluded in self.groups:  # loops, not any(all(...)): this runs for every mention
            for term in required:
                if not term.search(text):
                    break
            else:
                if not excluded.search(text):
                    return True
        return False
