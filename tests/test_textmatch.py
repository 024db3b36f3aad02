"""Term matching: TermSet skips its regex only where the regex could not match (ASCII text without the
terms' words); Query reads words, phrases, OR and -exclusions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.textmatch import Query, TermSet, terms_pattern

# Words, the characters IGNORECASE matches to ASCII letters ("ſ" s, "K" Kelvin k, "İ" and "ı" i), others.
_PIECES = ["acme", "Acme", "ACME", "cloud", "down", "start", "kit", "c++", "data", "leak", "out", "age", "outage",
           "ſ", "K", "İ", "ı", "é", "-", "'", '"', "_", "1", " ", "  ", "\n", "\t", ",", ".", "!"]  # fmt: skip
_TERMS = ["acme", "Acme Cloud", '"data leak"', "c++", "outage", "ſtart", "kit", "\u212ait", "  ", "fix", "İs", "dOwN"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_TERMS), max_size=4),
    st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
)
def test_term_search_is_the_regex(terms: list[str], text: str) -> None:
    pattern = terms_pattern(terms)
    assert TermSet(terms).search(text) == (pattern is not None and pattern.search(text) is not None)


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
