"""Whole-word, case-insensitive term matching, a brand's handles and hashtags as whole tokens, and the
local check of a brand's search query."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterable


def terms_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of the terms as whole words or phrases (None for no terms).

    The plain form, one alternative per term: the reference that trie_pattern must equal."""
    parts = []
    for term in terms:
        words = term.strip().strip("\"'").split()
        if words:
            parts.append(r"\s+".join(re.escape(w) for w in words))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


_SPACE = ""  # the trie's key for the run of whitespace between a phrase's words
_END = None  # the trie's key marking that a term ends here
Trie = dict[str | None, "Trie"]


def trie_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """terms_pattern's regex, factored as a trie: it matches the same texts at the same places.

    With one alternative per term the regex tries every term at every word start, which made a rule of
    20,000 terms cost milliseconds a mention; the trie tries only the few branches that share what has
    been read so far (one per distinct first character, then fewer), whatever the number of terms.
    """
    root: Trie = {}
    for term in terms:
        words = term.strip().strip("\"'").split()
        if not words:
            continue
        node = root
        for i, word in enumerate(words):
            for key in ((_SPACE,) if i else ()) + tuple(word):
                node = node.setdefault(key, {})
        node[_END] = {}
    if not root:
        return None
    return re.compile(r"(?<!\w)" + _branches(root) + r"(?!\w)", re.IGNORECASE)


def _branches(node: Trie) -> str:
    """The regex of one trie node: an alternative per next key, an empty one (last) where a term may end."""
    parts = [
        (r"\s+" if key == _SPACE else re.escape(key)) + _branches(child)
        for key, child in node.items()
        if key is not _END
    ]
    ending = _END in node
    if not parts:
        return ""
    if len(parts) == 1 and not ending:
        return parts[0]
    return "(?:" + "|".join(parts) + ("|" if ending else "") + ")"


def _needles(terms: Iterable[str]) -> tuple[frozenset[str], frozenset[str]] | None:
    """The longest run of word characters of each term, lowercased, when every term is ASCII and has
    one (else None); and of them, those that are their whole term ("outage", not "can't log in").

    On ASCII text IGNORECASE is plain lowercasing, and a term's run of word characters can only match a
    whole run of word characters of the text: the term's pattern has no word character before or after
    it, and whitespace or the term's own other characters around each run ("can't log in": "can", "t",
    "log", "in"). So a term can only occur where the lowercased text has its needle as one of its words,
    and search skips the regex when no word of the text is a needle, as in most posts, with one set
    look-up per word of the text, however many terms there are; where one is a whole term, the term is
    there. Other terms or non-ASCII texts always take the regex: IGNORECASE matches "ſ" to "s" and "K"
    (Kelvin) to "k", which lowercasing does not.
    """
    needles, whole = set(), set()
    for term in terms:
        words = term.strip().strip("\"'").split()
        if not words:
            continue
        runs = _WORD.findall(" ".join(words).lower())
        if not term.isascii() or not runs:
            return None
        needles.add(max(runs, key=len))
        if len(words) == 1 and runs == [words[0].lower()]:
            whole.add(runs[0])
    return frozenset(needles), frozenset(whole)


_WORD = re.compile(r"\w+", re.ASCII)


@functools.lru_cache(maxsize=256)
def _words(text: str) -> frozenset[str]:
    """The lowercased ASCII words of a text, kept for the last texts: each mention is matched against
    every brand's query and every rule's terms in turn, and split into words once."""
    return frozenset(_WORD.findall(text.lower()))


class TermSet:
    """Matches text containing any of a set of words or phrases (whole words, any case)."""

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(terms)
        self._pattern = trie_pattern(self.terms)
        self._needles = _needles(self.terms)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def search(self, text: str) -> bool:
        """Whether any term occurs in text."""
        if self._pattern is None:
            return False
        if self._needles is not None and text.isascii():
            needles, whole = self._needles
            words = _words(text)
            if needles.isdisjoint(words):
                return False
            if not whole.isdisjoint(words):
                return True
        return self._pattern.search(text) is not None

    def found(self, text: str) -> list[str]:
        """The distinct terms found in text, lowercased, in order of appearance."""
        if self._pattern is None:
            return []
        seen: dict[str, None] = {}
        for match in self._pattern.finditer(text):
            seen[" ".join(match.group(0).lower().split())] = None
        return list(seen)


class TermSets:
    """Several TermSets read together: which of them a text has. An ASCII text is split into words once,
    and only the sets with one of its words as a needle (TermSet's) and those without needles run their
    patterns; any other text runs them all, as TermSet.search would."""

    def __init__(self, sets: Iterable[TermSet]) -> None:
        self.sets = tuple(sets)
        by_needle: dict[str, list[int]] = {}
        self._always = [i for i, terms in enumerate(self.sets) if terms and terms._needles is None]
        for i, terms in enumerate(self.sets):
            for needle in terms._needles[0] if terms._needles else ():
                by_needle.setdefault(needle, []).append(i)
        self._by_needle = by_needle
        self._any_needle = frozenset(by_needle)

    def found(self, text: str) -> list[int]:
        """The positions of the sets that have a term in text, in order."""
        if not text.isascii():
            return [i for i, terms in enumerate(self.sets) if terms.search(text)]
        candidates = set(self._always)
        for word in _words(text) & self._any_needle:
            candidates.update(self._by_needle[word])
        return [i for i in sorted(candidates) if self.sets[i].search(text)]


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
