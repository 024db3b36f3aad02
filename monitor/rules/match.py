"""Deciding whether a stored mention counts toward a rule."""

from __future__ import annotations

from monitor.mention import Mention, ScoredMention
from monitor.rules.model import InfluencerDetect, KeywordDetect, Rule
from monitor.sentiment import guess_language
from monitor.textmatch import TermSet


def _language(mention: Mention) -> str | None:
    """The mention's declared language (primary subtag), else a guess from its text."""
    if mention.lang:
        return mention.lang.split("-")[0].lower()
    return guess_language(mention.full_text)


class RuleMatcher:
    """A rule's [match] table and platforms, compiled once."""

    def __init__(self, rule: Rule) -> None:
        spec = rule.match
        self.platforms = None if "*" in rule.platforms else frozenset(rule.platforms)
        self.sentiment = spec.sentiment
        self.any_terms = TermSet(spec.any_terms)
        self.all_terms = [TermSet([t]) for t in spec.all_terms]
        self.none_terms = TermSet(spec.none_terms)
        self.min_followers = spec.min_author_followers
        self.compound = spec.compound
        self.languages = frozenset(spec.languages)
        if isinstance(rule.detect, InfluencerDetect):
            self.min_followers = max(self.min_followers, rule.detect.min_followers)
        # A keyword rule's crisis terms narrow what counts, on top of [match].
        self.keywords = TermSet(rule.detect.terms) if isinstance(rule.detect, KeywordDetect) else None
        self.has_terms = bool(self.any_terms or self.all_terms or self.none_terms or self.keywords)

    def __call__(self, scored: ScoredMention) -> bool:
        """Whether the mention counts toward the rule."""
        mention = scored.mention
        if self.platforms is not None and mention.platform not in self.platforms:
            return False
        if self.sentiment != "any" and scored.label != self.sentiment:
            return False
        if self.min_followers and (mention.author_followers or 0) < self.min_followers:
            return False
        if self.compound is not None and (
            scored.compound is None or not self.compound[0] <= scored.compound <= self.compound[1]
        ):
            return False
        if self.languages and _language(mention) not in self.languages:
            return False
        return not self.has_terms or self.terms_match(mention.full_text)

    def terms_match(self, text: str) -> bool:
        """Whether a mention's full text passes the rule's terms (all of the rule when it has none)."""
        if self.keywords is not None and not self.keywords.search(text):
            return False
        if self.any_terms and not self.any_terms.search(text):
            return False
        if not all(term.search(text) for term in self.all_terms):
            return False
        return not self.none_terms.search(text)
