"""What an incident is about: the words and two-word phrases most over-represented in its posts against
the brand's usual ones.

Each distinct post counts once (near-identical copies are one post: twenty copies of "Third outage this
month, seriously considering leaving" are one voice, and their words say nothing about the others). A
term's score is the z-score of its log-odds ratio between the incident's posts and the baseline's, with
an informative Dirichlet prior from both together (Monroe, Colaresi and Quinn, "Fightin' Words", 2008):
a word seen in two of eight incident posts and never before outranks one seen in all of them that is
just as common every day, and rare words are not trusted on one sighting.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from monitor.mention import ScoredMention

_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"[@#]\w+")
_CLAUSE = re.compile(r"[.,;:!?()\[\]\n\"“”]+|\s[-–—]\s")
_TOKEN = re.compile(r"[a-z][a-z0-9'’\-]*[a-z0-9]|\d{3,}")  # words, and numbers like 502 (not #12)
_PIECE = re.compile(f"({_CLAUSE.pattern})|({_TOKEN.pattern})")  # a clause break, or a word
# Function words, and the filler of social posts (intensifiers, "anyone else", "again"): they are in
# every kind of post and never say what one is about.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any anybody anyone anything are aren't around
    as at be because been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't each else even ever every everybody everyone everything few for
    from further get gets getting got gonna had hadn't has hasn't have haven't having he her here hers him
    his how i i'd i'll i'm i've if in into is isn't it it's its itself just let's like lol lmao me more most
    much my myself no nor not nothing now of off on once one only or other ought our ours out over own
    people pretty really right said same say says see seems seriously she should shouldn't so some someone
    something still stuff such than that that's the their theirs them then there there's these they they're
    thing things this those though through to too totally under until up upon us very via was wasn't way we
    we're we've well were weren't what what's when where which while who whole why will with won't would
    wouldn't yet you you're your yours yourself actually basically honestly literally definitely absolutely
    omg btw imo tbh yeah yes ok okay guys anyway today tonight yesterday amp http https www com""".split()
)
PRIOR = 50.0  # pseudo-posts of prior (from both sides pooled): how much one sighting can move a term
MIN_Z = 1.0  # below this, a term is as likely chance as news


def tokens(text: str) -> list[str]:
    """Lowercased words of a post (URLs, @handles and #tags dropped), stopwords included, in order."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.lower()))
    return [t.strip("'’-") for t in _TOKEN.findall(text)]


def terms_of(text: str, skip: AbstractSet[str]) -> set[str]:
    """The words and two-word phrases of a post that can describe it (a phrase: two such words next to
    each other, not across punctuation)."""
    found: set[str] = set()
    # URLs and handles go from the whole text first; the rest is read in one pass, lowercased, as clause
    # breaks and words (no character lowercases to a word character unless it is one, or to a break; a
    # word starts with a letter and ends with a letter or digit, so it never holds a break, and
    # tokens()'s strip of quotes and dashes leaves it as it is).
    before = ""  # the word before, while it can start a phrase
    for brk, word in _PIECE.findall(_HANDLE.sub(" ", _URL.sub(" ", text)).lower()):
        if brk or word in STOPWORDS or word in skip or len(word) < 3:
            before = ""
            continue
        found.add(word)
        if before:
            found.add(f"{before} {word}")
        before = word
    return found


class EarlierPost(NamedTuple):
    """One of a brand's earlier posts as an alert's baseline counts it: its label and its terms (each once)."""

    label: str | None
    terms: tuple[str, ...]


def skip_words(ignore: Iterable[str]) -> frozenset[str]:
    """The words of these phrases (a brand's name, queries, accounts): never what an incident is about."""
    return frozenset(w for phrase in ignore for w in tokens(phrase))


@functools.lru_cache(maxsize=4096)
def post_terms(text: str, skip: frozenset[str]) -> frozenset[str]:
    """terms_of, kept for the posts seen last (an incident's updates show mostly the same posts)."""
    return frozenset(terms_of(text, skip))


def _posts(mentions: Iterable[ScoredMention], skip: frozenset[str]) -> list[frozenset[str]]:
    """Each distinct post's terms once (near-identical posts, with the same words, are one)."""
    seen: set[frozenset[str]] = set()
    posts = []
    for scored in mentions:
        terms = post_terms(scored.mention.full_text, skip)
        if terms not in seen:
            seen.add(terms)
            posts.append(terms)
    return posts


class TermCounts:
    """Posts counted: how many, and in how many each term is (a post's terms are distinct)."""

    __slots__ = ("posts", "terms")

    def __init__(self) -> None:
        self.posts = 0
        self.terms: Counter[str] = Counter()

    @classmethod
    def of(cls, posts: Iterable[Iterable[str]]) -> TermCounts:
        counts = cls()
        for terms in posts:
            counts.add(terms)
        return counts

    def add(self, terms: Iterable[str]) -> None:
        self.posts += 1
        self.terms.update(terms)

    def remove(self, terms: Iterable[str]) -> None:
        self.posts -= 1
        counted = self.terms
        for term in terms:
            left = counted[term] - 1
            if left:
                counted[term] = left
            else:
                del counted[term]


class UsualCounts:
    """Earlier posts (EarlierPost) counted, all of them and those of each label, as over_represented reads
    them; added and removed one by one as the span they are counted over moves (engine/earlier.py)."""

    __slots__ = ("all", "labels")

    def __init__(self) -> None:
        self.all = TermCounts()
        self.labels: dict[str | None, TermCounts] = {}

    @classmethod
    def of(cls, posts: Iterable[EarlierPost]) -> UsualCounts:
        counts = cls()
        for post in posts:
            counts.add(post)
        return counts

    def add(self, post: EarlierPost) -> None:
        self.all.add(post.terms)
        counts = self.labels.get(post.label)
        if counts is None:
            counts = self.labels[post.label] = TermCounts()
        counts.add(post.terms)

    def remove(self, post: EarlierPost) -> None:
        self.all.remove(post.terms)
        self.labels[post.label].remove(post.terms)


SAME_SENTIMENT_MIN = 50  # earlier posts of a rule's sentiment it takes to compare its posts with them alone


def usual_for(sentiment: str, parts: Sequence[UsualCounts]) -> list[TermCounts]:
    """What a rule's posts are compared with (parts: one baseline's counts, in parts to add up): the
    brand's earlier posts of the rule's sentiment where there are enough of them (what sets this hour's
    complaints apart from the usual complaints), else all of them."""
    if sentiment != "any":
        same = [part.labels[sentiment] for part in parts if sentiment in part.labels]
        if sum(counts.posts for counts in same) >= SAME_SENTIMENT_MIN:
            return same
    return [part.all for part in parts]


def over_represented(
    incident: Sequence[ScoredMention], usual: Sequence[TermCounts], skip: frozenset[str], limit: int = 5
) -> list[str]:
    """The terms most over-represented in the incident's posts against the usual posts (each earlier post
    counted, repeats and all: the baseline is the usual mix post by post; in parts to add up), best
    first; skip is skip_words of what is never a term."""
    posts = _posts(incident, skip)
    n_i, n_j = len(posts), sum(counts.posts for counts in usual)
    if not n_i:
        return []
    in_incident: Counter[str] = Counter(t for post in posts for t in post)
    least = 2 if n_i >= 4 else 1  # in a few posts, a term of one of them can say what they are about
    # Only the incident's terms seen often enough are scored.
    wanted = [term for term, y_i in in_incident.items() if y_i >= least]
    in_usual = {term: sum(counts.terms.get(term, 0) for counts in usual) for term in wanted}
    scored = []
    for term in wanted:
        y_i = in_incident[term]
        y_j = in_usual.get(term, 0)
        share = (y_i + y_j + 0.5) / (n_i + n_j + 1)  # the pooled rate, the prior's centre
        a, b = PRIOR * share, PRIOR * (1 - share)
        delta = math.log((y_i + a) / (n_i - y_i + b)) - math.log((y_j + a) / (n_j - y_j + b))
        variance = 1 / (y_i + a) + 1 / (n_i - y_i + b) + 1 / (y_j + a) + 1 / (n_j - y_j + b)
        z = delta / math.sqrt(variance)
        if z >= MIN_Z:
            scored.append((z, y_i, term))
    # Best first; on a tie a phrase before its words (it says more), then by name for a stable order.
    scored.sort(key=lambda t: (-round(t[0], 9), -t[1], -t[2].count(" "), t[2]))
    chosen: list[str] = []
    for _, _, term in scored:
        if len(chosen) == limit:
            break
        # A phrase and its own words say the same: keep whichever ranked first.
        if any(term in other.split() or other in term.split() for other in chosen):
            continue
        chosen.append(term)
    return chosen
