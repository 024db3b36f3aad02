"""One voice counts once: the compact Repeats answers as the plain one it replaced (deques of frozensets)."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.repeats import MIN_SIMILARITY, REPEAT_WINDOW, Repeats, words


class Plain:
    """The first Repeats, kept here as the reference."""

    def __init__(self) -> None:
        self.recent: dict[tuple[str, str], deque[tuple[float, frozenset[str]]]] = {}

    def repeat(self, brand: str, author: str, text: str, ts: float) -> bool:
        if not author:
            return False
        key, current = (brand, author.lower()), words(text)
        posts = self.recent.get(key)
        if posts is None:
            self.recent[key] = deque([(ts, current)], maxlen=20)
            return False
        for when, earlier in posts:
            same = current == earlier if not current or not earlier else None
            if same is None:
                same = len(current & earlier) >= MIN_SIMILARITY * len(current | earlier)
            if abs(ts - when) <= REPEAT_WINDOW and same:
                return True
        posts.append((ts, current))
        return False

    def prune(self, before: float) -> None:
        for key in [k for k, posts in self.recent.items() if posts[-1][0] < before - REPEAT_WINDOW]:
            del self.recent[key]


post = st.tuples(
    st.sampled_from(["acme", "globex"]),
    st.sampled_from(["", "ann", "Ann", "bob", "cy"]),
    st.lists(st.sampled_from(["down", "again", "outage", "acme", "is", "the", "ok", "42", "😡"]), max_size=6),
    st.floats(0, 3 * REPEAT_WINDOW),
    st.booleans(),  # prune before this post
)


@settings(max_examples=300, deadline=None)
@given(st.lists(post, max_size=60))
def test_compact_repeats_answer_as_the_plain_ones(posts: list[tuple[str, str, list[str], float, bool]]) -> None:
    compact, plain = Repeats(), Plain()
    for brand, author, text, ts, prune in posts:
        if prune:
            compact.prune(ts)
            plain.prune(ts)
        line = " ".join(text)
        assert compact.repeat(brand, author, line, ts) == plain.repeat(brand, author, line, ts)


def test_an_author_keeps_twenty_posts() -> None:
    repeats = Repeats()
    texts = [f"{'ab' * (i + 1)} {'cd' * (i + 1)}" for i in range(25)]  # no two alike
    assert not any(repeats.repeat("acme", "ann", text, float(i)) for i, text in enumerate(texts))
    assert len(repeats.recent[("acme", "ann")]) == 20
    assert repeats.repeat("acme", "ann", texts[24], 30.0)
    assert not repeats.repeat("acme", "ann", texts[4], 31.0)  # the first five are forgotten
