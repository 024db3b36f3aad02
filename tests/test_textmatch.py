"""Term matching: TermSet skips its regex only where the regex could not match (ASCII text without the
terms' words); Query reads words, phrases, OR and -exclusions."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.textmatch import Query, TermSet, TermSets, terms_pattern, trie_pattern

# Words, the characters IGNORECASE matches to ASCII letters ("ſ" s, "K" Kelvin k, "İ" and "ı" i), others.
_PIECES = ["acme", "Acme", "ACME", "cloud", "down", "start", "kit", "c++", "data", "leak", "out", "age", "outage",
           "ſ", "K", "İ", "ı", "é", "-", "'", '"', "_", "1", " ", "  ", "\n", "\t", ",", ".", "!", "+",
           "can't", "CAN", "t", "log", "in", "e", "mail", "fix"]  # fmt: skip
_TERMS = ["acme", "Acme Cloud", '"data leak"', "c++", "outage", "ſtart", "kit", "\u212ait", "  ", "fix", "İs", "dOwN",
          "can't log in", "e-mail", "+1", "!!", "'", "log-in", "fix !"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_TERMS), max_size=4),
    st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
)
@example(["fix !", "can't log in"], "a fix, can log in")  # a term's needle alone is not the term
def test_term_search_is_the_regex(terms: list[str], text: str) -> None:
    pattern = terms_pattern(terms)
    assert TermSet(terms).search(text) == (pattern is not None and pattern.search(text) is not None)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from([*_TERMS, "start"]), max_size=3), max_size=5),
    st.lists(st.sampled_from([*_PIECES, "tart", "it"]), max_size=14).map("".join),  # and "ſtart", "Kit"
)
@example([["start"], ["kit", "outage"], []], "the ſtart, Kit")  # an ASCII term in text that is not ASCII
def test_term_sets_find_the_sets_each_would_find(sets: list[list[str]], text: str) -> None:
    # Several sets sharing needles, sets of terms that are not ASCII (no needles), empty sets.
    term_sets = [TermSet(terms) for terms in sets]
    assert TermSets(term_sets).found(text) == [i for i, terms in enumerate(term_sets) if terms.search(text)]


def test_term_search_reads_any_case_and_whole_words() -> None:
    terms = TermSet(["Acme Cloud", "outage", "start"])
    assert terms.search("ACME   cloud is down") and terms.search("an OUTAGE.") and terms.search("the ſtart")
    assert not terms.search("acmecloud outages") and not terms.search("restart")
    assert TermSet(["kit"]).search("a \u212aIT") and not TermSet(["  "]) and not TermSet(["  "]).search("  ")
    # A term that is not ASCII matches ASCII text the regex's way: "ſ" is an "s", "K" (Kelvin) a "k".
    assert TermSet(["ſtart"]).search("a START") and TermSet(["\u212ait", "x"]).search("kit")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_query_matches_as_any_group_of_all_words_without_exclusions(text: str) -> None:
    query = Query('acme "acme cloud" -outage OR data -leak OR c++')
    expected = any(
        all(term.search(text) for term in required) and not excluded.search(text) for required, excluded in query.groups
    )
    assert query.matches(text) == expected


_WORDS = ["a", "ac", "acme", "acmes", "cloud", "clo", "c++", "out", "outage", "ſtart", "\u212ait", "kit", "İs"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join), max_size=8),
    st.lists(st.sampled_from(_PIECES + _WORDS), max_size=14).map("".join),
)
def test_the_trie_matches_at_the_same_places_as_one_alternative_per_term(terms: list[str], text: str) -> None:
    # Terms that share beginnings ("ac", "acme", "acme cloud"), phrases and the characters IGNORECASE
    # treats specially: the factored regex accepts exactly where the plain one does.
    plain, trie = terms_pattern(terms), trie_pattern(terms)
    assert (plain is None) == (trie is None)
    if plain is not None and trie is not None:
        for start in range(len(text) + 1):
            assert (plain.match(text, start) is None) == (trie.match(text, start) is None), (start, terms, text)


def test_twenty_thousand_terms_are_one_trie() -> None:
    terms = [f"term{i:05d}" for i in range(20_000)] + ["acme cloud outage"]
    found = TermSet(terms)
    assert found.search("the ACME   cloud outage today") and found.search("see TERM19999.")
    assert not found.search("term20000 and term1 and acme cloud")
    pattern = trie_pattern(terms)
    assert pattern is not None and pattern.pattern.startswith(r"(?<!\w)(?:t")  # factored: "term" written once
    assert pattern.pattern.count("term") == 1
