"""Benchmark (not a test): matching a mention against a rule of 20,000 terms, the trie-factored regex
TermSet uses against the plain one (one alternative per term, what it used before) on the same texts.

    python bench/terms.py
"""

from __future__ import annotations

import random
import string
import time

from monitor.textmatch import TermSet, terms_pattern

TERMS = 20_000
TEXTS = 300


def per_mention(search, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Milliseconds a text, best of three runs."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            search(text)
        best = min(best, (time.perf_counter() - start) / len(texts) * 1000)
    return best


def main() -> None:
    rng = random.Random(16)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10))) for _ in range(TERMS)]
    terms = [w if rng.random() < 0.8 else f"{w} {rng.choice(words)}" for w in words]
    common = ["the", "is", "down", "acme", "cloud", "outage", "billing", "again", "today", "Café", "naïve"]
    texts = [" ".join(rng.choices(common, k=40)) for _ in range(TEXTS)]  # most posts hold no term
    texts += [" ".join(rng.choices(common + words[:50], k=40)) for _ in range(TEXTS // 10)]
    plain = terms_pattern(terms)
    assert plain is not None
    trie = TermSet(terms)
    assert all((plain.search(t) is not None) == trie.search(t) for t in texts)
    before, after = per_mention(plain.search, texts), per_mention(trie.search, texts)
    print(
        f"{TERMS:,}-term rule, {len(texts)} texts (some not ASCII): plain regex {before:.3f} ms a mention,"
        f" trie {after:.4f} ms ({before / after:.0f}x)"
    )


if __name__ == "__main__":
    main()
